/**
 * `iptables-lsp fmt`: the editor's formatter (core/format.ts) on the command line. It prints the
 * formatted file by default; `--check` only says which files are not formatted (exit 1), for CI;
 * `--write` rewrites the files that change, and only those, since the user asked for it. Only the
 * blanks between words change: comments, counters, blank lines, line endings and the order of lines
 * stay, and lines the parser could not read cleanly are left as written.
 */
import { writeFileSync } from 'node:fs';
import { parse } from '../core/index.ts';
import { formatText } from '../core/format.ts';
import { readInput } from './read-input.ts';

export const FMT_USAGE = `  fmt [--check | --write] FILE...
      Print FILE with canonical spacing (one blank between words; comments, counters and line order kept).
      --check: print nothing, list the files that are not formatted and exit 1 if there is one (for CI).
      --write: rewrite the files that are not formatted, in place.
`;

export class FmtUsageError extends Error {}

/** Runs `fmt`; returns the exit code. */
export function runFmt(args: readonly string[], out: (s: string) => void, errOut: (s: string) => void): number {
  let mode: 'print' | 'check' | 'write' = 'print';
  const files: string[] = [];
  for (const a of args) {
    if (a === '--check' || a === '--write') {
      if (mode !== 'print') throw new FmtUsageError('fmt takes --check or --write, not both');
      mode = a === '--check' ? 'check' : 'write';
    } else if (a.startsWith('-')) throw new FmtUsageError(`unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length === 0) throw new FmtUsageError('fmt needs at least one FILE');
  if (mode === 'print' && files.length > 1) throw new FmtUsageError('fmt prints one file; use --check or --write for several');
  // Read everything first: a file that cannot be read stops the run before anything is written.
  const texts = files.map((f) => readInput(f));
  let unformatted = 0;
  files.forEach((f, k) => {
    const text = texts[k];
    const formatted = formatText(text, parse(text));
    if (mode === 'print') {
      out(formatted);
      return;
    }
    if (formatted === text) return;
    unformatted++;
    if (mode === 'check') errOut(`${f}: not formatted\n`);
    else {
      writeFileSync(f, formatted);
      errOut(`${f}: formatted\n`);
    }
  });
  return mode === 'check' && unformatted > 0 ? 1 : 0;
}
