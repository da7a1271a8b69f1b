/**
 * `iptables-lsp gen`: generates what Neutron's agents would program from a `neutron-policy` file,
 * or (with `--diff OLD NEW`) the rule changes between two policies and the conntrack commands
 * that end the flows the new one no longer allows. Exit codes: 0 done; 1 the policy has errors
 * (or cannot produce the part); 2 usage or I/O problem.
 */
import { readInput } from './read-input.ts';
import { readPolicy, type Policy } from '../core/policy/index.ts';
import { generate, GenerateError, type GenFormat, type GenPart, type GenerateOptions } from '../core/neutron/index.ts';
import { diffGenerated, formatDiff } from '../core/neutron/diff.ts';
import type { Diagnostic } from '../core/index.ts';

/** The usage text of `gen`, also shown by `iptables-lsp help`. */
export const GEN_USAGE = `  gen FILE --part sg|l3|fwaas|pbr [--router NAME] [--host HOST] [--ipv6] [--format iptables-save|restore|shell]
  gen --diff OLD.policy NEW.policy --part sg|l3|fwaas|pbr [--router NAME] [--host HOST] [--ipv6]
      Generate Neutron's rules from a neutron-policy file (see docs/policy-language.md); with
      --diff, the rule changes and the conntrack -D commands for flows no longer allowed.
      Exit 0: done; 1: errors in the policy; 2: usage or I/O error.
`;

/** A command-line mistake (exit code 2). */
export class GenUsageError extends Error {}

interface GenArgs {
  files: string[];
  diff: boolean;
  part?: GenPart;
  router?: string;
  host?: string;
  family: 4 | 6;
  format: GenFormat;
}

function parseArgs(args: readonly string[]): GenArgs {
  const res: GenArgs = { files: [], diff: false, family: 4, format: 'iptables-save' };
  const value = (i: number, opt: string): string => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new GenUsageError(`${opt} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const eq = a.indexOf('=');
    const [opt, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const take = (): string => (inline !== undefined ? inline : value(i++, opt));
    switch (opt) {
      case '--part': {
        const v = take();
        if (v !== 'sg' && v !== 'l3' && v !== 'fwaas' && v !== 'pbr') throw new GenUsageError(`--part takes sg, l3, fwaas or pbr, not '${v}'`);
        res.part = v;
        break;
      }
      case '--router':
        res.router = take();
        break;
      case '--host':
        res.host = take();
        break;
      case '--format': {
        const v = take();
        if (v !== 'iptables-save' && v !== 'restore' && v !== 'shell') throw new GenUsageError(`--format takes iptables-save, restore or shell, not '${v}'`);
        res.format = v;
        break;
      }
      case '--ipv6':
        res.family = 6;
        break;
      case '--ipv4':
        res.family = 4;
        break;
      case '--diff':
        res.diff = true;
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new GenUsageError(`unknown option '${a}'`);
        res.files.push(a);
    }
  }
  if (!res.part) throw new GenUsageError('gen needs --part sg|l3|fwaas|pbr');
  if (res.diff && res.files.length !== 2) throw new GenUsageError('gen --diff needs two files: OLD.policy NEW.policy');
  if (!res.diff && res.files.length !== 1) throw new GenUsageError('gen needs exactly one policy file');
  return res;
}

function formatDiagnostic(file: string, d: Diagnostic): string {
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}[${d.code}]: ${d.message}\n`;
}

/** Reads and checks a policy file; returns undefined (after reporting) when it has errors. */
function load(file: string, errOut: (s: string) => void): Policy | undefined {
  const text = readInput(file);
  const res = readPolicy(text);
  for (const d of res.diagnostics) errOut(formatDiagnostic(file, d));
  if (res.diagnostics.some((d) => d.severity === 'error')) return undefined;
  return res.policy;
}

/** Runs `gen`; returns the exit code. I/O errors are thrown as Error (exit 2 by the caller). */
export function runGen(args: readonly string[], out: (s: string) => void, errOut: (s: string) => void): number {
  const a = parseArgs(args);
  const options = (format: GenFormat): GenerateOptions => ({
    part: a.part as GenPart,
    family: a.family,
    format,
    ...(a.router !== undefined ? { router: a.router } : {}),
    ...(a.host !== undefined ? { host: a.host } : {}),
  });
  try {
    if (a.diff) {
      const [oldFile, newFile] = a.files as [string, string];
      const oldPolicy = load(oldFile, errOut);
      const newPolicy = load(newFile, errOut);
      if (!oldPolicy || !newPolicy) return 1;
      const oldRes = generate(oldPolicy, options('restore'));
      const newRes = generate(newPolicy, options('restore'));
      out(formatDiff(diffGenerated(oldPolicy, oldRes, newRes, a.family), oldFile, newFile, a.family));
      return 0;
    }
    const file = a.files[0] as string;
    const policy = load(file, errOut);
    if (!policy) return 1;
    const res = generate(policy, options(a.format));
    for (const w of res.warnings) errOut(`${file}: warning: ${w}\n`);
    out(res.text);
    return 0;
  } catch (e) {
    if (e instanceof GenerateError) {
      errOut(`iptables-lsp gen: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
