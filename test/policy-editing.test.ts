/**
 * Editing features of the policy language, with `<|>` cursor markers: references and rename of
 * networks, security groups, ports and routers; completion of block kinds, statement keywords and
 * names; formatting (canonical indentation, idempotent, comments kept); and the same features plus
 * `neutron/generate` and `neutron/insertBlock` through the bundled language server (run
 * `npm run build` first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { readPolicy } from '../server/src/core/policy/index.ts';
import { formatPolicy, policyCompletionAt, policyPrepareRename, policyReferencesAt, policyRename } from '../server/src/core/policy/editing.ts';
import { stripMarks } from './lsp-markers.ts';

const MARKED = [
  'network n<|>et1 {',
  '  id 9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff',
  '  cidr 10.0.0.0/24',
  '}',
  'security-group web {',
  '  id a1b2c3d4-0000-1111-2222-333344445555',
  '  ingress from group w<|>eb',
  '}',
  'port vm1 {',
  '  id 5f2a4e0c-8d3b-4c1e-9a7f-1b2c3d4e5f60',
  '  network net<|>1',
  '  mac fa:16:3e:11:22:33',
  '  ip 10.0.0.5',
  '  security-groups web',
  '}',
  'router r<|>1 {',
  '  interface c0c1c2c3-c4c5-4c6c-8c7c-c8c9cacbcccd ip 10.0.0.1/24',
  '}',
  'firewall-group fw {',
  '  id d6e0f9a2-1111-4222-8333-444455556666',
  '  router r1',
  '  ingress allow',
  '}',
  '',
].join('\n');
const { text: TEXT, marks } = stripMarks(MARKED);
const [netDecl, webRef, netRef, routerDecl] = marks as [typeof marks[0], typeof marks[0], typeof marks[0], typeof marks[0]];

test('references of a network, a security group and a router, from declaration or reference', () => {
  const res = readPolicy(TEXT);
  const lines = (rs: { start: { line: number } }[]): number[] => rs.map((r) => r.start.line);
  assert.deepEqual(lines(policyReferencesAt(res, netDecl)), [0, 10]);
  assert.deepEqual(lines(policyReferencesAt(res, netRef, false)), [10]);
  assert.deepEqual(lines(policyReferencesAt(res, webRef)), [4, 6, 13]);
  assert.deepEqual(lines(policyReferencesAt(res, routerDecl)), [15, 20]);
  assert.deepEqual(policyReferencesAt(res, { line: 1, character: 4 }), [], 'an id is not a name');
});

test('rename edits the declaration and every reference; invalid or clashing names are refused', () => {
  const res = readPolicy(TEXT);
  const prep = policyPrepareRename(res, webRef);
  assert.ok(prep && !('error' in prep));
  assert.equal(prep.placeholder, 'web');
  const r = policyRename(res, webRef, 'frontend');
  assert.ok(r && 'edits' in r);
  let text = TEXT;
  const lines = text.split('\n');
  for (const e of [...r.edits].sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character)) {
    const l = lines[e.range.start.line] as string;
    lines[e.range.start.line] = l.slice(0, e.range.start.character) + e.newText + l.slice(e.range.end.character);
  }
  text = lines.join('\n');
  const after = readPolicy(text);
  assert.deepEqual(after.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.deepEqual(after.policy.ports[0]?.securityGroups, ['frontend']);
  assert.equal(after.policy.securityGroups[0]?.rules[0]?.remoteGroup, 'frontend');
  assert.match(JSON.stringify(policyRename(res, netDecl, '1bad')), /not a valid name/);
  assert.match(JSON.stringify(policyRename(res, routerDecl, 'r1')), /edits/);
  const clash = readPolicy(TEXT + 'network net2 {\n  id 11111111-aaaa-bbbb-cccc-ddddeeeeffff\n}\n');
  assert.match(JSON.stringify(policyRename(clash, netDecl, 'net2')), /already exists/);
});

test('completion: block kinds at the top level, statement keywords and names inside blocks', () => {
  const at = (marked: string): string[] => {
    const { text, marks: m } = stripMarks(marked);
    return policyCompletionAt(text, readPolicy(text), m[0] as { line: number; character: number }).items.map((i) => i.label);
  };
  assert.deepEqual(at(TEXT + '<|>'), ['defaults', 'network', 'security-group', 'port', 'router', 'firewall-group', 'steering']);
  assert.deepEqual(at(TEXT + 'po<|>'), ['defaults', 'network', 'security-group', 'port', 'router', 'firewall-group', 'steering']);
  assert.ok(at(TEXT + 'port vm2 {\n  <|>\n}\n').includes('security-groups'));
  assert.deepEqual(at(TEXT + 'port vm2 {\n  network <|>\n}\n'), ['net1']);
  assert.deepEqual(at(TEXT + 'port vm2 {\n  security-groups <|>\n}\n'), ['web']);
  assert.deepEqual(at(TEXT + 'security-group db {\n  ingress tcp from group <|>\n}\n'), ['web', 'db'], 'a group may name itself');
  assert.deepEqual(at(TEXT + 'steering s {\n  router <|>\n}\n'), ['r1']);
  assert.deepEqual(at(TEXT + 'port vm2 {\n  mac <|>\n}\n'), []);
  assert.deepEqual(at(TEXT + '# a comment <|>'), []);
});

test('formatting: canonical indentation, comments kept, idempotent', () => {
  const messy = '# site\nnetwork net1 {\nid 9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff   \n      # the subnet\n\tcidr 10.0.0.0/24 # v4\n    }\n\n  defaults { ipset off }\n';
  const expected = '# site\nnetwork net1 {\n  id 9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff\n  # the subnet\n  cidr 10.0.0.0/24 # v4\n}\n\ndefaults { ipset off }\n';
  assert.equal(formatPolicy(messy), expected);
  assert.equal(formatPolicy(expected), expected);
  assert.equal(formatPolicy(TEXT), TEXT);
  assert.deepEqual(readPolicy(formatPolicy(messy)).policy.networks.map((n) => n.cidrs.length), readPolicy(messy).policy.networks.map((n) => n.cidrs.length));
});

const cli = `${fileURLToPath(new URL('..', import.meta.url))}dist/cli.cjs`;

test('language server: policy references/rename/completion/formatting, neutron/generate and neutron/insertBlock', { skip: existsSync(cli) ? false : 'dist/cli.cjs missing: run npm run build', timeout: 30_000 }, async () => {
  const proc = spawn(process.execPath, [cli, 'lsp', '--stdio'], { stdio: 'pipe' });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  conn.onNotification('window/logMessage', () => undefined);
  conn.onNotification('textDocument/publishDiagnostics', () => undefined);
  conn.listen();
  const uri = 'file:///tmp/site.policy';
  const rules = 'file:///tmp/host.rules';
  try {
    await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification('initialized', {});
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'neutron-policy', version: 1, text: TEXT } });
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri: rules, languageId: 'iptables', version: 1, text: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' } });
    const refs = await conn.sendRequest<{ range: { start: { line: number } } }[]>('textDocument/references', { textDocument: { uri }, position: webRef, context: { includeDeclaration: true } });
    assert.deepEqual(refs.map((r) => r.range.start.line), [4, 6, 13]);
    const rename = await conn.sendRequest<{ changes: Record<string, unknown[]> }>('textDocument/rename', { textDocument: { uri }, position: netRef, newName: 'lan' });
    assert.equal(rename.changes[uri]?.length, 2);
    const completion = await conn.sendRequest<{ items: { label: string }[] }>('textDocument/completion', { textDocument: { uri }, position: { line: 23, character: 0 } });
    assert.ok(completion.items.some((i) => i.label === 'firewall-group'));
    const fmt = await conn.sendRequest<unknown[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });
    assert.deepEqual(fmt, []);
    const gen = await conn.sendRequest<{ ok: boolean; text?: string; error?: string }>('neutron/generate', { uri, part: 'fwaas' });
    assert.ok(gen.ok, gen.error);
    assert.match(gen.text ?? '', /^-A neutron-l3-agent-FORWARD -o qr-c0c1c2c3-c4 -j neutron-l3-agent-iv4d6e0f9a2$/m);
    const noRouter = await conn.sendRequest<{ ok: boolean; error?: string }>('neutron/generate', { uri, part: 'pbr' });
    assert.equal(noRouter.ok, false);
    assert.match(noRouter.error ?? '', /no steering block/);
    const info = await conn.sendRequest<{ routers: string[] }>('neutron/policyInfo', { uri });
    assert.deepEqual(info.routers, ['r1']);
    const kinds = await conn.sendRequest<{ kind: string; params: { key: string; example: string }[] }[]>('neutron/blockKinds');
    const sg = kinds.find((k) => k.kind === 'sg-port');
    assert.ok(sg);
    const ins = await conn.sendRequest<{ ok: boolean; edits?: { newText: string }[]; error?: string }>('neutron/insertBlock', { uri: rules, kind: 'sg-port', params: Object.fromEntries(sg.params.map((p) => [p.key, p.example])) });
    assert.ok(ins.ok, ins.error);
    assert.match(ins.edits?.map((e) => e.newText).join('\n') ?? '', /-A neutron-openvswi-sg-chain -j ACCEPT/);
    const bad = await conn.sendRequest<{ ok: boolean; error?: string }>('neutron/insertBlock', { uri: rules, kind: 'sg-port', params: { portId: 'x' } });
    assert.equal(bad.ok, false);
  } finally {
    await Promise.race([conn.sendRequest('shutdown', null), new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    conn.dispose();
    proc.kill();
  }
});
