/**
 * Tests of the neutron-policy language: the parser's error recovery, the model, and every
 * diagnostic code with the range it points at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPolicy, POLICY_DIAGNOSTIC_CODES, eui64LinkLocal, parsePrefix, formatAddress, type PolicyResult } from '../server/src/core/policy/index.ts';

/** The diagnostics as `line:col-endcol code` (1-based lines and columns) with the text they cover. */
function found(text: string): { code: string; at: string; covered: string; severity: string }[] {
  const res = readPolicy(text);
  const lines = text.split('\n');
  return res.diagnostics.map((d) => ({
    code: d.code,
    severity: d.severity,
    at: `${d.range.start.line + 1}:${d.range.start.character + 1}`,
    covered: d.range.start.line === d.range.end.line ? (lines[d.range.start.line] ?? '').slice(d.range.start.character, d.range.end.character) : '',
  }));
}

function only(text: string, code: string, covered: string): void {
  const f = found(text);
  assert.deepEqual(f.map((x) => [x.code, x.covered]), [[code, covered]], JSON.stringify(f));
}

const NET = 'network n1 {\n  id 11111111-1111-4111-8111-111111111111\n  cidr 10.0.0.0/24\n}\n';
const SG = 'security-group g1 {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp port 22\n}\n';
const PORT = (body: string): string => `port p1 {\n  id 33333333-3333-4333-8333-333333333333\n  network n1\n  mac fa:16:3e:00:00:01\n${body}}\n`;

test('a valid file reads into the model without diagnostics', () => {
  const text = `defaults {\n  sg-driver linuxbridge\n  ipset off\n  comments off\n}\n${NET}${SG}${PORT('  ip 10.0.0.5\n  security-groups g1\n')}`;
  const res: PolicyResult = readPolicy(text);
  assert.deepEqual(res.diagnostics, []);
  assert.equal(res.policy.defaults.sgDriver, 'linuxbridge');
  assert.equal(res.policy.defaults.ipset, false);
  assert.equal(res.policy.ports[0]?.ips.length, 1);
  assert.deepEqual(res.policy.securityGroups[0]?.rules[0]?.ports, { min: 22, max: 22 });
});

test('syntax errors are reported with a range and recovery keeps the other blocks', () => {
  const text = `${NET}security-group g1 {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp port 22\n}\n}\n${PORT('  ip 10.0.0.5\n')}router r {\n  snat on\n`;
  const res = readPolicy(text);
  const syntax = res.diagnostics.filter((d) => d.code === 'policy-syntax-error');
  assert.equal(syntax.length, 2, JSON.stringify(syntax));
  assert.equal(syntax.find((d) => /without a block/.test(d.message))?.range.start.line, 8);
  assert.ok(syntax.some((d) => /not closed/.test(d.message)));
  assert.equal(res.policy.networks.length, 1);
  assert.equal(res.policy.securityGroups.length, 1);
  assert.equal(res.policy.routers.length, 1, 'the unclosed last block is still read');
});

test('the parser never throws on arbitrary input', () => {
  for (const text of ['{', '}', '{{}}', 'a {\n{\n', ',,,', 'port x { ip }', '\u0000\u00ff', 'a b c d {\n e, f, ,\n}', '#only a comment', '']) {
    assert.doesNotThrow(() => readPolicy(text));
  }
});

test('diagnostic codes: unknown blocks and statements, missing names and statements', () => {
  only('widget w {\n}\n', 'unknown-block', 'widget');
  only(`network n1 {\n  id 11111111-1111-4111-8111-111111111111\n  colour blue\n}\n`, 'unknown-statement', 'colour');
  only('network {\n  id 11111111-1111-4111-8111-111111111111\n}\n', 'missing-name', 'network');
  only('network n1 {\n  cidr 10.0.0.0/24\n}\n', 'missing-statement', 'network n1');
  only(`network n1 {\n  id 11111111-1111-4111-8111-111111111111\n  id 11111111-1111-4111-8111-111111111112\n}\n`, 'duplicate-statement', 'id 11111111-1111-4111-8111-111111111112');
});

test('diagnostic codes: duplicate names and ids point at the second occurrence', () => {
  const dupName = found(`${NET}network n1 {\n  id 11111111-1111-4111-8111-111111111112\n}\n`);
  assert.deepEqual(dupName.map((x) => [x.code, x.at]), [['duplicate-name', '5:9']]);
  only(`${NET}network n2 {\n  id 11111111-1111-4111-8111-111111111111\n}\n`, 'duplicate-id', '11111111-1111-4111-8111-111111111111');
});

test('diagnostic codes: bad UUID, address, MAC, port, protocol', () => {
  only('network n1 {\n  id 1234\n}\n', 'invalid-uuid', '1234');
  only('network n1 {\n  id 11111111-1111-4111-8111-111111111111\n  cidr 10.0.0.300/24\n}\n', 'invalid-address', '10.0.0.300/24');
  only('network n1 {\n  id 11111111-1111-4111-8111-111111111111\n  cidr 10.0.0.0/33\n}\n', 'invalid-address', '10.0.0.0/33');
  only(`${NET}port p1 {\n  id 33333333-3333-4333-8333-333333333333\n  network n1\n  mac fa:16:3e:00:00\n}\n`, 'invalid-mac', 'fa:16:3e:00:00');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp port 70000\n}\n', 'invalid-port', '70000');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp port 90-80\n}\n', 'invalid-port', '90-80');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress 300\n}\n', 'invalid-protocol', '300');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp port 22 flag\n}\n', 'invalid-statement', 'flag');
});

test('diagnostic codes: ICMP code without type, type on non-ICMP, ignored ports, family mismatch, remote keyword', () => {
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress icmp code 0\n}\n', 'icmp-code-without-type', 'code');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp type 8\n}\n', 'invalid-icmp', 'type');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress icmp type 300\n}\n', 'invalid-icmp', '300');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress gre port 22\n}\n', 'ports-ignored', '22');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress tcp from 2001:db8::/64\n}\n', 'family-mismatch', 'ingress tcp from 2001:db8::/64');
  const wrong = found('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  egress from 10.0.0.0/8\n}\n');
  assert.deepEqual(wrong.map((x) => [x.code, x.severity, x.covered]), [['wrong-remote-keyword', 'warning', 'from']]);
});

test('diagnostic codes: unknown references and unknown remote groups', () => {
  only(`${NET}${PORT('  security-groups nope\n')}`.replace('network n1\n  mac', 'network n1\n  mac'), 'unknown-reference', 'nope');
  only(`${PORT('')}`, 'unknown-reference', 'n1');
  only('security-group g {\n  id 22222222-2222-4222-8222-222222222222\n  ingress from group ghost\n}\n', 'unknown-remote-group', 'ghost');
  only('firewall-group f {\n  id 44444444-4444-4444-8444-444444444444\n  router nowhere\n}\n', 'unknown-reference', 'nowhere');
});

test('diagnostic codes: addresses outside the network, floating IPs outside the gateway subnet', () => {
  only(`${NET}${PORT('  ip 10.0.1.5\n')}`, 'address-outside-network', '10.0.1.5');
  const router = 'router r {\n  gateway 55555555-5555-4555-8555-555555555555 ip 172.24.4.10/24\n  interface 66666666-6666-4666-8666-666666666666 ip 10.0.0.1/24\n  floating-ip 172.25.0.9 to 10.0.0.5\n}\n';
  only(router, 'floating-ip-outside-subnet', '172.25.0.9');
  const fixed = found(router.replace('172.25.0.9 to 10.0.0.5', '172.24.4.9 to 10.9.0.5'));
  assert.deepEqual(fixed.map((x) => [x.code, x.severity, x.covered]), [['fixed-ip-outside-router', 'warning', '10.9.0.5']]);
});

test('diagnostic codes: security groups on a port without port security', () => {
  const f = found(`${NET}${SG}${PORT('  security-groups g1\n  port-security off\n')}`);
  assert.deepEqual(f.map((x) => [x.code, x.severity, x.covered]), [['security-groups-ignored', 'warning', 'security-groups g1']]);
});

test('diagnostic codes: a MARK-based steering variant is flagged when the scope rule would drop it', () => {
  const router = 'router r {\n  interface 66666666-6666-4666-8666-666666666666 ip 10.0.0.1/24\n  interface 77777777-7777-4777-8777-777777777777 ip 10.9.0.1/24\n}\n';
  const steering = (mark: string): string => `${router}steering s {\n  router r\n  firewall 10.9.0.2 dev qr-77777777-77\n  table 100\n  egress from qr-66666666-66\n  mark ${mark}\n}\n`;
  const f = found(steering('0x10'));
  assert.deepEqual(f.map((x) => [x.code, x.severity, x.covered]), [['steering-mark-dropped', 'warning', '0x10']]);
  assert.deepEqual(found(steering('0x4000010')), [], 'a mark that keeps the scope bits passes');
  only(`${router}steering s {\n  router r\n  firewall 10.9.0.2 dev qr-00000000-00\n  table 100\n}\n`, 'unknown-reference', 'qr-00000000-00');
});

test('every emitted code is registered with a description', () => {
  for (const [code, info] of Object.entries(POLICY_DIAGNOSTIC_CODES)) {
    assert.ok(info.description.length > 10, code);
  }
});

test('addresses: EUI-64 link-local and canonical IPv6', () => {
  assert.equal(eui64LinkLocal('fa:16:3e:11:22:33'), 'fe80::f816:3eff:fe11:2233');
  const p = parsePrefix('2001:0db8:0000:0000:0000:0000:0000:0005/128');
  assert.ok(p);
  assert.equal(formatAddress(6, p.value), '2001:db8::5');
  assert.equal(parsePrefix('10.0.0.01'), undefined);
  assert.equal(parsePrefix('1::2::3'), undefined);
});

test('reading never throws on mutated fixtures (deterministic fuzz)', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const dir = new URL('./neutron/', import.meta.url);
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pieces = ['{', '}', '\n', ' ', ',', '#', 'port', 'from group', '0x', '::', '/', '-', '999999'];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.policy'))) {
    const text = readFileSync(new URL(name, dir), 'utf8');
    for (let i = 0; i < 150; i++) {
      let t = text;
      for (let k = 0; k < 1 + rand(4); k++) {
        const at = rand(t.length + 1);
        t = rand(2) ? t.slice(0, at) + (pieces[rand(pieces.length)] as string) + t.slice(at) : t.slice(0, at) + t.slice(at + 1 + rand(8));
      }
      assert.doesNotThrow(() => readPolicy(t), `${name} mutation ${i}`);
    }
  }
});
