/**
 * End-to-end test of the standalone server: spawns `node dist/cli.cjs lsp --stdio` (the bundle
 * `npm test` builds first) and speaks plain LSP to it, as Neovim, Emacs or Helix would. On a
 * Neutron compute-node dump from examples/ it checks initialize, pushed diagnostics with stable
 * codes, definition, references, rename, documentSymbol, hover, completion, call hierarchy,
 * formatting, code actions, folding, semantic tokens, inlay hints, code lenses, incremental
 * edits, and that a failing request does not kill the server. A second test opens a generated
 * 5,000-port dump (about 130,000 lines) and times the first diagnostics and navigation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { neutronDump } from './editor/neutron-dump.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/cli.cjs`;
const examplePath = `${root}examples/compute-node-ovs-hybrid.rules`;

interface Pos { line: number; character: number }
interface Rng { start: Pos; end: Pos }
interface PublishedDiagnostics { uri: string; version?: number; diagnostics: { code: string; range: Rng; message: string }[] }

/** A running server with a JSON-RPC connection and the diagnostics it has pushed. */
class Server {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly conn: MessageConnection;
  readonly published = new Map<string, PublishedDiagnostics>();
  private waiters: { uri: string; resolve: (p: PublishedDiagnostics) => void }[] = [];
  stderr = '';

  constructor() {
    this.proc = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: 'pipe' });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout), new StreamMessageWriter(this.proc.stdin));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: PublishedDiagnostics) => {
      this.published.set(p.uri, p);
      this.waiters = this.waiters.filter((w) => (w.uri === p.uri ? (w.resolve(p), false) : true));
    });
    this.conn.onNotification('window/logMessage', () => undefined);
    this.conn.onNotification('window/showMessage', () => undefined);
    this.conn.listen();
  }

  /** The next diagnostics pushed for a URI. */
  nextDiagnostics(uri: string, timeoutMs: number): Promise<PublishedDiagnostics> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ uri, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.conn.sendRequest(method, params) as Promise<R>;
  }

  async initialize(): Promise<{ capabilities: Record<string, unknown> }> {
    const r = await this.request<{ capabilities: Record<string, unknown> }>('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await this.conn.sendNotification('initialized', {});
    return r;
  }

  async open(uri: string, text: string): Promise<void> {
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'iptables', version: 1, text } });
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.request('shutdown', null), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // The process may already be gone; killing it below is enough.
    }
    this.conn.dispose();
    this.proc.kill();
  }
}

/** Finds the 0-based position of the `n`-th occurrence of `needle` in `text` (plus an offset). */
function posOf(text: string, needle: string, offset = 0, n = 0): Pos {
  let at = -1;
  for (let k = 0; k <= n; k++) at = text.indexOf(needle, at + 1);
  assert.ok(at >= 0, `'${needle}' not found`);
  const before = text.slice(0, at + offset);
  const line = before.split('\n').length - 1;
  return { line, character: before.length - before.lastIndexOf('\n') - 1 };
}

test('stdio server: every request on a Neutron compute-node dump', { skip: !existsSync(cli) && 'dist/cli.cjs is missing: run npm run build' }, async () => {
  const server = new Server();
  try {
    const init = await server.initialize();
    const caps = init.capabilities;
    for (const c of ['definitionProvider', 'referencesProvider', 'renameProvider', 'documentSymbolProvider', 'workspaceSymbolProvider', 'callHierarchyProvider', 'documentHighlightProvider', 'hoverProvider', 'completionProvider', 'foldingRangeProvider', 'semanticTokensProvider', 'documentFormattingProvider', 'codeActionProvider', 'inlayHintProvider', 'codeLensProvider']) {
      assert.ok(caps[c], `capability ${c}`);
    }
    assert.equal(caps.textDocumentSync, 2, 'incremental sync');

    // A Neutron dump with one deliberate error: a jump to a chain that is not declared.
    const text = readFileSync(examplePath, 'utf8').replace('-A neutron-openvswi-sg-chain -j ACCEPT', '-A neutron-openvswi-sg-chain -j neutron-openvswi-missing\n-A neutron-openvswi-sg-chain -j ACCEPT');
    const uri = pathToFileURL(examplePath).href;
    const first = server.nextDiagnostics(uri, 10_000);
    await server.open(uri, text);
    const diags = await first;
    // The dump uses an ipset, which always gets the missing-ipset warning.
    assert.deepEqual(diags.diagnostics.map((d) => d.code).sort(), ['missing-ipset', 'undefined-chain']);
    const td = { textDocument: { uri } };

    // Definition from a jump target and from the chain of -A.
    const sgDecl = posOf(text, ':neutron-openvswi-sg-chain', 1);
    const jump = posOf(text, '-j neutron-openvswi-sg-chain', 3);
    const def = await server.request<{ uri: string; range: Rng }>('textDocument/definition', { ...td, position: jump });
    assert.equal(def.uri, uri);
    assert.deepEqual(def.range, { start: sgDecl, end: { line: sgDecl.line, character: sgDecl.character + 'neutron-openvswi-sg-chain'.length } });
    const fromCommand = await server.request<{ range: Rng }>('textDocument/definition', { ...td, position: posOf(text, '-A neutron-openvswi-sg-chain', 3) });
    assert.deepEqual(fromCommand.range.start, sgDecl);

    // References: the declaration, two jumps and the chain's own -A lines (three plus the new one).
    const refs = await server.request<{ range: Rng }[]>('textDocument/references', { ...td, position: jump, context: { includeDeclaration: true } });
    assert.equal(refs.length, 1 + 2 + 4);
    const highlights = await server.request<{ kind: number }[]>('textDocument/documentHighlight', { ...td, position: jump });
    assert.equal(highlights.length, refs.length);

    // Rename: prepare, then edits for every occurrence in the filter table.
    const prep = await server.request<{ range: Rng; placeholder: string }>('textDocument/prepareRename', { ...td, position: jump });
    assert.equal(prep.placeholder, 'neutron-openvswi-sg-chain');
    const rename = await server.request<{ changes: Record<string, { newText: string }[]> }>('textDocument/rename', { ...td, position: jump, newName: 'sg-renamed' });
    assert.equal(rename.changes[uri].length, refs.length);
    assert.ok(rename.changes[uri].every((e) => e.newText === 'sg-renamed'));
    await assert.rejects(server.request('textDocument/rename', { ...td, position: posOf(text, '-A FORWARD', 3), newName: 'X' }), /builtin/);

    // Document symbols: filter, nat and raw with their chains.
    const symbols = await server.request<{ name: string; children: { name: string; detail: string }[] }[]>('textDocument/documentSymbol', td);
    assert.deepEqual(symbols.map((s) => s.name), ['filter', 'nat', 'raw']);
    assert.equal(symbols[0].children.find((c) => c.name === 'INPUT')?.detail, 'policy ACCEPT, 1 rule');
    const ws = await server.request<{ name: string }[]>('workspace/symbol', { query: 'sg-fallback' });
    assert.deepEqual(ws.map((s) => s.name), ['neutron-openvswi-sg-fallback']);

    // Hover on a rule: the plain-English reading.
    const ssh = posOf(text, '-p tcp -m tcp --dport 22 -j RETURN');
    const hover = await server.request<{ contents: { kind: string; value: string } }>('textDocument/hover', { ...td, position: ssh });
    assert.equal(hover.contents.kind, 'markdown');
    assert.match(hover.contents.value, /\n\nReturns TCP packets to port 22 to the calling chain\.$/);
    const chainHover = await server.request<{ contents: { value: string } }>('textDocument/hover', { ...td, position: jump });
    assert.match(chainHover.contents.value, /called by 2 rules in 1 chain: `neutron-openvswi-FORWARD`/);

    // Completion after -m and after -j.
    const lineOfSsh = text.split('\n')[ssh.line];
    const mPos = { line: ssh.line, character: lineOfSsh.indexOf('-m tcp') + 3 };
    const modules = await server.request<{ items: { label: string }[] }>('textDocument/completion', { ...td, position: mPos });
    assert.ok(modules.items.some((i) => i.label === 'multiport'));
    const jPos = { line: ssh.line, character: lineOfSsh.indexOf('RETURN') };
    const targets = await server.request<{ items: { label: string }[] }>('textDocument/completion', { ...td, position: jPos });
    assert.ok(targets.items.some((i) => i.label === 'neutron-openvswi-sg-fallback'));
    assert.ok(targets.items.some((i) => i.label === 'ACCEPT'));

    // Call hierarchy: sg-chain is called from neutron-openvswi-FORWARD and calls the per-port chains.
    const items = await server.request<{ name: string }[]>('textDocument/prepareCallHierarchy', { ...td, position: jump });
    assert.equal(items[0].name, 'neutron-openvswi-sg-chain');
    const incoming = await server.request<{ from: { name: string }; fromRanges: Rng[] }[]>('callHierarchy/incomingCalls', { item: items[0] });
    assert.deepEqual(incoming.map((c) => [c.from.name, c.fromRanges.length]), [['neutron-openvswi-FORWARD', 2]]);
    const outgoing = await server.request<{ to: { name: string } }[]>('callHierarchy/outgoingCalls', { item: items[0] });
    assert.deepEqual(outgoing.map((c) => c.to.name).sort(), ['neutron-openvswi-i5f2a4e0c-8', 'neutron-openvswi-o5f2a4e0c-8']);

    // Formatting: the dump is canonical already; a respaced line comes back as one edit.
    assert.deepEqual(await server.request('textDocument/formatting', { ...td, options: { tabSize: 2, insertSpaces: true } }), []);

    // Code actions: declaring the missing chain fixes the diagnostic.
    const bad = diags.diagnostics.find((d) => d.code === 'undefined-chain')!;
    const actions = await server.request<{ title: string; kind: string; edit: { changes: Record<string, { range: Rng; newText: string }[]> } }[]>('textDocument/codeAction', { ...td, range: bad.range, context: { diagnostics: [bad] } });
    assert.ok(actions.some((a) => a.title === "Declare chain 'neutron-openvswi-missing' in table filter"));
    assert.ok(actions.some((a) => a.kind === 'source.fixAll'));

    // Folding, semantic tokens (full and range), inlay hints and code lenses answer.
    const folds = await server.request<{ startLine: number; endLine: number }[]>('textDocument/foldingRange', td);
    assert.ok(folds.length >= 3);
    const tokens = await server.request<{ resultId?: string; data: number[] }>('textDocument/semanticTokens/full', td);
    assert.ok(tokens.data.length > 100 && tokens.data.length % 5 === 0);
    const rangeTokens = await server.request<{ data: number[] }>('textDocument/semanticTokens/range', { ...td, range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } } });
    assert.ok(rangeTokens.data.length > 0 && rangeTokens.data.length < tokens.data.length);
    const lenses = await server.request<{ range: Rng; data: unknown }[]>('textDocument/codeLens', td);
    const sgLens = lenses.find((l) => l.range.start.line === sgDecl.line)!;
    const resolved = await server.request<{ command: { title: string; arguments: unknown[] } }>('codeLens/resolve', sgLens);
    assert.equal(resolved.command.title, '2 jumps here · 4 rules · Neutron security-group dispatch');
    assert.deepEqual(await server.request('textDocument/inlayHint', { ...td, range: { start: { line: 0, character: 0 }, end: { line: 200, character: 0 } } }), []);

    // Incremental edit: respace a line and fix the missing chain; diagnostics follow the new version.
    const sshLine = text.split('\n')[ssh.line];
    const next = server.nextDiagnostics(uri, 10_000);
    await server.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [
        { range: { start: { line: ssh.line, character: 0 }, end: { line: ssh.line, character: sshLine.length } }, text: sshLine.replace(/ /g, '   ') },
        { range: { start: { line: sgDecl.line, character: 0 }, end: { line: sgDecl.line, character: 0 } }, text: ':neutron-openvswi-missing - [0:0]\n' },
      ],
    });
    const after = await next;
    assert.equal(after.version, 2);
    assert.deepEqual(after.diagnostics.map((d) => d.code), ['missing-ipset']);
    const fmt = await server.request<{ range: Rng; newText: string }[]>('textDocument/formatting', { ...td, options: { tabSize: 2, insertSpaces: true } });
    assert.deepEqual(fmt.map((e) => e.newText), [sshLine]);
    // Semantic tokens after the edit, as the changes since the result before it: applied to that
    // result, they give the new version's tokens; they are a small part of them.
    type TokenEdits = { resultId?: string; edits?: { start: number; deleteCount: number; data?: number[] }[]; data?: number[] };
    const delta = await server.request<TokenEdits>('textDocument/semanticTokens/full/delta', { ...td, previousResultId: tokens.resultId });
    assert.ok(delta.edits && delta.edits.length > 0, 'the answer is edits of the previous result');
    const patched = [...tokens.data];
    for (const e of [...delta.edits].sort((a, b) => b.start - a.start)) patched.splice(e.start, e.deleteCount, ...(e.data ?? []));
    // A result the server does not hold (right after edits were sent): all tokens.
    const unknown = await server.request<TokenEdits>('textDocument/semanticTokens/full/delta', { ...td, previousResultId: 'no-such-result' });
    const fresh = await server.request<{ data: number[] }>('textDocument/semanticTokens/full', td);
    assert.deepEqual(patched, fresh.data);
    assert.ok(delta.edits.reduce((n, e) => n + (e.data?.length ?? 0), 0) < fresh.data.length / 4);
    assert.deepEqual(unknown.data, fresh.data);

    // A request on an unknown document or a bad position answers null instead of killing the server.
    assert.equal(await server.request('textDocument/definition', { textDocument: { uri: 'file:///nope.rules' }, position: { line: 0, character: 0 } }), null);
    assert.equal(await server.request('textDocument/hover', { ...td, position: { line: 99999, character: 5 } }), null);
    assert.ok(await server.request('textDocument/documentSymbol', td));
  } finally {
    await server.stop();
  }
});

test('stdio server: a 5,000-port Neutron dump (about 130,000 lines) opens, checks and navigates', { skip: !existsSync(cli) && 'dist/cli.cjs is missing: run npm run build' }, async () => {
  const server = new Server();
  try {
    await server.initialize();
    const text = neutronDump(5000);
    assert.ok(text.split('\n').length > 120_000);
    const uri = 'file:///tmp/neutron-5000-ports.rules';
    const t0 = performance.now();
    const first = server.nextDiagnostics(uri, 60_000);
    await server.open(uri, text);
    const diags = await first;
    const firstDiagnosticsMs = performance.now() - t0;
    assert.deepEqual(diags.diagnostics.map((d) => d.code), []);
    const td = { textDocument: { uri } };
    const target = posOf(text, '-j neutron-openvswi-o00001000-8', 3);
    const times: Record<string, number> = {};
    const timed = async <R>(name: string, method: string, params: unknown): Promise<R> => {
      const s = performance.now();
      const r = await server.request<R>(method, params);
      times[name] = Math.round(performance.now() - s);
      return r;
    };
    const def = await timed<{ range: Rng }>('definition', 'textDocument/definition', { ...td, position: target });
    assert.deepEqual(def.range.start, posOf(text, ':neutron-openvswi-o00001000-8', 1));
    const refs = await timed<unknown[]>('references', 'textDocument/references', { ...td, position: target, context: { includeDeclaration: true } });
    assert.equal(refs.length, 1 + 1 + 1 + 8);
    await timed('hover', 'textDocument/hover', { ...td, position: target });
    await timed('rename', 'textDocument/rename', { ...td, position: target, newName: 'renamed-chain' });
    await timed('completion', 'textDocument/completion', { ...td, position: { line: target.line, character: target.character } });
    const symbols = await timed<{ children: unknown[] }[]>('documentSymbol', 'textDocument/documentSymbol', td);
    assert.equal(symbols[0].children.length, 3 + 7 + 15_000);
    await timed('semanticTokensRange', 'textDocument/semanticTokens/range', { ...td, range: { start: { line: 60_000, character: 0 }, end: { line: 60_100, character: 0 } } });
    await timed('codeLens', 'textDocument/codeLens', td);
    await timed('foldingRange', 'textDocument/foldingRange', td);
    console.log(`# 5,000-port dump: first diagnostics after ${Math.round(firstDiagnosticsMs)} ms; requests (ms): ${JSON.stringify(times)}`);
    // Navigation on the cached model must be well under a second.
    for (const k of ['definition', 'references', 'hover', 'rename', 'completion']) assert.ok(times[k] < 1000, `${k} took ${times[k]} ms`);
    assert.ok(firstDiagnosticsMs < 30_000, `first diagnostics took ${firstDiagnosticsMs} ms`);
  } finally {
    await server.stop();
  }
});

test('stdio server: a file with a lone carriage return gets no edits (the editor counts it as a line break, iptables does not)', { skip: !existsSync(cli) && 'dist/cli.cjs is missing: run npm run build' }, async () => {
  const server = new Server();
  try {
    await server.initialize();
    const text = '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -p tcp\r -j A\n-A  A   -j ACCEPT\nCOMMIT\n';
    const uri = 'file:///tmp/lone-cr.rules';
    const first = server.nextDiagnostics(uri, 10_000);
    await server.open(uri, text);
    assert.ok((await first).diagnostics.some((d) => d.code === 'carriage-return'));
    const td = { textDocument: { uri } };
    const at = { line: 2, character: 1 };
    await assert.rejects(server.request('textDocument/prepareRename', { ...td, position: at }), /carriage return/);
    await assert.rejects(server.request('textDocument/rename', { ...td, position: at, newName: 'B' }), /carriage return/);
    assert.equal(await server.request('textDocument/formatting', { ...td, options: { tabSize: 2, insertSpaces: true } }), null);
    assert.deepEqual(await server.request('textDocument/codeAction', { ...td, range: { start: { line: 0, character: 0 }, end: { line: 5, character: 0 } }, context: { diagnostics: [] } }), []);
    // Reading requests still answer.
    const def = await server.request<{ range: Rng } | null>('textDocument/definition', { ...td, position: at });
    assert.ok(def);
  } finally {
    await server.stop();
  }
});
