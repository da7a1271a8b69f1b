/**
 * The language server. It only converts between LSP and the core: documents are checked with
 * `check`, results are cached per URI and version, diagnostics are debounced, and every handler
 * honours cancellation and is guarded so that one failing request never takes the server down.
 */
import {
  CodeActionKind,
  createConnection,
  InlayHintKind,
  MarkupKind,
  ProposedFeatures,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  DocumentHighlightKind,
  ErrorCodes,
  ResponseError,
  MessageType,
  SemanticTokensBuilder,
  ShowMessageNotification,
  type CallHierarchyItem,
  type CancellationToken,
  type CodeAction,
  type CodeLens,
  type Connection,
  type InitializeResult,
  type SemanticTokens,
  type SemanticTokensDelta,
  type Location,
  type SymbolInformation,
} from 'vscode-languageserver/node.js';
import { TextDocument, type TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { linesAfterChange } from './document-lines.ts';
import { check, detectFamily, LineDiagnostics, type CheckOptions, type CheckResult, type Chain, type Diagnostic, type SeverityOverrides } from '../core/index.ts';
import {
  callers,
  chainAt,
  counterHints,
  documentSymbols,
  findChains,
  foldingRanges,
  incomingCalls,
  jumpCounts,
  occurrences,
  outgoingCalls,
  prepareRename,
  renameEdits,
  eachSemanticToken,
  declarationNameSpan,
  chainDetail,
} from '../core/navigation.ts';
import { hoverAt } from '../core/describe.ts';
import { detached } from '../core/syntax.ts';
import { AnalysisScheduler, type AnalysisSettings } from './analysis-scheduler.ts';
import { fullCollection, IdleCollector } from './idle-collector.ts';
import { getHeapStatistics } from 'node:v8';
import { registerTraceRequests } from './trace.ts';
import { forgetPolicy, isPolicyDocument, policyCompletion, policyDefinition, policyFormatting, policyHover, policyPrepareRenameAt, policyReferences, policyRenameAt, publishPolicy, registerPolicyRequests } from './policy.ts';
import { completeAt, narrowCandidates } from '../core/completion.ts';
import { formatEdits } from '../core/format.ts';
import { fixAll, fixesFor } from '../core/code-actions.ts';
import {
  tokenPusher,
  toCompletionItems,
  toDocumentSymbols,
  toFoldingRanges,
  toLocation,
  toLspDiagnostic,
  toRange,
  toTextEdits,
  TOKEN_MODIFIERS,
  TOKEN_TYPES,
} from './convert.ts';

export { toLspDiagnostic } from './convert.ts';

/** The server's settings (the `iptables.*` section), with their defaults. */
export interface Settings {
  severity: SeverityOverrides;
  family?: 'ipv4' | 'ipv6';
  /**
   * Analyses that can be switched off: counter hints, reference-count lenses and the rule-set
   * analysis (unreachable, shadowed, redundant rules …, run in the background after validity),
   * with the effort the latter may spend (a multiplier of its limits).
   */
  analyses: { counters: boolean; referenceCounts: boolean; ruleSet: boolean; effort: number };
  /** Files larger than this (in bytes) are not analysed at all. */
  maxFileSize: number;
  /** Milliseconds to wait after an edit before re-checking. */
  diagnosticsDelay: number;
}

const DEFAULT_SETTINGS: Settings = {
  severity: {},
  analyses: { counters: true, referenceCounts: true, ruleSet: true, effort: 1 },
  maxFileSize: 64 * 1024 * 1024,
  diagnosticsDelay: 200,
};

/** The settings section as clients send it; every field is optional and checked. */
interface RawSettings {
  severity?: SeverityOverrides;
  family?: string;
  /** `false` switches every analysis off. */
  analyses?: false | { counters?: boolean; referenceCounts?: boolean; ruleSet?: boolean; effort?: number };
  maxFileSizeMB?: number;
  diagnosticsDelay?: number;
}

/** Reads settings sent by a client, falling back to defaults for anything missing or malformed. */
export function readSettings(raw: RawSettings | undefined): Settings {
  const s = raw ?? {};
  return {
    severity: s.severity && typeof s.severity === 'object' ? s.severity : {},
    family: s.family === 'ipv4' || s.family === 'ipv6' ? s.family : undefined,
    analyses: {
      counters: s.analyses !== false && s.analyses?.counters !== false,
      referenceCounts: s.analyses !== false && s.analyses?.referenceCounts !== false,
      ruleSet: s.analyses !== false && s.analyses?.ruleSet !== false,
      effort: s.analyses && typeof s.analyses.effort === 'number' && s.analyses.effort > 0 ? s.analyses.effort : DEFAULT_SETTINGS.analyses.effort,
    },
    maxFileSize: typeof s.maxFileSizeMB === 'number' && s.maxFileSizeMB > 0 ? s.maxFileSizeMB * 1024 * 1024 : DEFAULT_SETTINGS.maxFileSize,
    diagnosticsDelay: typeof s.diagnosticsDelay === 'number' && s.diagnosticsDelay >= 0 ? s.diagnosticsDelay : DEFAULT_SETTINGS.diagnosticsDelay,
  };
}

/** What the background rule-set analysis needs of the settings. */
function analysisSettings(s: Settings): AnalysisSettings {
  return { enabled: s.analyses.ruleSet, severities: s.severity, effort: s.analyses.effort };
}

/** Runs `fn` unless the request is cancelled, logging instead of throwing on failure. */
function guarded<T>(connection: Connection, name: string, token: CancellationToken | undefined, fallback: T, fn: () => T): T {
  if (token?.isCancellationRequested) return fallback;
  // A request (the calls with a token) is the user at work: the idle collection waits.
  if (token) onRequest?.();
  try {
    return fn();
  } catch (e) {
    connection.console.error(`iptables-lsp: ${name} failed: ${(e as Error).stack ?? String(e)}`);
    return fallback;
  }
}

/** Told of every request the server handles (set by startServer: the idle collector's `busy`). */
let onRequest: (() => void) | undefined;

/** The data a call hierarchy item carries so that later requests find the chain again. */
interface ChainRef {
  readonly uri: string;
  readonly tableLine: number;
  readonly chain: string;
}

/** Documents with fewer lines are only checked in full (see publishFast). */
const FAST_PATH_MIN_LINES = 2000;

/**
 * How many turns of the event loop the per-line diagnostics of an edit wait (see afterPending):
 * two let the message received right after the edit go first.
 */
const FAST_PUBLICATION_TURNS = 2;

/**
 * Runs `fn` after `turns` turns of the event loop (nested immediates); returns what cancels it.
 * vscode-jsonrpc handles one received message per immediate, queued after the handler that is
 * running: a publication made in a handler goes before the next message, and one two turns later
 * goes after it. An editor asks for a definition or the semantic tokens right after an edit; on
 * the 130k-line dump, publishing the edit's 15,784 diagnostics first (JSON of several megabytes)
 * made such a request wait 240–370 ms.
 */
export function afterPending(fn: () => void, turns: number): () => void {
  let cancelled = false;
  let handle: ReturnType<typeof setImmediate> | undefined;
  const step = (left: number): void => {
    handle = setImmediate(() => {
      if (cancelled) return;
      if (left > 1) step(left - 1);
      else fn();
    });
  };
  step(Math.max(1, turns));
  return () => {
    cancelled = true;
    if (handle) clearImmediate(handle);
  };
}

/** Sent after the last diagnostics publication of a document version: `{ uri, version }`. */
export const DIAGNOSTICS_COMPLETE = 'iptables/diagnosticsComplete';

/**
 * The lines of `text`, split at line feeds, with the leading and trailing lines that equal those
 * of `previous` (an earlier version's split) replaced by its string objects. The comparisons of
 * the new version with the earlier one that follow (moving diagnostics, the incremental check,
 * the analysis memo) then find the lines outside the edit equal by reference, instead of
 * comparing their characters again each time.
 */
export function splitReusing(text: string, previous: readonly string[] | undefined): string[] {
  const lines = text.split('\n');
  if (!previous) return lines;
  const n = Math.min(lines.length, previous.length);
  let i = 0;
  for (; i < n && lines[i] === previous[i]; i++) lines[i] = previous[i];
  let a = lines.length - 1;
  for (let b = previous.length - 1; a >= i && b >= i && lines[a] === previous[b]; a--, b--) lines[a] = previous[b];
  // The lines in between are new. Each is a slice of this version's text and keeps all of it
  // alive, and the next versions reuse the line: a copy of its own keeps only the line (without
  // it, every edit of a 17.8 MB document kept that version's whole text, 17.8 MB more per edit).
  for (let k = i; k <= a; k++) lines[k] = detached(lines[k]);
  return lines;
}

/**
 * Moves diagnostics of an old version of a document onto a new version: the common leading and
 * trailing lines are found by comparison, diagnostics there keep (or shift with) their line, and
 * those inside the changed region are dropped.
 */
export function shiftToEdit(oldLines: readonly string[], newLines: readonly string[], diags: readonly Diagnostic[]): Diagnostic[] {
  const max = Math.min(oldLines.length, newLines.length);
  let prefix = 0;
  while (prefix < max && oldLines[prefix] === newLines[prefix]) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && oldLines[oldLines.length - 1 - suffix] === newLines[newLines.length - 1 - suffix]) suffix++;
  const delta = newLines.length - oldLines.length;
  const out: Diagnostic[] = [];
  for (const d of diags) {
    const l = d.range.start.line;
    const e = d.range.end.line;
    if (e < prefix) out.push(d);
    else if (l >= oldLines.length - suffix) out.push(delta === 0 ? d : { ...d, range: { start: { line: l + delta, character: d.range.start.character }, end: { line: e + delta, character: d.range.end.character } } });
  }
  return out;
}


/** Starts the server on the process's IPC channel or stdio (chosen by the command line). */
export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  // Each document's last change, from which the lines of the new version are made (linesOf).
  const edits = new Map<string, { from: number; to: number; changes: TextDocumentContentChangeEvent[] }>();
  const documents = new TextDocuments<TextDocument>({
    create: TextDocument.create,
    update: (doc, changes, version) => {
      edits.set(doc.uri, { from: doc.version, to: version, changes });
      return TextDocument.update(doc, changes, version);
    },
  });
  const cache = new Map<string, { version: number; result: CheckResult; lines: string[]; loneCr: boolean }>();
  /** The pending full check of each document, as a function that cancels it. */
  const timers = new Map<string, () => void>();
  /**
   * Seeds of the per-line diagnostics caches (LineDiagnostics.seed) from the last full checks,
   * made once the document's diagnostics are complete rather than between its validity and its
   * analysis, where they would delay the analysis's findings; the next fast pass makes a seed still
   * waiting first.
   */
  const pendingSeeds = new Map<string, () => void>();
  const seedNow = (uri: string): void => {
    const seed = pendingSeeds.get(uri);
    pendingSeeds.delete(uri);
    seed?.();
  };
  const tooLargeWarned = new Set<string>();
  let settings: Settings = DEFAULT_SETTINGS;
  // The garbage of the checks and analyses goes back to the system once the documents rest and no
  // request comes for a while (idle-collector.ts).
  const collect = fullCollection();
  const heapTotal = (): number => getHeapStatistics().total_heap_size;
  const idle = collect
    ? new IdleCollector({
        collect: () => {
          const before = heapTotal();
          const start = performance.now();
          collect();
          const mb = (n: number): string => (n / 1048576).toFixed(0);
          connection.console.log(`iptables-lsp: idle collection in ${(performance.now() - start).toFixed(0)} ms, heap ${mb(before)} → ${mb(heapTotal())} MB`);
        },
        heapTotal,
        setTimer: (fn, ms) => setTimeout(() => guarded(connection, 'idle collection', undefined, undefined, fn), ms).unref(),
        clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      })
    : undefined;
  onRequest = idle ? () => idle.busy() : undefined;
  connection.onShutdown(() => idle?.dispose());
  // Validity is published at once; the rule-set analysis follows in the background (analysis-scheduler.ts).
  const analyses = new AnalysisScheduler(
    {
      publish: (uri, version, diagnostics) => void connection.sendDiagnostics({ uri, version, diagnostics: diagnostics.map((d) => toLspDiagnostic(d, uri)) }),
      // A custom notification, ignored by clients that do not know it: tests and the benchmark use
      // it to tell the last publication of a version (validity plus analysis) from the earlier ones.
      done: (uri, version) => {
        void connection.sendNotification(DIAGNOSTICS_COMPLETE, { uri, version });
        idle?.busy();
        setImmediate(() =>
          guarded(connection, 'line diagnostics seed', undefined, undefined, () => {
            seedNow(uri);
            // The text's line starts, which vscode-languageserver-textdocument finds on first need
            // and then keeps up to date: found here, while the document rests, rather than by the
            // first edit (100 ms on a 17.8 MB dump, which a request right after it waited for).
            void documents.get(uri)?.lineCount;
          }),
        );
      },
      log: (message) => connection.console.log(message),
      error: (message) => connection.console.error(message),
    },
    analysisSettings(settings),
    shiftToEdit,
  );

  /** The options of every check of a document. */
  const checkOptions = (doc: TextDocument): CheckOptions => ({ fileName: doc.uri, family: settings.family, severities: settings.severity, prepareAnalysis: settings.analyses.ruleSet });

  /**
   * Each document's lines, by version: one split per version, and after an edit the lines made
   * from the last version's and the change (document-lines.ts), unless the text has a lone
   * carriage return (an editor's line numbers are then not those of a split at line feeds).
   */
  const splits = new Map<string, { version: number; lines: string[]; loneCr: boolean }>();
  const linesOf = (doc: TextDocument, text: string): string[] => {
    const last = splits.get(doc.uri);
    if (last?.version === doc.version) return last.lines;
    const edit = edits.get(doc.uri);
    const made = last && !last.loneCr && edit?.from === last.version && edit.to === doc.version ? linesAfterChange(last.lines, edit.changes, text, doc) : undefined;
    const lines = made ?? splitReusing(text, last?.lines);
    splits.set(doc.uri, { version: doc.version, lines, loneCr: made ? false : hasLoneCarriageReturn(text) });
    return lines;
  };
  /** The analysis of a document at its current version; undefined when the file is over the size limit. */
  const analyse = (doc: TextDocument): { result: CheckResult; lines: string[]; loneCr: boolean } | undefined => {
    if (isPolicyDocument(doc.uri, doc.languageId)) return undefined;
    const hit = cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit;
    const text = doc.getText();
    if (text.length > settings.maxFileSize) {
      if (!tooLargeWarned.has(doc.uri)) {
        tooLargeWarned.add(doc.uri);
        void connection.window.showWarningMessage(`iptables: ${doc.uri} is larger than iptables.maxFileSizeMB; it is not analysed.`);
      }
      return undefined;
    }
    const lines = linesOf(doc, text);
    // After an edit within one rule, the check is made from the last one (core/incremental.ts),
    // which is then stale: the cache entry it came from is replaced right here. What a check keeps
    // for the next (the readings and the diagnostics by origin) costs memory, but spares a big
    // document a full check on every edit. Measured on the 5,000-port dump (17.8 MB): the server
    // holds 210 MB instead of 170 MB, and after an edit a definition request is answered in 0.2 s
    // instead of 1.2 s, the complete diagnostics (with a fresh analysis) come after 1.8 s instead
    // of 2.8–3.4 s.
    const previous = hit && hit.version < doc.version ? hit.result : undefined;
    const result = check(text, { ...checkOptions(doc), incremental: true, previous, lines });
    // linesOf has just told whether this version has a lone carriage return.
    const entry = { version: doc.version, result, lines, loneCr: splits.get(doc.uri)?.loneCr ?? hasLoneCarriageReturn(text) };
    cache.set(doc.uri, entry);
    return entry;
  };
  const analyseUri = (uri: string): { result: CheckResult; lines: string[]; loneCr: boolean; doc: TextDocument } | undefined => {
    const doc = documents.get(uri);
    const a = doc && analyse(doc);
    return a && doc ? { ...a, doc } : undefined;
  };

  /** Whole-file diagnostics of the last full check, kept to accompany the fast per-line ones. */
  const wholeFile = new Map<string, { lines: readonly string[]; family: CheckResult['family']; diagnostics: Diagnostic[] }>();
  const lineCaches = new Map<string, LineDiagnostics>();
  // Per document, the semantic tokens last sent: after each edit an editor asks for the changes
  // since its last result (`semanticTokens/full/delta`), and an edit within a rule changes a few
  // of the 2 million numbers of a 130k-line dump's tokens (4.8 MB of JSON when sent in full).
  const tokenBuilders = new Map<string, SemanticTokensBuilder>();

  /** Publishes a checked version: its validity diagnostics now, its analysis in the background. */
  const publishChecked = (doc: TextDocument, a: { result: CheckResult; lines: string[] }): void => {
    analyses.validity(doc.uri, doc.version, a.lines, a.result);
    // Remember what the full check found beyond the per-line problems, for the next fast pass.
    const lineLevel = new Set(a.result.model.ruleProblems.map((p) => `${p.line}:${p.start}:${p.code}`));
    wholeFile.set(doc.uri, {
      lines: a.lines,
      family: a.result.family,
      diagnostics: a.result.diagnostics.filter((d) => !lineLevel.has(`${d.range.start.line}:${d.range.start.character}:${d.code}`)),
    });
    let lc = lineCaches.get(doc.uri);
    if (!lc) lineCaches.set(doc.uri, (lc = new LineDiagnostics()));
    const cache = lc;
    const { lines, result } = a;
    const text = doc.getText();
    // After an edit, the fast pass has already seen this text: the seed would give the same.
    if (cache.knows(text)) pendingSeeds.delete(doc.uri);
    else pendingSeeds.set(doc.uri, () => cache.seed(lines, result.model.ruleProblems, result.family, text));
  };

  const publish = (doc: TextDocument): void => {
    if (isPolicyDocument(doc.uri, doc.languageId)) return guarded(connection, 'policy diagnostics', undefined, undefined, () => publishPolicy(connection, doc));
    guarded(connection, 'diagnostics', undefined, undefined, () => {
      const a = analyse(doc);
      if (a) publishChecked(doc, a);
      else {
        void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: [] });
        void connection.sendNotification(DIAGNOSTICS_COMPLETE, { uri: doc.uri, version: doc.version });
      }
    });
  };

  /**
   * Publishes the per-line ("syntax") diagnostics at once after an edit, from a cache keyed by line
   * text, together with the last full check's whole-file findings moved to follow the edit (lines
   * before and after the changed region keep theirs; the changed region gets only fresh ones). The
   * debounced full check replaces them shortly after. Small documents skip this step: their full
   * check is as fast as this one, and publishing twice would only make diagnostics flicker.
   */
  const publishFast = (doc: TextDocument): void => {
    guarded(connection, 'fast diagnostics', undefined, undefined, () => {
      if (isPolicyDocument(doc.uri, doc.languageId)) return;
      if (doc.lineCount < FAST_PATH_MIN_LINES) return;
      const text = doc.getText();
      if (text.length > settings.maxFileSize) return;
      seedNow(doc.uri);
      let lc = lineCaches.get(doc.uri);
      if (!lc) lineCaches.set(doc.uri, (lc = new LineDiagnostics()));
      const prev = wholeFile.get(doc.uri);
      const family = settings.family ?? prev?.family ?? detectFamily(text, { fileName: doc.uri });
      const fast = lc.run(text, family, settings.severity);
      const lines = linesOf(doc, text);
      const moved = prev ? shiftToEdit(prev.lines, lines, prev.diagnostics) : [];
      analyses.early(doc.uri, doc.version, [...fast, ...moved, ...analyses.carried(doc.uri, lines)]);
    });
  };

  /** When the last full check of each document started (Date.now()). */
  const lastFullCheck = new Map<string, number>();
  /*
   * Full diagnostics are debounced so that typing does not re-check the whole file on every
   * keystroke, but only on the trailing edge of a burst: an edit after a pause of at least the
   * delay is checked at once (after the messages already received), so a single edit shows its
   * full diagnostics in the time of one check instead of the delay plus one check.
   */
  const schedule = (doc: TextDocument): void => {
    timers.get(doc.uri)?.();
    const sinceLast = Date.now() - (lastFullCheck.get(doc.uri) ?? 0);
    const delay = sinceLast >= settings.diagnosticsDelay ? 0 : settings.diagnosticsDelay;
    const run = (): void => {
      timers.delete(doc.uri);
      const current = documents.get(doc.uri);
      if (!current) return;
      lastFullCheck.set(doc.uri, Date.now());
      publish(current);
    };
    // At once means after the requests already received and the per-line diagnostics (see
    // afterPending), and after the event loop's next poll, not on a timer: the per-line
    // diagnostics get their turn to be written out before the long synchronous check starts (a
    // timer can fire first).
    if (delay === 0) {
      timers.set(doc.uri, afterPending(run, FAST_PUBLICATION_TURNS + 1));
    } else {
      const timer = setTimeout(run, delay);
      timers.set(doc.uri, () => clearTimeout(timer));
    }
  };

  connection.onInitialize((): InitializeResult => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      definitionProvider: true,
      referencesProvider: true,
      renameProvider: { prepareProvider: true },
      documentSymbolProvider: true,
      workspaceSymbolProvider: true,
      callHierarchyProvider: true,
      documentHighlightProvider: true,
      hoverProvider: true,
      completionProvider: { triggerCharacters: ['-', ' ', ','] },
      foldingRangeProvider: true,
      semanticTokensProvider: { legend: { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] }, full: { delta: true }, range: true },
      documentFormattingProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.SourceFixAll] },
      inlayHintProvider: true,
      codeLensProvider: { resolveProvider: true },
    },
    serverInfo: { name: 'iptables-lsp' },
  }));

  connection.onDidChangeConfiguration((change) => {
    const raw = (change.settings as { iptables?: RawSettings } | undefined)?.iptables;
    settings = readSettings(raw);
    analyses.configure(analysisSettings(settings));
    cache.clear();
    for (const d of documents.all()) schedule(d);
  });

  documents.onDidOpen((e) => {
    idle?.busy();
    publish(e.document);
  });
  documents.onDidChangeContent((e) => {
    idle?.busy();
    // didOpen also fires a content change; the open handler has already published that version.
    if (cache.get(e.document.uri)?.version !== e.document.version) {
      // The analysis of the previous version is stale now: stop it before anything else.
      analyses.cancel(e.document.uri);
      // The per-line diagnostics wait for the requests already received (see afterPending); by
      // then a newer version may have come, which publishes its own.
      const { uri, version } = e.document;
      afterPending(() => {
        const doc = documents.get(uri);
        if (doc?.version === version) publishFast(doc);
      }, FAST_PUBLICATION_TURNS);
      schedule(e.document);
    }
  });
  documents.onDidClose((e) => {
    idle?.busy();
    forgetPolicy(e.document.uri);
    analyses.forget(e.document.uri);
    cache.delete(e.document.uri);
    wholeFile.delete(e.document.uri);
    lineCaches.delete(e.document.uri);
    pendingSeeds.delete(e.document.uri);
    tokenBuilders.delete(e.document.uri);
    tooLargeWarned.delete(e.document.uri);
    lastFullCheck.delete(e.document.uri);
    splits.delete(e.document.uri);
    edits.delete(e.document.uri);
    timers.get(e.document.uri)?.();
    timers.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  connection.onDefinition((p, token) =>
    guarded(connection, 'definition', token, null, () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyDefinition(policyDoc, p.position.line, p.position.character);
      const a = analyseUri(p.textDocument.uri);
      const hit = a && chainAt(a.result.model, p.position.line, p.position.character);
      const decl = hit && (declarationNameSpan(hit.chain) ?? occurrences(hit.chain)[0]?.span);
      return decl ? toLocation(p.textDocument.uri, decl) : null;
    }),
  );

  connection.onReferences((p, token) =>
    guarded(connection, 'references', token, [] as Location[], () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyReferences(policyDoc, p.position.line, p.position.character, p.context.includeDeclaration);
      const a = analyseUri(p.textDocument.uri);
      const hit = a && chainAt(a.result.model, p.position.line, p.position.character);
      if (!hit) return [];
      return occurrences(hit.chain)
        .filter((o) => p.context.includeDeclaration || o.kind !== 'declaration')
        .map((o) => toLocation(p.textDocument.uri, o.span));
    }),
  );

  connection.onDocumentHighlight((p, token) =>
    guarded(connection, 'documentHighlight', token, null, () => {
      const a = analyseUri(p.textDocument.uri);
      const hit = a && chainAt(a.result.model, p.position.line, p.position.character);
      if (!hit) return null;
      return occurrences(hit.chain).map((o) => ({ range: toRange(o.span), kind: o.kind === 'declaration' ? DocumentHighlightKind.Write : DocumentHighlightKind.Read }));
    }),
  );

  connection.onPrepareRename((p, token) =>
    guarded(connection, 'prepareRename', token, null, () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyPrepareRenameAt(policyDoc, p.position.line, p.position.character);
      const a = analyseUri(p.textDocument.uri);
      if (a?.loneCr) return new ResponseError(ErrorCodes.InvalidRequest, LONE_CR_NO_EDITS);
      const r = a && prepareRename(a.result.model, p.position.line, p.position.character);
      if (!r) return null;
      if ('error' in r) return new ResponseError(ErrorCodes.InvalidRequest, r.error);
      return { range: toRange(r.span), placeholder: r.placeholder };
    }),
  );

  connection.onRenameRequest((p, token) =>
    guarded(connection, 'rename', token, null, () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyRenameAt(policyDoc, p.position.line, p.position.character, p.newName);
      const a = analyseUri(p.textDocument.uri);
      if (a?.loneCr) return new ResponseError(ErrorCodes.InvalidRequest, LONE_CR_NO_EDITS);
      const r = a && renameEdits(a.result.model, p.position.line, p.position.character, p.newName);
      if (!r) return null;
      if ('error' in r) return new ResponseError(ErrorCodes.InvalidRequest, r.error);
      return { changes: { [p.textDocument.uri]: toTextEdits(r.edits) } };
    }),
  );

  connection.onDocumentSymbol((p, token) =>
    guarded(connection, 'documentSymbol', token, [], () => {
      const a = analyseUri(p.textDocument.uri);
      if (!a) return [];
      return toDocumentSymbols(documentSymbols(a.result.model, (l) => lineLength(a.lines, l)));
    }),
  );

  connection.onWorkspaceSymbol((p, token) =>
    guarded(connection, 'workspaceSymbol', token, [] as SymbolInformation[], () => {
      const out: SymbolInformation[] = [];
      for (const doc of documents.all()) {
        if (token.isCancellationRequested) break;
        const a = analyse(doc);
        if (!a) continue;
        for (const c of findChains(a.result.model, p.query, 1000 - out.length)) {
          const span = declarationNameSpan(c);
          if (span) out.push({ name: c.name, kind: SymbolKind.Function, containerName: c.table.name, location: toLocation(doc.uri, span) });
        }
        if (out.length >= 1000) break;
      }
      return out;
    }),
  );

  /** A call hierarchy item for a chain. */
  const chainItem = (uri: string, c: Chain): CallHierarchyItem | undefined => {
    const span = declarationNameSpan(c) ?? occurrences(c)[0]?.span;
    if (!span) return undefined;
    const data: ChainRef = { uri, tableLine: c.table.line, chain: c.name };
    return { name: c.name, kind: SymbolKind.Function, detail: `${c.table.name}: ${chainDetail(c)}`, uri, range: toRange(span), selectionRange: toRange(span), data };
  };
  /** Finds the chain a call hierarchy item stands for in the current version of its document. */
  const chainOf = (item: CallHierarchyItem): { chain: Chain; uri: string } | undefined => {
    const ref = item.data as ChainRef | undefined;
    if (!ref) return undefined;
    const a = analyseUri(ref.uri);
    const t = a?.result.model.tables.find((x) => x.line === ref.tableLine) ?? a?.result.model.tables.find((x) => x.chains.has(ref.chain));
    const chain = t?.chains.get(ref.chain);
    return chain ? { chain, uri: ref.uri } : undefined;
  };

  connection.languages.callHierarchy.onPrepare((p, token) =>
    guarded(connection, 'prepareCallHierarchy', token, null, () => {
      const a = analyseUri(p.textDocument.uri);
      const hit = a && chainAt(a.result.model, p.position.line, p.position.character);
      const item = hit && chainItem(p.textDocument.uri, hit.chain);
      return item ? [item] : null;
    }),
  );
  connection.languages.callHierarchy.onIncomingCalls((p, token) =>
    guarded(connection, 'incomingCalls', token, null, () => {
      const found = chainOf(p.item);
      if (!found) return null;
      return incomingCalls(found.chain).flatMap((call) => {
        const from = chainItem(found.uri, call.chain);
        return from ? [{ from, fromRanges: call.spans.map(toRange) }] : [];
      });
    }),
  );
  connection.languages.callHierarchy.onOutgoingCalls((p, token) =>
    guarded(connection, 'outgoingCalls', token, null, () => {
      const found = chainOf(p.item);
      if (!found) return null;
      return outgoingCalls(found.chain).flatMap((call) => {
        const to = chainItem(found.uri, call.chain);
        return to ? [{ to, fromRanges: call.spans.map(toRange) }] : [];
      });
    }),
  );

  connection.onHover((p, token) =>
    guarded(connection, 'hover', token, null, () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyHover(policyDoc, p.position.line, p.position.character);
      const a = analyseUri(p.textDocument.uri);
      const h = a && hoverAt(a.result.model, p.position.line, p.position.character);
      return h ? { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: toRange(h.span) } : null;
    }),
  );

  connection.onCompletion((p, token) =>
    guarded(connection, 'completion', token, null, () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyCompletion(policyDoc, p.position.line, p.position.character);
      const a = analyseUri(p.textDocument.uri);
      if (!a) return null;
      const lineText = (a.lines[p.position.line] ?? '').replace(/\r$/, '');
      const r = completeAt(a.result.model, lineText, p.position.line, p.position.character);
      const sent = narrowCandidates(r.items, lineText.slice(r.replaceStart, p.position.character));
      return { isIncomplete: sent.incomplete, items: toCompletionItems(sent.items, p.position.line, r.replaceStart, p.position.character) };
    }),
  );

  connection.onFoldingRanges((p, token) =>
    guarded(connection, 'foldingRange', token, [], () => {
      const a = analyseUri(p.textDocument.uri);
      return a ? toFoldingRanges(foldingRanges(a.result.model, a.result.parsed), undefined) : [];
    }),
  );

  const tokenBuilder = (uri: string): SemanticTokensBuilder => {
    let b = tokenBuilders.get(uri);
    if (!b) tokenBuilders.set(uri, (b = new SemanticTokensBuilder()));
    return b;
  };
  /**
   * A document's semantic tokens, as edits of the result `previousResultId` when it is the last
   * one sent, else in full. (The builder keeps an older result it was asked about when asked about
   * one it does not know: `build`, not `buildEdits`, is the answer then.)
   */
  const documentTokens = (uri: string, model: CheckResult['model'], previousResultId?: string): SemanticTokens | SemanticTokensDelta => {
    const b = tokenBuilder(uri);
    const edits = previousResultId !== undefined && previousResultId === b.id;
    b.previousResult(edits ? previousResultId : '');
    eachSemanticToken(model, tokenPusher(b));
    return edits ? b.buildEdits() : b.build();
  };
  connection.languages.semanticTokens.on((p, token) =>
    guarded(connection, 'semanticTokens', token, { data: [] as number[] }, () => {
      const a = analyseUri(p.textDocument.uri);
      return a ? (documentTokens(p.textDocument.uri, a.result.model) as SemanticTokens) : { data: [] };
    }),
  );
  connection.languages.semanticTokens.onDelta((p, token) =>
    guarded(connection, 'semanticTokensDelta', token, { data: [] as number[] } as SemanticTokens | SemanticTokensDelta, () => {
      const a = analyseUri(p.textDocument.uri);
      return a ? documentTokens(p.textDocument.uri, a.result.model, p.previousResultId) : { data: [] };
    }),
  );
  connection.languages.semanticTokens.onRange((p, token) =>
    guarded(connection, 'semanticTokensRange', token, { data: [] as number[] }, () => {
      const a = analyseUri(p.textDocument.uri);
      if (!a) return { data: [] };
      const b = new SemanticTokensBuilder();
      eachSemanticToken(a.result.model, tokenPusher(b), p.range.start.line, p.range.end.line);
      return b.build();
    }),
  );

  connection.onDocumentFormatting((p, token) =>
    guarded(connection, 'formatting', token, null, () => {
      const policyDoc = documents.get(p.textDocument.uri);
      if (policyDoc && isPolicyDocument(policyDoc.uri, policyDoc.languageId)) return policyFormatting(policyDoc);
      const a = analyseUri(p.textDocument.uri);
      if (a?.loneCr) {
        void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message: `iptables: not formatted: ${LONE_CR_NO_EDITS}` });
        return null;
      }
      return a ? toTextEdits(formatEdits(a.doc.getText(), a.result.parsed)) : null;
    }),
  );

  connection.onCodeAction((p, token) =>
    guarded(connection, 'codeAction', token, [] as CodeAction[], () => {
      const a = analyseUri(p.textDocument.uri);
      // No edits where the editor's lines and iptables' lines differ (see LONE_CR_NO_EDITS).
      if (!a || a.loneCr) return [];
      const uri = p.textDocument.uri;
      const only = p.context.only;
      const wants = (kind: string): boolean => !only || only.some((k) => kind === k || kind.startsWith(k + '.'));
      const out: CodeAction[] = [];
      if (wants(CodeActionKind.QuickFix)) {
        // Diagnostics are matched by code and range against the core's own (and the analysis's
        // findings of this very version), so the fixes use the model's data.
        const own = [...a.result.diagnostics, ...analyses.findings(uri, a.doc.version)];
        const inRange = own.filter((d) => d.range.start.line <= p.range.end.line && d.range.end.line >= p.range.start.line);
        for (const d of inRange) {
          for (const f of fixesFor(a.result, d, a.lines)) {
            out.push({ title: f.title, kind: CodeActionKind.QuickFix, isPreferred: f.preferred, diagnostics: f.diagnostics.map((x) => toLspDiagnostic(x, uri)), edit: { changes: { [uri]: toTextEdits(f.edits) } } });
          }
        }
      }
      if (wants(CodeActionKind.SourceFixAll)) {
        const f = fixAll(a.result, a.lines);
        if (f) out.push({ title: f.title, kind: CodeActionKind.SourceFixAll, diagnostics: [], edit: { changes: { [uri]: toTextEdits(f.edits) } } });
      }
      return out;
    }),
  );

  connection.languages.inlayHint.on((p, token) =>
    guarded(connection, 'inlayHint', token, [], () => {
      if (!settings.analyses.counters) return [];
      const a = analyseUri(p.textDocument.uri);
      if (!a) return [];
      return counterHints(a.result.model, (l) => lineLength(a.lines, l), p.range.start.line, p.range.end.line).map((h) => ({
        position: { line: h.line, character: h.character },
        label: h.label,
        kind: InlayHintKind.Type,
        paddingLeft: true,
      }));
    }),
  );

  connection.onCodeLens((p, token) =>
    guarded(connection, 'codeLens', token, [] as CodeLens[], () => {
      if (!settings.analyses.referenceCounts) return [];
      const a = analyseUri(p.textDocument.uri);
      if (!a) return [];
      const counts = jumpCounts(a.result.model);
      const out: CodeLens[] = [];
      for (const t of a.result.model.tables) {
        for (const c of t.chains.values()) {
          const span = declarationNameSpan(c);
          if (!span || !c.declarationArg?.raw.startsWith(':')) continue;
          const n = counts.get(c) ?? 0;
          const title = `${n} jump${n === 1 ? '' : 's'} here · ${chainDetail(c)}`;
          // The command (with the locations to show) is filled in by resolve, only for lenses on screen.
          out.push({ range: toRange(span), data: { uri: p.textDocument.uri, line: span.line, character: span.start, title } });
        }
      }
      return out;
    }),
  );

  connection.onCodeLensResolve((lens) =>
    guarded(connection, 'codeLensResolve', undefined, lens, () => {
      const data = lens.data as { uri: string; line: number; character: number; title: string } | undefined;
      if (!data) return lens;
      const a = analyseUri(data.uri);
      const hit = a && chainAt(a.result.model, data.line, data.character);
      const locations = hit ? callers(hit.chain).map((r) => r.targetSpan && toLocation(data.uri, r.targetSpan)).filter((l): l is Location => l !== undefined) : [];
      return { ...lens, command: { title: data.title, command: 'iptables.showReferences', arguments: [data.uri, { line: data.line, character: data.character }, locations] } };
    }),
  );

  registerTraceRequests(connection, (uri) => analyseUri(uri)?.result);
  registerPolicyRequests(connection, documents, (uri) => {
    const family = analyseUri(uri)?.result.family;
    return family === undefined ? undefined : family === 'ipv6' ? 6 : 4;
  });

  documents.listen(connection);
  connection.listen();
}

/**
 * Editors count a carriage return not followed by a line feed as a line break (LSP does too);
 * iptables-restore and the core do not. In such a document the two disagree on line numbers after
 * it, so an edit computed by the core could land on the wrong text: requests that edit the
 * document are refused instead (diagnostics and navigation stay, their positions may be off).
 */
const LONE_CR_NO_EDITS = 'the file has a carriage return (\\r) inside a line, which the editor counts as a line break and iptables-restore does not; convert its line endings to LF first';

/** Whether a text has a carriage return that does not end a CRLF pair. */
function hasLoneCarriageReturn(text: string): boolean {
  return text.includes('\r') && /\r(?!\n)/.test(text);
}

/** The length of a line without its `\r`. */
function lineLength(lines: readonly string[], line: number): number {
  const l = lines[line] ?? '';
  return l.endsWith('\r') ? l.length - 1 : l.length;
}
