/**
 * Runs the rule-set analysis of the editor's documents in the background. The server publishes a
 * document's validity diagnostics as soon as they are known; this scheduler then analyses the same
 * version and publishes the validity and analysis diagnostics together. Every publication goes
 * through it, the server's early one after an edit too (`early`), so that a list the client
 * already has for the version is not sent again. An edit (or closing the
 * document, or new settings) cancels the analysis of the version it replaces, so stale results are
 * never published and a long analysis never delays typing.
 *
 * Why cooperative slices (`analyseAsync`) rather than a worker thread: the analysis needs the
 * model the server has just built. A worker would have to parse and check the whole text again
 * (the model is a graph of objects that cannot be transferred), doubling the work and the memory
 * of a big dump, and it would need its own bundle entry. Slices of about 2 ms on the server's own
 * thread (longer when the garbage collector runs, or where a step cannot pause: on the 130k-line
 * dump, half the gaps between two turns of the event loop last 2 ms, 90 % under 9 ms) keep
 * requests and notifications waiting little; an edit is read between two slices and aborts the run
 * at once.
 *
 * Between an edit and the end of the new analysis, the last analysis findings are kept where the
 * edit did not touch (moved with the lines around it, as the server's fast path does for
 * validity), so that warnings such as unreachable rules do not flicker on every keystroke; notes
 * that some analysis was skipped are not kept, since they depend on the whole table.
 *
 * Tables are analysed independently: a table whose lines (and error lines) are those of the table
 * at the same place in the last analysis keeps that table's findings, and only the other tables are
 * analysed again (typing in a router's nat table leaves its filter table alone). At the same place,
 * since the findings' messages name lines ("already dropped by line 12"): a table that moved, after
 * an edit that added or removed lines before it, is analysed again.
 *
 * Within a table analysed again, the analysis replays what the last analysis recorded for the
 * chains an edit did not touch (analysis/memo.ts: the chain, what it calls and what reaches it
 * unchanged), so that typing in one chain of a big dump re-walks that chain and its callers only.
 */
import { analyseAsync, tableEnd, type CheckResult, type Diagnostic, type SeverityOverrides } from '../core/index.ts';
import type { AnalysisMemo } from '../core/analysis/memo.ts';
import type { Model } from '../core/model.ts';
import { applySeverities } from '../core/diagnostics.ts';

/** Moves diagnostics of an old version of a document onto a new one (the server's `shiftToEdit`). */
export type ShiftToEdit = (oldLines: readonly string[], newLines: readonly string[], diags: readonly Diagnostic[]) => Diagnostic[];

/** Where results go: the server publishes them to the client. */
export interface AnalysisSink {
  /** Publishes the complete diagnostics of a document version. */
  publish(uri: string, version: number, diagnostics: readonly Diagnostic[]): void;
  /** Says that no further diagnostics will be published for this version (analysis done, off or not possible). */
  done(uri: string, version: number): void;
  /** Notes progress and cancellations (the server's log). */
  log(message: string): void;
  /** Reports a failure of the analysis itself (a bug: the document's validity diagnostics stand). */
  error(message: string): void;
}

/** How the analysis runs for the documents of an editor session. */
export interface AnalysisSettings {
  /** The `iptables.analyses.ruleSet` setting: false turns the rule-set analysis off. */
  readonly enabled: boolean;
  /** Severity per diagnostic code, as for validity. */
  readonly severities: SeverityOverrides;
  /** Multiplies the analysis's limits (`iptables.analyses.effort`). */
  readonly effort: number;
}

/**
 * Milliseconds of analysis between two pauses: the longest a request or an edit waits for it.
 * A request waits for a slice more than once (its message, the server's queue, the answer), so
 * shorter slices shorten every request made while the analysis runs. Measured on the 130k-line
 * dump (bench/lsp-bench.ts): with 10 ms slices a references request made during the analysis
 * took 59 ms, with 4 ms 40 ms; later, with 4 ms against 2 ms (alternating runs): references of
 * the shared chain 33–39 against 24–26 ms, definition 13–20 against 6–7 ms, hover 17–21 against
 * 10–11 ms, and the analysis took no longer.
 */
const SLICE_MS = 2;

/**
 * Documents up to this many characters keep a memo of their last analysis (analysis/memo.ts).
 * A memo holds about 9 times the text's size (measured on the 5,000-port dump: 157 MB for 17.8 MB,
 * most of it the packets entering and leaving each per-port chain): up to 8 MB it stays under
 * about 75 MB; bigger documents are analysed afresh after each edit.
 */
const MEMO_MAX_CHARS = 8_000_000;

/** What the scheduler knows of one document. */
interface DocumentState {
  /**
   * The diagnostics the client was last sent for the document, and for which version: a list
   * equal to them is not sent again for that version (see `validity`).
   */
  sent?: { readonly version: number; readonly diagnostics: readonly Diagnostic[] };
  /** The run in progress, if any. */
  running?: { readonly version: number; readonly abort: AbortController };
  /** The last completed analysis, for moving its diagnostics onto later versions until the next completes. */
  last?: {
    readonly version: number;
    readonly lines: readonly string[];
    /** Every finding of that version: what quick fixes may act on while it is current. */
    readonly findings: readonly Diagnostic[];
    /** The findings that stay true of later versions where an edit did not touch (no notes on skipped work). */
    readonly carried: readonly Diagnostic[];
    /** Per table, its lines and findings (before severities), for tables an edit leaves alone. */
    readonly tables: readonly TableFindings[];
    /** What else the findings depend on: family, effort, severities (see `contextOf`). */
    readonly context: string;
    /** What the analysis of the next version may replay (analysis/memo.ts). */
    readonly memo: AnalysisMemo | undefined;
  };
}

/** The analysis findings of one table of a version, with what they depend on in the document. */
interface TableFindings {
  readonly name: string;
  /** The table's lines (header to COMMIT, or to the next table's header without COMMIT): `first` … `last`. */
  readonly first: number;
  readonly last: number;
  /** The error lines in that range, relative to `first`: a table with errors is not analysed. */
  readonly errors: string;
  /** Its findings, before the user's severities. */
  readonly findings: readonly Diagnostic[];
}

/**
 * Schedules background analyses, one at a time per document, and publishes their results. The
 * server calls `validity` instead of publishing validity diagnostics itself, `cancel` on every
 * edit, and `forget` when a document closes.
 */
export class AnalysisScheduler {
  private readonly docs = new Map<string, DocumentState>();

  constructor(
    private readonly sink: AnalysisSink,
    private settings: AnalysisSettings,
    private readonly shiftToEdit: ShiftToEdit,
  ) {}

  /** New settings: later runs use them (the server re-checks every document). */
  configure(settings: AnalysisSettings): void {
    this.settings = settings;
    for (const uri of this.docs.keys()) this.cancel(uri);
    if (!settings.enabled) this.docs.clear();
  }

  /**
   * Publishes the validity diagnostics of a checked version (with the last analysis's diagnostics
   * moved onto it), then analyses that version in the background and publishes everything again
   * (unless the analysis found just what was moved onto it: then only `done` follows).
   * `lines` are the version's lines; `result` is its check, made with `prepareAnalysis`.
   */
  validity(uri: string, version: number, lines: readonly string[], result: CheckResult): void {
    this.cancel(uri);
    const state = this.stateOf(uri);
    const carried = this.settings.enabled && state.last ? this.shiftToEdit(state.last.lines, lines, state.last.carried) : [];
    const published = carried.length > 0 ? byPosition([...result.diagnostics, ...carried]) : result.diagnostics;
    this.send(state, uri, version, published);
    if (!this.settings.enabled || !result.analysisInput) {
      this.sink.done(uri, version);
      return;
    }
    const abort = new AbortController();
    state.running = { version, abort };
    const input = result.analysisInput;
    const started = performance.now();
    // Tables whose lines and errors the last analysis saw keep its findings for them.
    const context = contextOf(result, this.settings);
    const ranges = tableRanges(result.model, lines.length, input.errorLines);
    const kept: TableFindings[] = [];
    const again = new Set<number>();
    ranges.forEach((r, i) => {
      const old = state.last?.context === context ? state.last.tables.find((o) => o.first === r.first && o.name === r.name && o.errors === r.errors && sameLines(state.last!.lines, o.first, o.last, lines, r.first, r.last)) : undefined;
      if (old) kept.push({ ...r, findings: old.findings });
      else again.add(i);
    });
    let size = 0;
    for (const l of lines) size += l.length + 1;
    const remember = size <= MEMO_MAX_CHARS;
    const previous = remember && state.last?.context === context ? state.last.memo : undefined;
    const finish = (fresh: readonly Diagnostic[], memo: AnalysisMemo | undefined, replayed: string): void => {
      // Each finding belongs to the last table starting at or before its line (a table without
      // COMMIT reaches the next one's header, where only the next one reports).
      const byTable = ranges.map((): Diagnostic[] => []);
      for (const d of fresh) {
        let i = ranges.length - 1;
        while (i > 0 && ranges[i].first > d.range.start.line) i--;
        byTable[i]?.push(d);
      }
      const tables = [...kept, ...ranges.flatMap((r, i) => (again.has(i) ? [{ ...r, findings: byTable[i] }] : []))];
      const found = byPosition(applySeverities(tables.flatMap((t) => t.findings), this.settings.severities));
      // Notes about skipped work depend on the whole table (an error anywhere, its size): they
      // are not carried onto later versions, where they could be plainly wrong.
      state.last = { version, lines, findings: found, carried: found.filter((d) => d.code !== 'analysis-skipped'), tables, context, memo };
      const checked = result.incremental?.fromPrevious ? '; checked from the last check' : '';
      const complete = byPosition([...result.diagnostics, ...found]);
      // The findings carried onto this version are usually what its analysis finds again (an edit
      // of a port, a comment): then the client already has these diagnostics for this version,
      // published with its validity (or before it), and they are not sent again (on a Neutron dump
      // of 26,000 lines, 3,000 diagnostics and 1.7 MB of JSON after every edit).
      const same = holds(state, version, complete);
      this.sink.log(`iptables-lsp: analysed ${uri} version ${version} in ${Math.round(performance.now() - started)} ms (${found.length} findings; ${kept.length} of ${ranges.length} tables unchanged${replayed}${checked}${same ? '; nothing new to publish' : ''})`);
      if (!same) this.send(state, uri, version, complete);
      this.sink.done(uri, version);
    };
    if (again.size === 0) {
      state.running = undefined;
      finish([], previous, '');
      return;
    }
    analyseAsync(result.model, {
      readings: input.readings,
      errorLines: input.errorLines,
      reachability: false,
      effort: this.settings.effort,
      raiseHint: 'raise the setting iptables.analyses.effort to go further',
      signal: abort.signal,
      yieldEveryMs: SLICE_MS,
      onlyTables: again,
      lines,
      previous,
      remember,
    }).then(
      (analysis) => {
        if (state.running?.abort !== abort) return;
        state.running = undefined;
        const walks = analysis.walks;
        finish(analysis.diagnostics, analysis.memo, walks ? `; ${walks.replayed} of ${walks.total} chain walks replayed` : '');
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        if (state.running?.abort === abort) state.running = undefined;
        this.sink.error(`iptables-lsp: the analysis of ${uri} failed: ${(e as Error).stack ?? String(e)}`);
        this.sink.done(uri, version);
      },
    );
  }

  /**
   * Publishes the diagnostics the server finds right after an edit, before the version's full
   * check (the per-line ones and the last check's and analysis's moved to follow the edit).
   */
  early(uri: string, version: number, diagnostics: Diagnostic[]): void {
    this.send(this.stateOf(uri), uri, version, byPosition(diagnostics));
  }

  /**
   * Sends a version's diagnostics unless the client was just sent the same for that version: after
   * an edit of a port or a comment, the full check usually finds just what the early publication
   * moved onto the version, and sending 3,000 diagnostics (1.7 MB of JSON on a 26,000-line Neutron
   * dump) again costs both ends time while the edit's analysis waits.
   */
  private send(state: DocumentState, uri: string, version: number, diagnostics: readonly Diagnostic[]): void {
    if (holds(state, version, diagnostics)) return;
    state.sent = { version, diagnostics };
    this.sink.publish(uri, version, diagnostics);
  }

  /** Stops the analysis in progress for a document (an edit made its version stale). */
  cancel(uri: string): void {
    const state = this.docs.get(uri);
    const running = state?.running;
    if (!running) return;
    state.running = undefined;
    running.abort.abort(new Error(`version ${running.version} of ${uri} is stale`));
    this.sink.log(`iptables-lsp: analysis of ${uri} version ${running.version} cancelled`);
  }

  /** Forgets a closed document. */
  forget(uri: string): void {
    this.cancel(uri);
    this.docs.delete(uri);
  }

  /**
   * The last analysis diagnostics, moved onto a version with these lines: for the server's fast
   * path, which publishes per-line diagnostics right after an edit.
   */
  carried(uri: string, lines: readonly string[]): Diagnostic[] {
    const last = this.docs.get(uri)?.last;
    return this.settings.enabled && last ? this.shiftToEdit(last.lines, lines, last.carried) : [];
  }

  /**
   * The analysis findings of exactly this version of a document, once its analysis is complete
   * (none before, and none of older versions): for quick fixes, which must act on what is true of
   * the text being edited.
   */
  findings(uri: string, version: number): readonly Diagnostic[] {
    const last = this.docs.get(uri)?.last;
    return this.settings.enabled && last?.version === version ? last.findings : [];
  }

  private stateOf(uri: string): DocumentState {
    let s = this.docs.get(uri);
    if (!s) this.docs.set(uri, (s = {}));
    return s;
  }
}

/** What a table's findings depend on besides its lines: the family, the effort and the severities (which decide the error lines). */
function contextOf(result: CheckResult, settings: AnalysisSettings): string {
  return `${result.family}|${settings.effort}|${JSON.stringify(settings.severities)}`;
}

/**
 * Each table's lines as the analysis sees them: from its header to its COMMIT, or to the next
 * table's header when COMMIT is missing (where that error is reported), with its error lines.
 */
function tableRanges(model: Model, lineCount: number, errorLines: ReadonlySet<number>): Omit<TableFindings, 'findings'>[] {
  const errors = [...errorLines].sort((a, b) => a - b);
  return model.tables.map((t, i) => {
    const last = Math.min(tableEnd(model, i), lineCount - 1);
    return { name: t.name, first: t.line, last, errors: errors.filter((l) => l >= t.line && l <= last).map((l) => l - t.line).join(',') };
  });
}

/** Whether lines a … b of one version are lines c … d of another (lines past the end of a version differ). */
function sameLines(x: readonly string[], a: number, b: number, y: readonly string[], c: number, d: number): boolean {
  if (b - a !== d - c || b >= x.length || d >= y.length) return false;
  for (let k = 0; k <= b - a; k++) if (x[a + k] !== y[c + k]) return false;
  return true;
}

/** Whether the client was last sent just these diagnostics for this version of the document. */
function holds(state: DocumentState, version: number, diagnostics: readonly Diagnostic[]): boolean {
  const held = state.sent;
  return held?.version === version && sameDiagnostics(diagnostics, held.diagnostics);
}

/** Whether two lists hold the same diagnostics in the same order (all that the client is sent of each). */
function sameDiagnostics(a: readonly Diagnostic[], b: readonly Diagnostic[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const samePosition = (x: Diagnostic['range']['start'], y: Diagnostic['range']['start']): boolean => x.line === y.line && x.character === y.character;
  const sameRange = (x: Diagnostic['range'], y: Diagnostic['range']): boolean => samePosition(x.start, y.start) && samePosition(x.end, y.end);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x.code !== y.code || x.severity !== y.severity || x.message !== y.message || !sameRange(x.range, y.range)) return false;
    const xt = x.tags ?? [];
    const yt = y.tags ?? [];
    if (xt.length !== yt.length || xt.some((t, k) => t !== yt[k])) return false;
    const xr = x.related ?? [];
    const yr = y.related ?? [];
    if (xr.length !== yr.length || xr.some((r, k) => r.message !== yr[k].message || !sameRange(r.range, yr[k].range))) return false;
  }
  return true;
}

/** Diagnostics in document order. */
function byPosition(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}
