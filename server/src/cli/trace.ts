/**
 * `iptables-lsp trace`: follows packets through a rule file and prints what happens to them.
 * One packet (`--packet "…"`) prints a story (text) or one JSON object; a batch (`--packets FILE`
 * or `-` for stdin, one packet per line) prints JSON Lines, one object per packet in input order.
 * Exit codes: 0 traced; 2 usage, I/O or packet syntax error.
 */
import { readFileSync } from 'node:fs';
import { readInput } from './read-input.ts';
import { check, type Family } from '../core/index.ts';
import { parsePacket, PacketSyntaxError, trace, traceToJson, traceToText, type TracePath } from '../core/trace/index.ts';
import type { Hook } from '../core/extensions/extensions.ts';

/** Thrown for bad command-line usage; the caller prints the usage text. */
export class TraceUsageError extends Error {}

const HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
const PATHS: readonly TracePath[] = ['input', 'forward', 'output'];

/** Runs the trace command; `readStdin` is injectable for tests. Returns the exit code. */
export function runTrace(args: readonly string[], out: (s: string) => void, errOut: (s: string) => void, readStdin: () => string = () => readFileSync(0, 'utf8')): number {
  let file: string | undefined;
  let where: TracePath | Hook | undefined;
  let packet: string | undefined;
  let packets: string | undefined;
  let format = 'text';
  let family: Family | undefined;
  const value = (i: number, a: string): string => {
    const v = args[i];
    if (v === undefined) throw new TraceUsageError(`${a} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [name, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = (): string => inline ?? value(++i, name);
    switch (name) {
      case '--hook': {
        const h = take().toUpperCase();
        if (!(HOOKS as readonly string[]).includes(h)) throw new TraceUsageError(`--hook must be one of ${HOOKS.join(', ')}, not '${h}'`);
        if (where) throw new TraceUsageError('give either --hook or --path, once');
        where = h as Hook;
        break;
      }
      case '--path': {
        const p = take().toLowerCase();
        if (!(PATHS as readonly string[]).includes(p)) throw new TraceUsageError(`--path must be one of ${PATHS.join(', ')}, not '${p}'`);
        if (where) throw new TraceUsageError('give either --hook or --path, once');
        where = p as TracePath;
        break;
      }
      case '--packet':
        packet = take();
        break;
      case '--packets':
        packets = take();
        break;
      case '--format':
        format = take();
        if (format !== 'text' && format !== 'json') throw new TraceUsageError(`--format must be text or json, not '${format}'`);
        break;
      case '--ipv4':
      case '-4':
        family = 'ipv4';
        break;
      case '--ipv6':
      case '-6':
        family = 'ipv6';
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new TraceUsageError(`unknown option '${a}'`);
        if (file !== undefined) throw new TraceUsageError(`trace takes one FILE (got '${file}' and '${a}')`);
        file = a;
    }
  }
  if (file === undefined) throw new TraceUsageError('trace needs a FILE');
  if (where === undefined) throw new TraceUsageError('trace needs --hook HOOK or --path input|forward|output');
  if ((packet === undefined) === (packets === undefined)) throw new TraceUsageError('trace needs exactly one of --packet "…" or --packets FILE|-');
  if (file === '-' && packets === '-') throw new TraceUsageError('the rule file and --packets cannot both be stdin');
  const text = file === '-' ? readStdin() : readInput(file);
  const checked = check(text, { family, fileName: file });
  const errors = checked.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const d = errors[0];
    errOut(`iptables-lsp: warning: ${file}:${d.range.start.line + 1}: ${d.message} (iptables-restore would reject this file; the trace follows the rules as written)\n`);
  }
  if (packet !== undefined) {
    let p;
    try {
      p = parsePacket(packet, checked.family);
    } catch (e) {
      if (e instanceof PacketSyntaxError) {
        errOut(`iptables-lsp: bad packet: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    const r = trace(checked.model, p, where);
    out(format === 'json' ? JSON.stringify(traceToJson(r)) + '\n' : traceToText(r));
    return 0;
  }
  const batch = packets === '-' ? readStdin() : readInput(packets!);
  let bad = 0;
  const lines = batch.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [k, line] of lines.entries()) {
    // Blank lines and comments keep their place: every input line gives one output line.
    if (line.trim() === '' || line.trimStart().startsWith('#')) {
      out(JSON.stringify({ packet: line, skipped: true }) + '\n');
      continue;
    }
    try {
      const p = parsePacket(line, checked.family);
      out(JSON.stringify(traceToJson(trace(checked.model, p, where))) + '\n');
    } catch (e) {
      if (!(e instanceof PacketSyntaxError)) throw e;
      bad++;
      out(JSON.stringify({ packet: line, error: e.message }) + '\n');
      errOut(`iptables-lsp: packet line ${k + 1}: ${e.message}\n`);
    }
  }
  return bad > 0 ? 2 : 0;
}
