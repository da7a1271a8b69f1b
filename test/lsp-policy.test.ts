/**
 * The language server on `neutron-policy` documents: spawns the bundled server over stdio (like
 * lsp-stdio.test.ts, so run `npm run build` first), opens a `.policy` file and checks its
 * diagnostics, go to definition and hover — and that no iptables diagnostic leaks into it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { readPolicy } from '../server/src/core/policy/index.ts';
import { policyDefinitionAt, policyHoverAt } from '../server/src/core/policy/navigation.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}dist/cli.cjs`;

const TEXT = [
  'network net1 {',
  '  id 9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff',
  '  cidr 10.0.0.0/24',
  '}',
  'security-group web {',
  '  id a1b2c3d4-0000-1111-2222-333344445555',
  '  ingress tcp port 99999',
  '  ingress from group web',
  '}',
  'port vm1 {',
  '  id 5f2a4e0c-8d3b-4c1e-9a7f-1b2c3d4e5f60',
  '  network net1',
  '  mac fa:16:3e:11:22:33',
  '  ip 10.0.0.5',
  '  security-groups web',
  '}',
  '',
].join('\n');

test('core navigation: definition and hover of a reference', () => {
  const res = readPolicy(TEXT);
  assert.deepEqual(policyDefinitionAt(res, { line: 14, character: 20 }), { start: { line: 4, character: 15 }, end: { line: 4, character: 18 } });
  const h = policyHoverAt(res, { line: 11, character: 11 });
  assert.ok(h);
  assert.match(h.markdown, /\*\*network\*\* `net1`/);
  assert.match(h.markdown, /bridge `brq9e8d7c6b-aa`/);
  const port = policyHoverAt(res, { line: 9, character: 6 });
  assert.match(port?.markdown ?? '', /devices `tap5f2a4e0c-8d`, `qvb5f2a4e0c-8d`/);
});

test('language server: diagnostics, definition and hover on a .policy document', { skip: existsSync(cli) ? false : 'dist/cli.cjs missing: run npm run build' }, async () => {
  const proc = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: 'pipe' });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const uri = 'file:///tmp/site.policy';
  const diagnostics = new Promise<{ diagnostics: { code: string; source: string; range: { start: { line: number; character: number } } }[] }>((resolve) => {
    conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: { code: string; source: string; range: { start: { line: number; character: number } } }[] }) => {
      if (p.uri === uri) resolve(p);
    });
  });
  conn.onNotification('window/logMessage', () => undefined);
  conn.listen();
  try {
    await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification('initialized', {});
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'neutron-policy', version: 1, text: TEXT } });
    const d = await Promise.race([diagnostics, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no diagnostics')), 10_000))]);
    assert.deepEqual(d.diagnostics.map((x) => [x.code, x.source, x.range.start.line, x.range.start.character]), [['invalid-port', 'neutron-policy', 6, 19]]);
    const def = await conn.sendRequest<{ uri: string; range: { start: { line: number } } } | null>('textDocument/definition', { textDocument: { uri }, position: { line: 7, character: 22 } });
    assert.equal(def?.uri, uri);
    assert.equal(def?.range.start.line, 4);
    const hover = await conn.sendRequest<{ contents: { value: string } } | null>('textDocument/hover', { textDocument: { uri }, position: { line: 14, character: 20 } });
    assert.match(hover?.contents.value ?? '', /\*\*security group\*\* `web`/);
    assert.match(hover?.contents.value ?? '', /ipsets `NIPv4a1b2c3d4-0000-1111-2222-`/);
  } finally {
    await Promise.race([conn.sendRequest('shutdown', null), new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    conn.dispose();
    proc.kill();
  }
});
