/**
 * The language server runs the rule-set analysis in the background (server/src/lsp/
 * analysis-scheduler.ts), driven over stdio like lsp-stdio.test.ts (`node dist/cli.cjs lsp
 * --stdio`, which `npm test` builds first). It shows that a version's validity diagnostics are
 * published first and its analysis diagnostics after them, for the same version; and that an edit
 * arriving during a long analysis cancels it, so that no stale result is published and the last
 * diagnostics are those of the latest version. The analysis's findings of the current version
 * have quick fixes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { neutronDump } from '../bench/neutron-dump.ts';
import type { Diagnostic } from '../server/src/core/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/cli.cjs`;
const skip = !existsSync(cli) && 'dist/cli.cjs is missing: run npm run build';

/** The codes only the rule-set analysis produces. */
const ANALYSIS_CODES = new Set(['unreachable-rule', 'shadowed-rule', 'unreachable-chain', 'redundant-rule', 'correlated-rules', 'generalization', 'approximated-rule', 'analysis-skipped']);

interface Published {
  readonly uri: string;
  readonly version?: number;
  readonly diagnostics: { code: string; message: string; range: { start: { line: number } } }[];
}

/** A server on stdio that records every publication and log line, in order. */
class Server {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly conn: MessageConnection;
  /** Everything the server sent that the tests look at, in arrival order. */
  readonly events: ({ kind: 'diagnostics'; p: Published } | { kind: 'log'; message: string })[] = [];
  private wake: (() => void)[] = [];
  stderr = '';

  constructor() {
    this.proc = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: 'pipe' });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout), new StreamMessageWriter(this.proc.stdin));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: Published) => this.push({ kind: 'diagnostics', p }));
    this.conn.onNotification('window/logMessage', (p: { message: string }) => this.push({ kind: 'log', message: p.message }));
    this.conn.onNotification('window/showMessage', () => undefined);
    this.conn.listen();
  }

  private push(e: Server['events'][number]): void {
    this.events.push(e);
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  /** Waits until an event satisfies the predicate (checking those already there first), or fails at the deadline. */
  async waitFor<T>(what: string, find: (events: Server['events']) => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find(this.events);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  /** The diagnostics published for a URI, in order. */
  publications(uri: string): Published[] {
    return this.events.flatMap((e) => (e.kind === 'diagnostics' && e.p.uri === uri ? [e.p] : []));
  }

  async start(): Promise<void> {
    await this.conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await this.conn.sendNotification('initialized', {});
  }

  async open(uri: string, text: string): Promise<void> {
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'iptables', version: 1, text } });
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown', null), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // The process may already be gone; killing it below is enough.
    }
    this.conn.dispose();
    this.proc.kill();
  }
}

const hasAnalysis = (p: Published): boolean => p.diagnostics.some((d) => ANALYSIS_CODES.has(d.code));

test('validity diagnostics are published first, then the analysis of the same version', { skip }, async () => {
  const server = new Server();
  try {
    await server.start();
    const uri = 'file:///tmp/lsp-analysis-small.rules';
    // One validity warning (an unused chain) and one analysis finding (a shadowed rule).
    const text = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':unused - [0:0]', '-A INPUT -p tcp -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -j DROP', 'COMMIT', ''].join('\n');
    await server.open(uri, text);
    const analysed = await server.waitFor('the analysis diagnostics', () => server.publications(uri).find(hasAnalysis), 20_000);
    const all = server.publications(uri);
    const first = all[0];
    assert.equal(first.version, 1);
    assert.deepEqual(first.diagnostics.map((d) => d.code), ['unused-chain'], 'the first publication holds validity only');
    assert.ok(all.indexOf(analysed) > 0, 'the analysis came after the validity publication');
    assert.equal(analysed.version, 1);
    assert.deepEqual(analysed.diagnostics.map((d) => `${d.range.start.line + 1}:${d.code}`).sort(), ['5:unused-chain', '7:shadowed-rule']);
    // Once the analysis of this version is in, its findings have quick fixes: deleting the rule.
    const shadowed = analysed.diagnostics.find((d) => d.code === 'shadowed-rule')!;
    const actions = await server.conn.sendRequest<{ title: string; edit: { changes: Record<string, { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]> } }[]>(
      'textDocument/codeAction',
      { textDocument: { uri }, range: shadowed.range, context: { diagnostics: [shadowed] } },
    );
    const remove = actions.find((a) => a.title === 'Remove this shadowed rule (no packet reaches it)');
    assert.ok(remove, `actions: ${actions.map((a) => a.title).join(', ')}`);
    assert.deepEqual(remove.edit.changes[uri], [{ range: { start: { line: 6, character: 0 }, end: { line: 7, character: 0 } }, newText: '' }]);
  } finally {
    await server.stop();
  }
});

test('an edit during a long analysis cancels it; the last diagnostics are those of the new version', { skip, timeout: 300_000 }, async () => {
  const server = new Server();
  try {
    await server.start();
    const uri = 'file:///tmp/lsp-analysis-neutron.rules';
    const text = neutronDump(3000);
    const lines = text.split('\n');
    await server.open(uri, text);
    // The validity diagnostics of version 1: the analysis of version 1 starts right after them.
    await server.waitFor('validity of version 1', () => server.publications(uri).find((p) => p.version === 1), 120_000);
    assert.ok(!hasAnalysis(server.publications(uri)[0]), 'validity first');
    // At once, an edit that adds a rule the analysis must call shadowed: it follows the unconditional
    // DROP of the fallback chain. The edit goes in right after that DROP.
    const fallback = lines.findIndex((l) => l.startsWith('-A neutron-openvswi-sg-fallback '));
    assert.ok(fallback > 0);
    const sentAt = server.events.length;
    await server.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: fallback + 1, character: 0 }, end: { line: fallback + 1, character: 0 } }, text: '-A neutron-openvswi-sg-fallback -p tcp -j ACCEPT\n' }],
    });
    const final = await server.waitFor('the analysis of version 2', () => server.publications(uri).find((p) => p.version === 2 && p.diagnostics.some((d) => d.code === 'shadowed-rule' && d.range.start.line === fallback + 1)), 240_000);
    // Version 1's analysis was cancelled, not finished: the server said so, and never published it.
    const after = server.events.slice(sentAt);
    assert.ok(after.some((e) => e.kind === 'log' && /analysis of .* version 1 cancelled/.test(e.message)), 'the analysis of version 1 was cancelled');
    assert.ok(!server.publications(uri).some((p) => p.version === 1 && hasAnalysis(p)), 'no analysis of the stale version was published');
    // Nothing stale follows the final publication: a request answered after it sees the same state.
    await server.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } });
    const publications = server.publications(uri);
    assert.equal(publications[publications.length - 1], final, 'the last diagnostics published are the analysis of version 2');
    assert.ok(final.diagnostics.some((d) => d.code === 'missing-ipset'), 'validity diagnostics are merged in');
  } finally {
    await server.stop();
  }
});

test("quick fixes use the analysis of the document's current version only, never a stale one", async () => {
  const { AnalysisScheduler } = await import('../server/src/lsp/analysis-scheduler.ts');
  const { check } = await import('../server/src/core/index.ts');
  const done: number[] = [];
  const scheduler = new AnalysisScheduler(
    { publish: () => undefined, done: (_uri, version) => done.push(version), log: () => undefined, error: (m) => assert.fail(m) },
    { enabled: true, severities: {}, effort: 1 },
    (_old, _new, diags) => [...diags],
  );
  const uri = 'file:///tmp/scheduler.rules';
  const text = ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -j DROP', 'COMMIT', ''].join('\n');
  const until = async (version: number): Promise<void> => {
    while (!done.includes(version)) await new Promise((r) => setTimeout(r, 5));
  };
  assert.deepEqual(scheduler.findings(uri, 1), [], 'nothing before any analysis');
  scheduler.validity(uri, 1, text.split('\n'), check(text, { prepareAnalysis: true }));
  await until(1);
  assert.deepEqual(scheduler.findings(uri, 1).map((d) => `${d.range.start.line}:${d.code}`), ['3:shadowed-rule']);
  // Version 2 is being analysed: version 1's findings are not offered for it.
  const edited = text.replace('-A INPUT -p tcp -j ACCEPT', '-A INPUT -p udp -j ACCEPT');
  scheduler.validity(uri, 2, edited.split('\n'), check(edited, { prepareAnalysis: true }));
  assert.deepEqual(scheduler.findings(uri, 2), [], 'no findings while version 2 is analysed');
  await until(2);
  assert.deepEqual(scheduler.findings(uri, 2).map((d) => `${d.range.start.line}:${d.code}`), ['2:redundant-rule'], "version 2's own findings");
  assert.deepEqual(scheduler.findings(uri, 1), [], 'version 1 is gone');
  scheduler.forget(uri);
});

test('tables an edit leaves alone keep their analysis: the same findings as a fresh analysis, edit after edit (random edits)', async () => {
  const { AnalysisScheduler } = await import('../server/src/lsp/analysis-scheduler.ts');
  const { check, analyse } = await import('../server/src/core/index.ts');
  const { applySeverities } = await import('../server/src/core/diagnostics.ts');
  const { mulberry32 } = await import('../bench/random.ts');
  const rand = mulberry32(221122);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const done: number[] = [];
  const logs: string[] = [];
  // The last publication of each version: the client's diagnostics once the version is complete.
  const published = new Map<number, readonly Diagnostic[]>();
  const scheduler = new AnalysisScheduler(
    { publish: (_uri, version, ds) => published.set(version, ds), done: (_uri, version) => done.push(version), log: (m) => logs.push(m), error: (m) => assert.fail(m) },
    { enabled: true, severities: { 'correlated-rules': 'hint' }, effort: 1 },
    (_old, _new, diags) => [...diags],
  );
  const until = async (version: number): Promise<void> => {
    while (!done.includes(version)) await new Promise((r) => setTimeout(r, 1));
  };
  const rules = ['-A INPUT -p tcp -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -j DROP', '-A INPUT -s 10.0.0.0/8 -j u', '-A u -p udp -j RETURN', '-A u -j DROP', '-A INPUT -j ACCEPT', '-A INPUT -p tcp --dport 70000 -j ACCEPT', '-A INPUT -j nosuchchain'];
  const natRules = ['-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.1', '-A PREROUTING -p tcp -m tcp --dport 80 -j ACCEPT', '-A POSTROUTING -j MASQUERADE', '-A POSTROUTING -o eth0 -j MASQUERADE'];
  const table = (name: string, chains: string[], body: string[]): string[] => [`*${name}`, ...chains.map((c) => `:${c} ${c === 'u' ? '-' : 'ACCEPT'} [0:0]`), ...body, 'COMMIT'];
  let lines = [...table('filter', ['INPUT', 'FORWARD', 'OUTPUT', 'u'], rules.slice(0, 6)), ...table('nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], natRules), ...table('raw', ['PREROUTING', 'OUTPUT'], ['-A PREROUTING -j CT --notrack', '-A PREROUTING -p udp -j ACCEPT']), ...table('filter', ['INPUT', 'FORWARD', 'OUTPUT', 'u'], rules.slice(2, 5)), ''];
  const uri = 'file:///tmp/tables.rules';
  const key = (d: { range: { start: { line: number; character: number } }; code: string; severity: string; message: string; related?: readonly { range: { start: { line: number } }; message: string }[] }): string =>
    `${d.range.start.line}:${d.range.start.character}:${d.severity}:${d.code}:${d.message}:${(d.related ?? []).map((r) => `${r.range.start.line}:${r.message}`).join('|')}`;
  let kept = 0;
  let replayed = 0;
  let fromPrevious = 0;
  let previous: Awaited<ReturnType<typeof check>> | undefined;
  for (let version = 1; version <= 120; version++) {
    const r = rand();
    const at = Math.floor(rand() * lines.length);
    if (r < 0.35) lines.splice(at, 0, pick([...rules, ...natRules]));
    else if (r < 0.6) lines.splice(at, 1);
    else if (r < 0.7) lines.splice(at, 0, pick(['COMMIT', '*mangle', '*nat', ':u - [0:0]', '']));
    else if (r < 0.8) lines = [...lines.slice(at), ...lines.slice(0, at)];
    else if (r < 0.85) lines[at] = (lines[at] ?? '') + pick([' ', 'x', ' -j DROP']);
    // A rule changed in place, still valid: the table's lines differ, nothing else does.
    else if (r < 0.95) lines[at] = /-p tcp/.test(lines[at] ?? '') ? lines[at].replace('-p tcp', '-p udp') : (lines[at] ?? '').replace('-p udp', '-p tcp');
    // Otherwise the same text again.
    const text = lines.join('\n');
    // Checked as the server checks: from the check of the version before when the edit allows it (core/incremental.ts).
    const checked = check(text, { prepareAnalysis: true, severities: { 'correlated-rules': 'hint' }, incremental: true, previous, lines: [...lines] });
    if (checked.incremental?.fromPrevious) fromPrevious++;
    previous = checked;
    scheduler.validity(uri, version, lines, checked);
    await until(version);
    const full = check(text, { analyses: false, severities: { 'correlated-rules': 'hint' } });
    const errorLines = new Set(full.diagnostics.filter((d) => d.severity === 'error').map((d) => d.range.start.line));
    const fresh = applySeverities(analyse(full.model, { errorLines, reachability: false }).diagnostics, { 'correlated-rules': 'hint' });
    assert.deepEqual(scheduler.findings(uri, version).map(key).sort(), fresh.map(key).sort(), `version ${version}:\n${text}`);
    // What the client has: validity and findings, whether the analysis's publication was needed or not.
    assert.deepEqual(published.get(version)?.map(key).sort(), [...full.diagnostics, ...fresh].map(key).sort(), `published, version ${version}:\n${text}`);
    const m = /\((\d+) findings; (\d+) of (\d+) tables unchanged[;)]/.exec(logs.at(-1) ?? '');
    if (m && Number(m[2]) > 0) kept++;
    // Tables analysed again replay the walks of the chains the edit left alone (analysis/memo.ts).
    const w = /(\d+) of (\d+) chain walks replayed/.exec(logs.at(-1) ?? '');
    if (w) replayed += Number(w[1]);
  }
  scheduler.forget(uri);
  assert.ok(kept > 40, `tables were kept in ${kept} of 120 versions`);
  assert.ok(replayed > 5, `only ${replayed} chain walks were replayed`);
  assert.ok(fromPrevious > 3, `only ${fromPrevious} checks were made from the check before`);
});

test('a version whose analysis finds just what was carried onto it is published once, with its validity', async () => {
  const { AnalysisScheduler } = await import('../server/src/lsp/analysis-scheduler.ts');
  const { shiftToEdit } = await import('../server/src/lsp/server.ts');
  const { check } = await import('../server/src/core/index.ts');
  const done: number[] = [];
  const logs: string[] = [];
  const publications: { version: number; diagnostics: readonly Diagnostic[] }[] = [];
  const scheduler = new AnalysisScheduler(
    { publish: (_uri, version, diagnostics) => publications.push({ version, diagnostics }), done: (_uri, version) => done.push(version), log: (m) => logs.push(m), error: (m) => assert.fail(m) },
    { enabled: true, severities: {}, effort: 1 },
    shiftToEdit,
  );
  const uri = 'file:///tmp/published-once.rules';
  const run = async (version: number, lines: string[]): Promise<void> => {
    scheduler.validity(uri, version, lines, check(lines.join('\n'), { prepareAnalysis: true }));
    while (!done.includes(version)) await new Promise((r) => setTimeout(r, 1));
  };
  const key = (d: Diagnostic): string => `${d.range.start.line}:${d.range.start.character}:${d.code}:${d.message}`;
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A INPUT -p tcp -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -j DROP', '-A OUTPUT -p udp -m comment --comment "out" -j DROP', 'COMMIT', ''];
  await run(1, lines);
  // Version 1: validity, then the analysis's finding (a shadowed rule) in a second publication.
  assert.deepEqual(publications.map((p) => p.version), [1, 1]);
  assert.ok(publications[1].diagnostics.some((d) => d.code === 'shadowed-rule'));
  // A comment edited elsewhere: the same finding, carried onto version 2 with its validity, is not sent again.
  await run(2, lines.map((l) => l.replace('"out"', '"out, typed"')));
  assert.deepEqual(publications.map((p) => p.version), [1, 1, 2]);
  assert.match(logs.at(-1) ?? '', /nothing new to publish/);
  assert.deepEqual(publications[2].diagnostics.map(key), publications[1].diagnostics.map(key));
  // A port edited so that the rule is no longer shadowed: the analysis's publication is needed.
  await run(3, lines.map((l) => l.replace('-p tcp -j ACCEPT', '-p tcp --dport 80 -j ACCEPT')));
  assert.deepEqual(publications.map((p) => p.version), [1, 1, 2, 3, 3]);
  assert.ok(!publications[4].diagnostics.some((d) => d.code === 'shadowed-rule'));
  scheduler.forget(uri);
});

test('a table keeps its analysis only when its own lines are unchanged: a rule changed in place is analysed again, the other table is not', async () => {
  const { AnalysisScheduler } = await import('../server/src/lsp/analysis-scheduler.ts');
  const { check } = await import('../server/src/core/index.ts');
  const done: number[] = [];
  const logs: string[] = [];
  const scheduler = new AnalysisScheduler(
    { publish: () => undefined, done: (_uri, version) => done.push(version), log: (m) => logs.push(m), error: (m) => assert.fail(m) },
    { enabled: true, severities: {}, effort: 1 },
    (_old, _new, diags) => [...diags],
  );
  const uri = 'file:///tmp/two-tables.rules';
  const v1 = ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -j DROP', 'COMMIT', '*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -j MASQUERADE', '-A POSTROUTING -o eth0 -j MASQUERADE', 'COMMIT', ''];
  const v2 = v1.map((l) => l.replace('-A INPUT -p tcp -j ACCEPT', '-A INPUT -p udp -j ACCEPT'));
  const run = async (version: number, lines: string[]): Promise<string[]> => {
    scheduler.validity(uri, version, lines, check(lines.join('\n'), { prepareAnalysis: true }));
    while (!done.includes(version)) await new Promise((r) => setTimeout(r, 1));
    return scheduler.findings(uri, version).map((d) => `${d.range.start.line}:${d.code}`);
  };
  assert.deepEqual(await run(1, v1), ['3:shadowed-rule', '8:unreachable-rule']);
  assert.deepEqual(await run(2, v2), ['2:redundant-rule', '8:unreachable-rule']);
  assert.match(logs.at(-1) ?? '', /1 of 2 tables unchanged/);
  scheduler.forget(uri);
});

test('after an edit of a big document, a full check that finds just what was published at once sends nothing again; one that finds more publishes it', { skip, timeout: 180_000 }, async () => {
  const uri = 'file:///tmp/lsp-early.rules';
  // 2,664 lines: more than the server's fast path needs (it publishes at once after each edit).
  const lines = neutronDump(100).split('\n');
  const analysed = (server: Server, version: number): Promise<number> =>
    server.waitFor(`the analysis of version ${version}`, (events) => {
      const i = events.findIndex((e) => e.kind === 'log' && e.message.includes(`analysed ${uri} version ${version} `));
      return i >= 0 ? i : undefined;
    }, 90_000);
  const server = new Server();
  try {
    await server.start();
    await server.open(uri, lines.join('\n'));
    await analysed(server, 1);
    const edit = async (version: number, at: number, text: string): Promise<Published[]> => {
      const before = lines[at];
      lines[at] = text;
      await server.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [{ range: { start: { line: at, character: 0 }, end: { line: at, character: before.length } }, text }],
      });
      await analysed(server, version);
      return server.publications(uri).filter((p) => p.version === version);
    };
    const key = (p: Published): string[] => p.diagnostics.map((d) => `${d.range.start.line}:${d.code}:${d.message}`).sort();
    // Version 1's complete diagnostics: published after the log line of its analysis.
    const last = await server.waitFor('the analysis findings of version 1', () => server.publications(uri).find((p) => p.version === 1 && p.diagnostics.some((d) => ANALYSIS_CODES.has(d.code))), 60_000);
    // A port typed: the full check and the analysis find what was published right after the edit.
    const port = lines.findIndex((l) => / --dport 22 /.test(l));
    assert.ok(port >= 0, 'the dump has a rule for port 22');
    const v2 = await edit(2, port, lines[port].replace(' --dport 22 ', ' --dport 23 '));
    assert.equal(v2.length, 1, 'version 2 is published once, right after the edit');
    assert.deepEqual(key(v2[0]), key(last));
    // A jump to a chain that does not exist: only the full check of the table finds it.
    const jump = lines.findIndex((l, i) => i > lines.length / 2 && / -j RETURN$/.test(l));
    assert.ok(jump >= 0, 'the dump has a RETURN rule');
    const v3 = await edit(3, jump, lines[jump].replace(/ -j RETURN$/, ' -j nosuchchain'));
    assert.ok(v3.length >= 2, `version 3 is published again after its full check (${v3.length} publications)`);
    assert.ok(v3.at(-1)!.diagnostics.some((d) => d.code === 'undefined-chain' && d.range.start.line === jump));
    assert.ok(!v3[0].diagnostics.some((d) => d.code === 'undefined-chain'), 'the first publication did not have it');
  } finally {
    await server.stop();
  }
});

test('edits within rules, each checked from the last check (core/incremental.ts), end with the diagnostics a fresh server gives the same text', { skip, timeout: 120_000 }, async () => {
  const uri = 'file:///tmp/lsp-incremental.rules';
  const lines = neutronDump(20).split('\n');
  // The log line of a version's analysis, and the version's complete diagnostics: the publication
  // that follows the log line or, when the log says there was nothing new to publish, the one
  // before it (the version's validity, with the findings carried onto it).
  const analysed = async (server: Server, version: number): Promise<{ log: string; complete: Published }> => {
    const at = await server.waitFor(`the analysis of version ${version}`, (events) => {
      const i = events.findIndex((e) => e.kind === 'log' && e.message.includes(`analysed ${uri} version ${version} `));
      return i >= 0 ? i : undefined;
    }, 60_000);
    const logged = server.events[at];
    const unchanged = logged.kind === 'log' && logged.message.includes('nothing new to publish');
    const complete = await server.waitFor(`the complete diagnostics of version ${version}`, (events) => {
      const mine = (x: Server['events'][number]): boolean => x.kind === 'diagnostics' && x.p.uri === uri && x.p.version === version;
      const e = unchanged ? events.slice(0, at).reverse().find(mine) : events.slice(at + 1).find(mine);
      return e?.kind === 'diagnostics' ? e.p : undefined;
    }, 60_000);
    const log = server.events[at];
    return { log: log.kind === 'log' ? log.message : '', complete };
  };
  const key = (p: Published): string[] => p.diagnostics.map((d) => `${d.range.start.line}:${d.code}:${d.message}`).sort();
  const edited = new Server();
  const fresh = new Server();
  try {
    await edited.start();
    await edited.open(uri, lines.join('\n'));
    await analysed(edited, 1);
    // Typing within rules: a port, a comment, an option added, an address.
    const rule = (pattern: RegExp): number => lines.findIndex((l, i) => i > lines.length / 3 && pattern.test(l));
    const edits: [number, (l: string) => string][] = [
      [rule(/--dport 22 /), (l) => l.replace('--dport 22 ', '--dport 2222 ')],
      [rule(/--comment "/), (l) => l.replace('--comment "', '--comment "typed ')],
      [rule(/-j RETURN$/), (l) => l.replace(/ -j RETURN$/, ' -m comment --comment "allowed" -j RETURN')],
      [rule(/-s \d+\.\d+\.\d+\.\d+\/\d+/), (l) => l.replace(/-s \d+\.\d+\.\d+\.\d+\/\d+/, '-s 10.99.0.0/16')],
    ];
    let version = 1;
    let fromLast = 0;
    let result: Published | undefined;
    for (const [at, change] of edits) {
      assert.ok(at >= 0, 'the dump has a rule to edit');
      const before = lines[at];
      lines[at] = change(before);
      version++;
      await edited.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [{ range: { start: { line: at, character: 0 }, end: { line: at, character: before.length } }, text: lines[at] }],
      });
      const { log, complete } = await analysed(edited, version);
      if (log.includes('checked from the last check')) fromLast++;
      result = complete;
    }
    assert.equal(fromLast, edits.length, 'every edit was checked from the last check');
    await fresh.start();
    await fresh.open(uri, lines.join('\n'));
    const expected = (await analysed(fresh, 1)).complete;
    assert.ok(expected.diagnostics.some((d) => ANALYSIS_CODES.has(d.code)), 'the dump has analysis findings to compare');
    assert.deepEqual(key(result!), key(expected));
  } finally {
    await edited.stop();
    await fresh.stop();
  }
});
