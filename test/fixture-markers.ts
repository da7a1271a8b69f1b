/**
 * Inline diagnostic markers for fixture files. A marker is a comment line placed under the line it
 * describes, with carets under the range:
 *
 *     -A INPUT -p tcp --dport 70000 -j ACCEPT
 *     #                       ^^^^^ error[invalid-port]: --destination-port: port '70000' is out of range: ports are 0 to 65535
 *
 * Since `#` in column 1 is a comment for iptables-restore, a fixture stays a valid input.
 * A caret in column 2 also stands for column 1, which the `#` itself occupies.
 */
import type { Diagnostic } from '../server/src/core/index.ts';

const MARKER = /^#( *)(\^+) (error|warning|information|hint)\[([a-z0-9-]+)\]: (.*)$/;

/** One expected diagnostic read from a marker line. */
export interface Marker {
  readonly markerLine: number;
  readonly line: number;
  readonly column: number;
  readonly width: number;
  readonly severity: string;
  readonly code: string;
  readonly message: string;
}

/** Reads the markers of a fixture; each refers to the nearest non-marker line above it. */
export function readMarkers(text: string): Marker[] {
  const lines = text.split('\n');
  const out: Marker[] = [];
  let target = -1;
  lines.forEach((l, i) => {
    const m = MARKER.exec(l);
    if (!m) {
      target = i;
      return;
    }
    const column = m[1].length + 1;
    out.push({ markerLine: i, line: target, column: column === 1 ? 0 : column, width: m[2].length, severity: m[3], code: m[4], message: m[5] });
  });
  return out;
}

/** Renders a diagnostic as a marker line. */
export function markerFor(d: Diagnostic): string {
  const col = d.range.start.character;
  const width = d.range.end.line === d.range.start.line ? Math.max(1, d.range.end.character - col) : 1;
  return `#${' '.repeat(Math.max(0, col - 1))}${'^'.repeat(width)} ${d.severity}[${d.code}]: ${d.message.replace(/\n/g, ' ')}`;
}

/** Rewrites a fixture's markers from actual diagnostics (UPDATE=1). */
export function rewriteMarkers(text: string, diags: readonly Diagnostic[]): string {
  const lines = text.split('\n');
  const kept: { text: string; orig: number }[] = [];
  lines.forEach((l, i) => {
    if (!MARKER.test(l)) kept.push({ text: l, orig: i });
  });
  const byLine = new Map<number, Diagnostic[]>();
  for (const d of diags) {
    const list = byLine.get(d.range.start.line) ?? [];
    list.push(d);
    byLine.set(d.range.start.line, list);
  }
  const out: string[] = [];
  for (const k of kept) {
    out.push(k.text);
    for (const d of byLine.get(k.orig) ?? []) out.push(markerFor(d));
  }
  return out.join('\n');
}

/** Whether a diagnostic satisfies a marker. */
export function matches(m: Marker, d: Diagnostic): boolean {
  const colOk = m.column === 0 ? d.range.start.character <= 1 : d.range.start.character === m.column || (m.column === 1 && d.range.start.character === 0);
  return d.range.start.line === m.line && colOk && d.severity === m.severity && d.code === m.code && d.message.replace(/\n/g, ' ') === m.message;
}
