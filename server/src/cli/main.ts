/**
 * The `iptables-lsp` command line. `check` reports diagnostics like a compiler; `lsp` runs the
 * language server over stdio. Exit codes: 0 no error-severity diagnostic, 1 at least one, 2 usage
 * or I/O problem. Only `fmt --write` writes to a file the CLI reads (see fmt.ts).
 */
import { readFileSync, statSync, readdirSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { check, DIAGNOSTIC_CODES, type Diagnostic, type Family, type SeverityOverrides } from '../core/index.ts';
import { formatSarif, TextReporter, type FileReport } from './format.ts';
import { kindProblem, readInput, statProblem } from './read-input.ts';
import { GEN_USAGE, GenUsageError, runGen } from './gen.ts';
import { runTrace, TraceUsageError } from './trace.ts';
import { FMT_USAGE, FmtUsageError, runFmt } from './fmt.ts';

const USAGE = `usage: iptables-lsp <command> [options]

commands:
  check [--format text|json|sarif] [--ipv4|--ipv6] [--severity CODE=LEVEL]... [--no-analysis] [--analysis-effort N] FILE|DIR|-...
      Check iptables-save / iptables-restore files (- reads standard input, e.g. iptables-save | iptables-lsp check -).
      Directories are searched for files named like rules files (*.rules, rules.v4, iptables-save*, …).
      --analysis-effort multiplies the rule-set analysis's limits (default 1) when it says one was reached.
      Exit 0: no errors; 1: errors found; 2: usage or I/O error.
  trace FILE (--hook HOOK | --path input|forward|output) (--packet "…" | --packets FILE|-) [--format text|json] [--ipv4|--ipv6]
      Follow a packet through the rules, e.g. --packet "proto=tcp src=10.0.0.5 dst=10.0.0.9 dport=22 in=eth0 state=NEW".
      Fields left out are "any"; rules that depend on them split the trace into outcomes.
      --packets reads one packet per line and prints one JSON object per line.
  lsp --stdio
      Run the language server on stdin/stdout (for Neovim, Emacs, Helix, …).
${GEN_USAGE}${FMT_USAGE}  codes
      List the diagnostic codes with their default severities.
  help
      Show this text.
`;

class UsageError extends Error {}

/** Entry point; returns the exit code instead of exiting so that tests can call it. */
export async function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s), errOut: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'check':
        return runCheck(rest, out, errOut);
      case 'trace':
        return runTrace(rest, out, errOut);
      case 'lsp': {
        const { startServer } = await import('../lsp/server.ts');
        startServer();
        return await new Promise<number>(() => undefined);
      }
      case 'gen':
        return runGen(rest, out, errOut);
      case 'fmt':
        return runFmt(rest, out, errOut);
      case 'codes':
        for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) out(`${code.padEnd(28)} ${info.severity.padEnd(12)} ${info.description}\n`);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return 0;
      case undefined:
        errOut(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof TraceUsageError || e instanceof GenUsageError || e instanceof FmtUsageError) {
      errOut(`iptables-lsp: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    errOut(`iptables-lsp: ${(e as Error).message}\n`);
    return 2;
  }
}

/**
 * Collects the files to check: files as given (`-` is standard input), directories searched
 * recursively for files named like rules files. A directory reached again through a symbolic link
 * is not searched twice (a link to a parent would otherwise loop), and an entry found while
 * searching that cannot be read (a dangling link) is skipped with a note on `note`. What cannot be
 * read as a file (a device such as /dev/zero, a socket) is refused: reading it would never end.
 */
function collectFiles(paths: readonly string[], note: (s: string) => void): string[] {
  const files: string[] = [];
  const seenDirectories = new Set<string>();
  const walk = (p: string, explicit: boolean): void => {
    let st: Stats;
    try {
      st = statSync(p);
    } catch (e) {
      if (explicit) throw new Error(`cannot read '${p}': ${statProblem(e)}`);
      note(`iptables-lsp: skipped '${p}': ${statProblem(e)}\n`);
      return;
    }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seenDirectories.has(id)) return;
      seenDirectories.add(id);
      for (const name of readdirSync(p).sort()) {
        if (name.startsWith('.') || name === 'node_modules') continue;
        walk(join(p, name), false);
      }
      return;
    }
    if (!explicit && !looksLikeRulesFile(p)) return;
    const why = kindProblem(st, explicit);
    if (why && explicit) throw new Error(`cannot read '${p}': ${why}`);
    if (why) note(`iptables-lsp: skipped '${p}': ${why}\n`);
    else files.push(p);
  };
  for (const p of paths) {
    if (p === '-') files.push(p);
    else walk(p, true);
  }
  return files;
}

/** File names the extension treats as iptables files, used when searching directories. */
export function looksLikeRulesFile(path: string): boolean {
  const base = path.split(/[\\/]/).pop() ?? '';
  return /\.(rules|iptables)$/.test(base) || /^rules\.v[46]$/.test(base) || /^ip6?tables-save/.test(base) || /\.(v4|v6)$/.test(base);
}

function runCheck(args: readonly string[], out: (s: string) => void, errOut: (s: string) => void): number {
  let format = 'text';
  let family: Family | undefined;
  const severities: Record<string, SeverityOverrides[string]> = {};
  // The rule-set analysis (unreachable, shadowed, redundant rules …) is on unless --no-analysis.
  let analyses = true;
  let effort = 1;
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--format' || a.startsWith('--format=')) {
      format = a.includes('=') ? a.slice(9) : args[++i];
      if (!['text', 'json', 'sarif'].includes(format ?? '')) throw new UsageError(`--format must be text, json or sarif, not '${format}'`);
    } else if (a === '--no-analysis') analyses = false;
    else if (a === '--analysis-effort' || a.startsWith('--analysis-effort=')) {
      const spec = a.includes('=') ? a.slice(18) : args[++i];
      effort = Number(spec);
      if (!(effort > 0)) throw new UsageError(`--analysis-effort takes a positive number, not '${spec}'`);
    }
    else if (a === '--ipv4' || a === '-4') family = 'ipv4';
    else if (a === '--ipv6' || a === '-6') family = 'ipv6';
    else if (a === '--severity' || a.startsWith('--severity=')) {
      const spec = a.includes('=') ? a.slice(11) : args[++i];
      const m = /^([a-z0-9-]+)=(error|warning|information|hint|off)$/.exec(spec ?? '');
      if (!m) throw new UsageError(`--severity takes CODE=error|warning|information|hint|off, not '${spec}'`);
      if (!DIAGNOSTIC_CODES[m[1]]) throw new UsageError(`unknown diagnostic code '${m[1]}' (see 'iptables-lsp codes')`);
      severities[m[1]] = m[2] as SeverityOverrides[string];
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else paths.push(a);
  }
  if (paths.length === 0) throw new UsageError('check needs at least one FILE or DIR');
  const files = collectFiles(paths, errOut);
  if (files.length === 0) throw new Error(`no iptables files found in ${paths.join(', ')}`);
  // The text format is written file by file (see TextReporter); JSON and SARIF are one document.
  const reports: FileReport[] = [];
  const reporter = format === 'text' ? new TextReporter(out) : undefined;
  let failed = false;
  for (const f of files) {
    const stdin = f === '-';
    let source: string;
    if (stdin) {
      try {
        source = readFileSync(0, 'utf8');
      } catch (e) {
        throw new Error(`cannot read standard input: ${(e as Error).message}`);
      }
    } else source = readInput(f);
    const r = check(source, { family, fileName: stdin ? undefined : f, severities, analyses: analyses && { effort, raiseHint: 'raise it with --analysis-effort N' } });
    const report: FileReport = { path: stdin ? '<stdin>' : relative(process.cwd(), f) || f, text: source, family: r.family, diagnostics: r.diagnostics };
    if (r.diagnostics.some((d: Diagnostic) => d.severity === 'error')) failed = true;
    if (reporter) reporter.add(report);
    else reports.push(report);
  }
  if (format === 'json') out(JSON.stringify(formatJson(reports), null, 2) + '\n');
  else if (format === 'sarif') out(JSON.stringify(formatSarif(reports), null, 2) + '\n');
  else reporter?.end();
  return failed ? 1 : 0;
}

/** The JSON output format documented in the README (1-based lines and columns). */
export function formatJson(reports: readonly FileReport[]): unknown {
  return {
    files: reports.map((r) => ({
      path: r.path,
      family: r.family,
      diagnostics: r.diagnostics.map((d) => ({
        line: d.range.start.line + 1,
        column: d.range.start.character + 1,
        endLine: d.range.end.line + 1,
        endColumn: d.range.end.character + 1,
        severity: d.severity,
        code: d.code,
        message: d.message,
        related: (d.related ?? []).map((x) => ({ path: r.path, line: x.range.start.line + 1, column: x.range.start.character + 1, message: x.message })),
      })),
    })),
  };
}

// Run when executed directly (bundled as dist/cli.cjs or run with tsx), not when imported by tests.
const invokedDirectly = typeof process !== 'undefined' && process.argv[1] !== undefined && /(cli\.c?js|main\.ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  // A reader that stops early (`iptables-lsp check … | head`) closes the pipe: end quietly, as a
  // tool killed by SIGPIPE does, with the exit code for an output error; never an unhandled error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`iptables-lsp: cannot write the output: ${e.message}\n`);
    process.exit(2);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`iptables-lsp: internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 2;
    },
  );
}
