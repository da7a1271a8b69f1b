/**
 * The tracer as the editor uses it: the server's `iptables/trace` and `iptables/packetFromRule`
 * requests over stdio (the same JSON the VS Code command shows), and the prefilled packet of
 * "Why would this be dropped?".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { check } from '../server/src/core/index.ts';
import { packetFromRule, parsePacket } from '../server/src/core/trace/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplePath = `${root}examples/compute-node-ovs-hybrid.rules`;
const text = readFileSync(examplePath, 'utf8');
const lines = text.split('\n');
const lineOf = (needle: string): number => lines.findIndex((l) => l.includes(needle));

test('packetFromRule prefills the fields a rule matches and the path that reaches it', () => {
  const { model } = check(text);
  const l = lineOf('-p tcp -m tcp --dport 22 -j RETURN');
  const rule = model.ruleByLine.get(l);
  assert.ok(rule);
  const pre = packetFromRule(rule);
  assert.equal(pre.packet, 'proto=tcp dport=22');
  assert.equal(pre.path, 'forward');
  const spoof = model.ruleByLine.get(lineOf('-s 10.0.0.5/32 -m mac'));
  assert.ok(spoof);
  assert.match(packetFromRule(spoof).packet, /^src=10\.0\.0\.5$/);
});

test('packetFromRule reads values as iptables does, and its packet always parses', () => {
  const cases: [string, string][] = [
    ['-A INPUT -s 010.0.0.1 -d 10.1 -j DROP', 'src=8.0.0.1 dst=10.1.0.0'],
    ['-A INPUT -p icmp -m icmp --icmp-type port-unr -j DROP', 'proto=icmp icmp-type=3/3'],
    ['-A INPUT -p icmp -m icmp --icmp-type 0xa -j DROP', 'proto=icmp icmp-type=10'],
    ['-A INPUT -p tcp -m tcp --dport 0x16 -j DROP', 'proto=tcp dport=22'],
    ['-A INPUT -p udp -m udp --dport 010 -j DROP', 'proto=udp dport=10'],
    ['-A INPUT -p 017 -j DROP', 'proto=15'],
    // udp keeps the low 16 bits of a port; tcp refuses it: the value is left out, the rest kept.
    ['-A INPUT -p udp -m udp --dport 70000 -j DROP', 'proto=udp dport=4464'],
    ['-A INPUT -p tcp -m tcp --dport 70000 -j DROP', 'proto=tcp'],
  ];
  for (const [rule, packet] of cases) {
    const r = check(`*filter\n:INPUT ACCEPT [0:0]\n${rule}\nCOMMIT\n`);
    const found = r.model.ruleByLine.get(2);
    assert.ok(found, rule);
    const pre = packetFromRule(found);
    assert.equal(pre.packet, packet, rule);
    assert.doesNotThrow(() => parsePacket(pre.packet, r.family), rule);
  }
});

test('iptables/trace over stdio answers the trace JSON; bad packets get a message, not a crash', async () => {
  const proc = spawn(process.execPath, [`${root}dist/cli.cjs`, 'lsp', '--stdio'], { stdio: 'pipe' });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  conn.onNotification(() => undefined);
  conn.listen();
  try {
    await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification('initialized', {});
    const uri = pathToFileURL(examplePath).href;
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'iptables', version: 1, text } });
    // The port's ingress chain has an ipset rule, which no packet field decides: the trace must say
    // so and follow both branches (set matches: RETURN and accept; no match: sg-fallback DROP).
    const packet = 'proto=udp src=10.0.0.1 dst=10.0.0.5 sport=69 dport=40000 in=br-int physdev-in=qvb0 physdev-out=tap5f2a4e0c-8d physdev-is-bridged state=NEW';
    type Ref = { line: number; chain: string };
    const ok = (await conn.sendRequest('iptables/trace', { uri, packet, path: 'forward' })) as { ok: boolean; trace: { verdict: string; decided: boolean; outcomes: { verdict: string; matched: Ref[]; assumptions: string[] }[] }; text: string };
    assert.equal(ok.ok, true);
    assert.equal(ok.trace.decided, false);
    assert.equal(ok.trace.verdict, 'UNDECIDED');
    const drop = ok.trace.outcomes.find((o) => o.verdict === 'DROP');
    assert.ok(drop, 'a DROP outcome');
    const last = drop.matched[drop.matched.length - 1];
    assert.equal(last.chain, 'neutron-openvswi-sg-fallback');
    assert.equal(lines[last.line - 1], lines[lineOf('-A neutron-openvswi-sg-fallback')]);
    assert.ok(drop.matched.some((m) => m.chain === 'neutron-openvswi-i5f2a4e0c-8'));
    assert.ok(drop.assumptions.some((a) => /set/.test(a)));
    assert.ok(ok.trace.outcomes.some((o) => o.verdict === 'ACCEPT'));
    assert.match(ok.text, /sg-fallback/);
    const bad = (await conn.sendRequest('iptables/trace', { uri, packet: 'proto=tcp dport=99999', path: 'forward' })) as { ok: boolean; error: string };
    assert.equal(bad.ok, false);
    assert.match(bad.error, /dport/);
    const pre = (await conn.sendRequest('iptables/packetFromRule', { uri, line: lineOf('--dport 22 -j RETURN') })) as { packet: string; path: string };
    assert.deepEqual(pre, { packet: 'proto=tcp dport=22', path: 'forward' });
  } finally {
    conn.dispose();
    proc.kill();
  }
});
