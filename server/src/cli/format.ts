/**
 * Output formats of `iptables-lsp check`: compiler-style text and SARIF 2.1.0 (the JSON format
 * lives next to the command). They only format; they never decide what is an error.
 */
import { DIAGNOSTIC_CODES, type Diagnostic, type Family } from '../core/index.ts';

/** The diagnostics of one checked file. */
export interface FileReport {
  readonly path: string;
  readonly text: string;
  readonly family: Family;
  readonly diagnostics: readonly Diagnostic[];
}

const useColor = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;

/** `file:line:col: severity[code]: message`, the source line and a caret under the range. */
export function formatText(reports: readonly FileReport[]): string {
  const color = useColor();
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const sevColor: Record<string, string> = { error: '1;31', warning: '1;33', information: '1;36', hint: '2' };
  let out = '';
  let errors = 0;
  let warnings = 0;
  let others = 0;
  for (const r of reports) {
    const lines = r.text.split('\n');
    for (const d of r.diagnostics) {
      const l = d.range.start.line;
      const c = d.range.start.character;
      out += `${r.path}:${l + 1}:${c + 1}: ${paint(sevColor[d.severity], `${d.severity}[${d.code}]`)}: ${d.message}\n`;
      const src = (lines[l] ?? '').replace(/\r$/, '');
      // Long lines are cut around the range so that the caret stays readable.
      const from = Math.max(0, c - 60);
      const shown = src.slice(from, from + 160);
      const width = Math.max(1, Math.min(d.range.end.line === l ? d.range.end.character - c : src.length - c, shown.length - (c - from)));
      out += `  ${from > 0 ? '…' : ''}${shown}${src.length > from + 160 ? '…' : ''}\n`;
      out += `  ${from > 0 ? ' ' : ''}${' '.repeat(c - from)}${paint(sevColor[d.severity], '^'.repeat(width))}\n`;
      for (const rel of d.related ?? []) out += `  ${r.path}:${rel.range.start.line + 1}:${rel.range.start.character + 1}: note: ${rel.message}\n`;
      if (d.severity === 'error') errors++;
      else if (d.severity === 'warning') warnings++;
      else others++;
    }
  }
  const clean = reports.filter((r) => r.diagnostics.length === 0).length;
  out += `${reports.length} file${reports.length === 1 ? '' : 's'} checked (${clean} clean): ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${others ? `, ${others} note${others === 1 ? '' : 's'}` : ''}\n`;
  return out;
}

const SARIF_LEVEL: Record<string, string> = { error: 'error', warning: 'warning', information: 'note', hint: 'note' };

/** A SARIF 2.1.0 log with one run, the rules taken from the diagnostic code registry. */
export function formatSarif(reports: readonly FileReport[]): unknown {
  const codes = Object.keys(DIAGNOSTIC_CODES);
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'iptables-lsp',
            informationUri: 'https://github.com/iptables-lsp/iptables-lsp',
            rules: codes.map((code) => ({
              id: code,
              shortDescription: { text: DIAGNOSTIC_CODES[code].description },
              defaultConfiguration: { level: SARIF_LEVEL[DIAGNOSTIC_CODES[code].severity] },
            })),
          },
        },
        results: reports.flatMap((r) =>
          r.diagnostics.map((d) => ({
            ruleId: d.code,
            ruleIndex: Math.max(0, codes.indexOf(d.code)),
            level: SARIF_LEVEL[d.severity],
            message: { text: d.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: r.path.replace(/\\/g, '/') },
                  region: {
                    startLine: d.range.start.line + 1,
                    startColumn: d.range.start.character + 1,
                    endLine: d.range.end.line + 1,
                    endColumn: d.range.end.character + 1,
                  },
                },
              },
            ],
            relatedLocations: (d.related ?? []).map((x, k) => ({
              id: k,
              message: { text: x.message },
              physicalLocation: { artifactLocation: { uri: r.path.replace(/\\/g, '/') }, region: { startLine: x.range.start.line + 1, startColumn: x.range.start.character + 1 } },
            })),
          })),
        ),
      },
    ],
  };
}
