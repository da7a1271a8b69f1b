/**
 * The language-server part of the benchmark, in a process of its own so that the server's heap is
 * not shared with the batch measurements (as in an editor, where the server has a process to itself):
 *
 *   node --import tsx bench/lsp-bench.ts SERVER_BUNDLE EDIT_FILE NAV_FILE
 *
 * Inside this process the real server (the bundle, normally dist/server.cjs) is driven through an
 * in-memory IPC channel (bench/lsp-driver.ts). EDIT_FILE (the ~26k-line dump) is opened and edited
 * one character at a time, first with the default settings, then with the debounce set to 0;
 * NAV_FILE (the ~130k-line dump) is opened for definition, references and hover. The results
 * (`LspResults`) are printed as one line of JSON on stdout.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { InProcessServer, type Timed } from './lsp-driver.ts';
import { series, type Series } from './series.ts';

/** What the language-server benchmark measured (milliseconds). */
export interface LspResults {
  /** Opening the edit document: time to its first publishDiagnostics (validity). */
  readonly openToFirstDiagnostics: number;
  /** Opening the edit document: time until its diagnostics are complete (validity and the rule-set analysis). */
  readonly openToFullDiagnostics: number;
  /**
   * One-character edits with the default settings: time from didChange to the first
   * publishDiagnostics of the new version (the per-line "syntax" diagnostics of the fast path).
   */
  readonly editToDiagnostics: Series;
  /** The same edits: time from didChange to the server's notice that the version's diagnostics are complete (validity and analysis). */
  readonly editToFullDiagnostics: Series;
  /**
   * The same edits: time from didChange to the second publication of the version, the validity
   * diagnostics of a full check (with the last analysis findings moved to follow the edit), for
   * the edits where the full check found something else than what was published first.
   */
  readonly editToValidity: Series;
  /**
   * How many of those edits had no second publication: the full check found just what the server
   * had published right after the edit, so it sent nothing again (not in `editToValidity`).
   */
  readonly editValidityNotSent: number;
  /** The same with `iptables.diagnosticsDelay` set to 0: time to the complete diagnostics without any debounce. */
  readonly editToDiagnosticsNoDelay: Series;
  /** Opening the navigation document, to its first diagnostics. */
  readonly openNavigationDocument: number;
  /** Opening the navigation document, until its diagnostics are complete (the analysis runs while the navigation requests are answered). */
  readonly openNavigationComplete: number;
  readonly definition: Series & { readonly found: boolean };
  readonly referencesShared: Series & { readonly locations: number; readonly chain: string };
  readonly referencesPerPort: Series & { readonly locations: number; readonly chain: string };
  readonly hover: Series & { readonly supported: boolean; readonly error?: string };
  /** Definition, references of the shared chain and hover again, once the analysis has finished. */
  readonly idle: { readonly definition: Series; readonly referencesShared: Series; readonly hover: Series };
  /**
   * Requests an editor sends after every edit, for the whole document, once the analysis has
   * finished: semantic tokens (the first request in full, then the changes since the last result)
   * and completion after `-j`.
   */
  readonly wholeDocument: {
    readonly semanticTokensFirst: number;
    readonly semanticTokens: Series & { readonly tokens: number };
    readonly completionAfterJump: Series & { readonly items: number; readonly incomplete: boolean };
  };
  /** A definition request sent right after an edit, before the debounced re-check: it pays for the re-check. */
  readonly definitionRightAfterEdit: Series;
  /** Errors the server logged (its guarded handlers' failures); empty when all went well. */
  readonly serverErrors: string[];
  /** Peak resident set size of this process (server and client), in bytes. */
  readonly peakRss: number;
}

/** How many edits each edit series makes, and how often each navigation request is sent. */
const EDITS = 6;
const REQUESTS = 10;

/**
 * The pause before each edit, longer than the default `iptables.diagnosticsDelay` (200 ms): the
 * edits stand for single changes after a pause in typing, which the server checks at once. Without
 * it, an edit sent as soon as the last one's diagnostics were complete would follow it by less
 * than the delay whenever the server is fast, and be debounced as the next keystroke of a burst.
 */
const PAUSE_MS = 300;

/** A position (0-based) one character into the last `needle` of the last line of `lines` that starts with `prefix`. */
function positionIn(lines: readonly string[], prefix: string, needle: string): { line: number; character: number } {
  let line = -1;
  for (let i = lines.length - 1; i >= 0 && line < 0; i--) if ((lines[i] ?? '').startsWith(prefix)) line = i;
  if (line < 0) throw new Error(`no line starts with ${prefix}`);
  const at = (lines[line] ?? '').lastIndexOf(needle);
  if (at < 0) throw new Error(`line ${line + 1} has no ${needle}`);
  return { line, character: at + 1 };
}

/** The position of the second `2` of a `--dport 22` rule: the target of the one-character edits. */
function editPosition(lines: readonly string[], which: 'first' | 'middle'): { line: number; character: number } {
  const matches: number[] = [];
  lines.forEach((l, i) => {
    if (l.includes('--dport 22 -j RETURN')) matches.push(i);
  });
  const line = which === 'first' ? matches[0] : matches[Math.floor(matches.length / 2)];
  if (line === undefined) throw new Error('no `--dport 22` rule to edit');
  return { line, character: (lines[line] ?? '').indexOf('--dport 22') + '--dport 2'.length };
}

/** Sends a request `n` times in a row and returns the series of round trips and the last answer. */
async function repeat<T>(n: number, fn: () => Promise<Timed<T>>): Promise<{ s: Series; last: Timed<T> }> {
  const times: number[] = [];
  let last: Timed<T> | undefined;
  for (let i = 0; i < n; i++) {
    last = await fn();
    times.push(last.ms);
  }
  if (!last) throw new Error('repeat: no request sent');
  return { s: series(times), last };
}

/** Runs the language-server benchmark. */
export async function benchServer(serverBundle: string, editFile: string, navFile: string): Promise<LspResults> {
  const server = await InProcessServer.start(serverBundle);
  try {
    // Open the edit document: the server checks it at once and publishes one set of diagnostics.
    const uri = pathToFileURL(editFile).href;
    const editText = readFileSync(editFile, 'utf8');
    let version = 1;
    let waiting = server.nextDiagnostics(uri, version);
    let complete = server.diagnosticsComplete(uri, version);
    let start = performance.now();
    server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'iptables', version, text: editText } });
    const openToFirstDiagnostics = (await waiting).at - start;
    const openToFullDiagnostics = (await complete) - start;

    // One-character edits of a port number in the middle of the file (22 → 23 → 22 …), one at a
    // time, each once the previous version's diagnostics are complete and a pause in typing (PAUSE_MS) has passed.
    const edit = editPosition(editText.split('\n'), 'middle');
    const editSeries = async (count: number): Promise<{ first: Series; validity: Series; full: Series; notSent: number }> => {
      let notSent = 0;
      const first: number[] = [];
      const validity: number[] = [];
      const full: number[] = [];
      for (let i = 0; i < count; i++) {
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
        version += 1;
        waiting = server.nextDiagnostics(uri, version);
        complete = server.diagnosticsComplete(uri, version);
        start = performance.now();
        server.notify('textDocument/didChange', {
          textDocument: { uri, version },
          contentChanges: [{ range: { start: edit, end: { line: edit.line, character: edit.character + 1 } }, text: version % 2 === 0 ? '3' : '2' }],
        });
        first.push((await waiting).at - start);
        // The next publication of this version comes from the full check (at least a check's time
        // later), unless it found just what was published right after the edit: the server then
        // sends nothing again, and the version's diagnostics are complete without it.
        const again = await server.nextDiagnostics(uri, version, complete);
        if (again) validity.push(again.at - start);
        else notSent++;
        full.push((await complete) - start);
      }
      return { first: series(first), validity: series(validity), full: series(full), notSent };
    };
    const withDefaults = await editSeries(EDITS);
    // The same edits without the debounce. A configuration change makes the server re-check every
    // open document (wait until that is complete); afterwards every edit is checked without delay.
    complete = server.diagnosticsComplete(uri, version);
    server.notify('workspace/didChangeConfiguration', { settings: { iptables: { diagnosticsDelay: 0 } } });
    await complete;
    const editToDiagnosticsNoDelay = (await editSeries(EDITS)).full;
    // Back to the default settings for the rest; the edit document is closed so that only the big one is open.
    complete = server.diagnosticsComplete(uri, version);
    server.notify('workspace/didChangeConfiguration', { settings: { iptables: {} } });
    await complete;
    server.notify('textDocument/didClose', { textDocument: { uri } });

    // Navigation on the big document, once its diagnostics are out (so that its analysis is cached).
    const navUri = pathToFileURL(navFile).href;
    const navText = readFileSync(navFile, 'utf8');
    waiting = server.nextDiagnostics(navUri, 1);
    const navComplete = server.diagnosticsComplete(navUri, 1);
    start = performance.now();
    server.notify('textDocument/didOpen', { textDocument: { uri: navUri, languageId: 'iptables', version: 1, text: navText } });
    const navStart = start;
    const openNavigationDocument = (await waiting).at - start;
    const navLines = navText.split('\n');
    const doc = { uri: navUri };
    const forward = positionIn(navLines, '-A neutron-openvswi-FORWARD ', 'neutron-openvswi-sg-chain');
    const fallbackDeclaration = positionIn(navLines, ':neutron-openvswi-sg-fallback ', 'neutron-openvswi-sg-fallback');
    const perPort = positionIn(navLines, '-A neutron-openvswi-sg-chain -m physdev --physdev-in', '-j neutron-openvswi-o');
    const perPortPosition = { line: perPort.line, character: perPort.character + 3 };
    const perPortChain = (navLines[perPort.line] ?? '').slice(perPort.character + 2);

    const definition = await repeat(REQUESTS, () => server.request('textDocument/definition', { textDocument: doc, position: forward }));
    const refShared = await repeat(REQUESTS, () => server.request<unknown[]>('textDocument/references', { textDocument: doc, position: fallbackDeclaration, context: { includeDeclaration: true } }));
    const refPort = await repeat(REQUESTS, () => server.request<unknown[]>('textDocument/references', { textDocument: doc, position: perPortPosition, context: { includeDeclaration: true } }));
    const hover = await repeat(REQUESTS, () => server.request('textDocument/hover', { textDocument: doc, position: forward }));

    // The requests above ran while the rule-set analysis of the document was under way in the
    // background (the editor's situation right after opening); now wait for it to finish.
    const openNavigationComplete = (await navComplete) - navStart;
    // The same requests once nothing runs in the background.
    const refSharedIdle = await repeat(REQUESTS, () => server.request<unknown[]>('textDocument/references', { textDocument: doc, position: fallbackDeclaration, context: { includeDeclaration: true } }));
    const hoverIdle = await repeat(REQUESTS, () => server.request('textDocument/hover', { textDocument: doc, position: forward }));
    const definitionIdle = await repeat(REQUESTS, () => server.request('textDocument/definition', { textDocument: doc, position: forward }));
    const full = await server.request<{ resultId?: string; data: number[] }>('textDocument/semanticTokens/full', { textDocument: doc });
    const semanticTokensFirst = full.ms;
    // As an editor asks after each edit: the changes since its last result.
    let resultId = full.result?.resultId;
    const semanticTokens = await repeat(REQUESTS, async () => {
      const r = await server.request<{ resultId?: string }>('textDocument/semanticTokens/full/delta', { textDocument: doc, previousResultId: resultId });
      resultId = r.result?.resultId;
      return r;
    });
    // Completion of the target of a rule of the dispatch chain, with nothing typed after `-j `.
    const jump = positionIn(navLines, '-A neutron-openvswi-FORWARD ', '-j ');
    const completion = await repeat(REQUESTS, () => server.request<{ items: unknown[]; isIncomplete: boolean }>('textDocument/completion', { textDocument: doc, position: { line: jump.line, character: jump.character + 2 } }));

    // A definition request right after each of a few edits (as when one types and then jumps at
    // once): the cached check is stale, so the request checks the edited text first. Each edit
    // waits until the last one's diagnostics are complete.
    const navEdit = editPosition(navLines, 'first');
    const afterEdits: number[] = [];
    for (let navVersion = 2; navVersion < 2 + EDITS; navVersion++) {
      const done = server.diagnosticsComplete(navUri, navVersion);
      server.notify('textDocument/didChange', {
        textDocument: { uri: navUri, version: navVersion },
        contentChanges: [{ range: { start: navEdit, end: { line: navEdit.line, character: navEdit.character + 1 } }, text: navVersion % 2 === 0 ? '3' : '2' }],
      });
      afterEdits.push((await server.request('textDocument/definition', { textDocument: doc, position: forward })).ms);
      await done;
    }

    return {
      openToFirstDiagnostics,
      openToFullDiagnostics,
      editToDiagnostics: withDefaults.first,
      editToFullDiagnostics: withDefaults.full,
      editToValidity: withDefaults.validity,
      editValidityNotSent: withDefaults.notSent,
      editToDiagnosticsNoDelay,
      openNavigationDocument,
      openNavigationComplete,
      idle: { definition: definitionIdle.s, referencesShared: refSharedIdle.s, hover: hoverIdle.s },
      wholeDocument: {
        semanticTokensFirst,
        semanticTokens: { ...semanticTokens.s, tokens: (full.result?.data.length ?? 0) / 5 },
        completionAfterJump: { ...completion.s, items: completion.last.result?.items.length ?? 0, incomplete: completion.last.result?.isIncomplete ?? false },
      },
      definition: { ...definition.s, found: definition.last.result !== null && definition.last.result !== undefined },
      referencesShared: { ...refShared.s, locations: refShared.last.result?.length ?? 0, chain: 'neutron-openvswi-sg-fallback' },
      referencesPerPort: { ...refPort.s, locations: refPort.last.result?.length ?? 0, chain: perPortChain },
      hover: { ...hover.s, supported: hover.last.error === undefined, ...(hover.last.error ? { error: `${hover.last.error.code} ${hover.last.error.message}` } : {}) },
      definitionRightAfterEdit: series(afterEdits),
      serverErrors: server.errors,
      // maxRSS is in kibibytes.
      peakRss: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    server.stop();
  }
}

// Run as a script (not when imported for its types or functions).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [serverBundle, editFile, navFile] = process.argv.slice(2);
  if (serverBundle === undefined || editFile === undefined || navFile === undefined) throw new Error('usage: lsp-bench.ts SERVER_BUNDLE EDIT_FILE NAV_FILE');
  const results = await benchServer(serverBundle, editFile, navFile);
  process.stdout.write(`${JSON.stringify(results)}\n`);
  // The server stays loaded (its IPC listener is on `process`); nothing is left to wait for.
  process.exit(0);
}
