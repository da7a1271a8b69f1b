/**
 * Output formats of `iptables-lsp check`: compiler-style text and SARIF 2.1.0 (the JSON format
 * lives next to the command). They only format; they never decide what is an error.
 */
import { DIAGNOSTIC_CODES, lineStarts, type Diagnostic, type Family } from '../core/index.ts';

/** The diagnostics of one checked file. */
export interface FileReport {
  readonly path: string;
  readonly text: string;
  readonly family: Family;
  readonly diagnostics: readonly Diagnostic[];
}

const useColor = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;

/** About how many characters TextReporter gathers before it writes them out. */
const TEXT_PIECE = 1 << 16;

/**
 * The text format (`file:line:col: severity[code]: message`, the source line and a caret under the
 * range), written as it is made: each file's diagnostics in pieces of about TEXT_PIECE
 * characters, the summary line at the end. The CLI hands each file's report over as soon as the
 * file is checked and keeps only the counts, so neither the output of a big dump (8 MB for the
 * 5,000-port one) nor the texts of earlier files are held in memory at once.
 */
export class TextReporter {
  private readonly color = useColor();
  private piece = '';
  private files = 0;
  private clean = 0;
  private errors = 0;
  private warnings = 0;
  private others = 0;

  constructor(private readonly out: (s: string) => void) {}

  private paint(severity: string, s: string): string {
    return this.color ? `\x1b[${SEVERITY_COLORS[severity]}m${s}\x1b[0m` : s;
  }

  /** Writes one file's diagnostics. */
  add(r: FileReport): void {
    this.files++;
    if (r.diagnostics.length === 0) this.clean++;
    // Where each line starts, found once: cheaper than splitting the whole text into lines.
    const starts = lineStarts(r.diagnostics.length > 0 ? r.text : '');
    for (const d of r.diagnostics) {
      const l = d.range.start.line;
      const c = d.range.start.character;
      let out = `${r.path}:${l + 1}:${c + 1}: ${this.paint(d.severity, `${d.severity}[${d.code}]`)}: ${d.message}\n`;
      const src = lineOf(r.text, starts, l);
      // Long lines are cut around the range so that the caret stays readable.
      const from = Math.max(0, c - 60);
      const shown = src.slice(from, from + 160);
      const width = Math.max(1, Math.min(d.range.end.line === l ? d.range.end.character - c : src.length - c, shown.length - (c - from)));
      out += `  ${from > 0 ? '…' : ''}${shown}${src.length > from + 160 ? '…' : ''}\n`;
      out += `  ${from > 0 ? ' ' : ''}${' '.repeat(c - from)}${this.paint(d.severity, '^'.repeat(width))}\n`;
      for (const rel of d.related ?? []) out += `  ${r.path}:${rel.range.start.line + 1}:${rel.range.start.character + 1}: note: ${rel.message}\n`;
      if (d.severity === 'error') this.errors++;
      else if (d.severity === 'warning') this.warnings++;
      else this.others++;
      this.piece += out;
      if (this.piece.length >= TEXT_PIECE) this.flush();
    }
  }

  /** Writes the summary line and whatever is left. */
  end(): void {
    const { files, clean, errors, warnings, others } = this;
    this.piece += `${files} file${files === 1 ? '' : 's'} checked (${clean} clean): ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${others ? `, ${others} note${others === 1 ? '' : 's'}` : ''}\n`;
    this.flush();
  }

  private flush(): void {
    if (this.piece.length > 0) this.out(this.piece);
    this.piece = '';
  }
}

const SEVERITY_COLORS: Record<string, string> = { error: '1;31', warning: '1;33', information: '1;36', hint: '2' };

/** Line `l` of `text` (0-based) without its line break or a carriage return before it; '' past the end. */
function lineOf(text: string, starts: Int32Array, l: number): string {
  const start = starts[l];
  if (start === undefined) return '';
  let end = l + 1 < starts.length ? starts[l + 1] - 1 : text.length;
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  return text.slice(start, end);
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
