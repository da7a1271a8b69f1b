/**
 * Requests that arrive right after an edit go before the edit's publications. On a big dump the
 * diagnostics of one version are several megabytes of JSON: published first, they made a
 * definition asked right after an edit wait for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InProcessServer } from '../bench/lsp-driver.ts';
import { neutronDump } from '../bench/neutron-dump.ts';
import { afterPending } from '../server/src/lsp/server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}dist/server.cjs`;
const skip = !existsSync(bundle) && 'dist/server.cjs is missing: run npm run build';

/** Resolves once the event loop has gone round `turns` times more (nested immediates). */
const turns = (n: number): Promise<void> => new Promise((resolve) => (n <= 0 ? resolve() : setImmediate(() => void turns(n - 1).then(resolve))));

test('afterPending runs after the given turns of the event loop, after what the caller queued next, unless cancelled', async () => {
  const order: string[] = [];
  // As vscode-jsonrpc does: the next message is handled in an immediate queued after the handler.
  afterPending(() => order.push('two turns'), 2);
  afterPending(() => order.push('one turn'), 1);
  const cancel = afterPending(() => order.push('cancelled'), 2);
  setImmediate(() => order.push('next message'));
  cancel();
  await turns(5);
  assert.deepEqual(order, ['one turn', 'next message', 'two turns']);
});

test('a definition asked right after an edit of a big document is answered before the edit is published, from the edited text', { skip, timeout: 180_000 }, async () => {
  const server = await InProcessServer.start(bundle);
  try {
    const uri = 'file:///tmp/lsp-responsiveness.rules';
    // 2,664 lines: over the size from which the server publishes per-line diagnostics after each edit.
    const lines = neutronDump(100).split('\n');
    let complete = server.diagnosticsComplete(uri, 1);
    server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'iptables', version: 1, text: lines.join('\n') } });
    await complete;

    // A jump of the dispatch chain sent to the fallback chain instead: the definition at its
    // target must be the fallback chain's declaration, which the text before the edit does not say.
    const at = lines.findIndex((l) => l.startsWith('-A neutron-openvswi-FORWARD ') && l.endsWith(' -j neutron-openvswi-sg-chain'));
    const fallback = lines.findIndex((l) => l.startsWith(':neutron-openvswi-sg-fallback '));
    assert.ok(at >= 0 && fallback >= 0, 'the dump has a jump to the security-group chain and the fallback chain');
    const from = lines[at].lastIndexOf('neutron-openvswi-sg-chain');
    const edited = `${lines[at].slice(0, from)}neutron-openvswi-sg-fallback`;

    const order: string[] = [];
    const published = server.nextDiagnostics(uri, 2).then(() => order.push('diagnostics'));
    complete = server.diagnosticsComplete(uri, 2);
    server.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: at, character: 0 }, end: { line: at, character: lines[at].length } }, text: edited }],
    });
    const definition = await server.request<{ range: { start: { line: number } } } | { range: { start: { line: number } } }[]>('textDocument/definition', {
      textDocument: { uri },
      position: { line: at, character: from + 3 },
    });
    order.push('definition');
    await published;
    await complete;

    assert.deepEqual(order, ['definition', 'diagnostics'], 'the definition was answered after the edit was published');
    const found = Array.isArray(definition.result) ? definition.result[0] : definition.result;
    assert.equal(found?.range.start.line, fallback, 'the definition is that of the edited text');
    assert.deepEqual(server.errors, []);
  } finally {
    server.stop();
  }
});
