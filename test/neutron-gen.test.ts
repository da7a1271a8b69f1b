/**
 * Golden tests of the Neutron code generator. The fixtures in test/neutron/ describe the objects
 * behind each vector of reference/vectors/ (Neutron's real output); the generated `restore`
 * output must equal the vector's text verbatim, the `iptables-save` output must list the same
 * rules per table and chain (the `-A` conversion), the `shell` output must issue the vector's
 * commands, and every output must pass check() without error. Further fixtures cover what the
 * vectors do not, against golden files rewritten with UPDATE=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check } from '../server/src/core/index.ts';
import { readPolicy } from '../server/src/core/policy/index.ts';
import { generate, type GenPart, type GenFormat } from '../server/src/core/neutron/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'neutron');
const vectorDir: string | undefined = join(fixtures, 'vectors');

/** The vector sections: each `### command` line starts a section holding the lines up to the next one. */
function sections(text: string): { command: string; body: string[] }[] {
  const out: { command: string; body: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('### ')) out.push({ command: line.slice(4), body: [] });
    else if (out.length && line !== '') (out[out.length - 1] as { body: string[] }).body.push(line);
  }
  return out;
}

/** The iptables-restore input of one family in a vector. */
function restoreSection(vector: string, family: 4 | 6): string {
  const s = sections(vector).find((x) => (family === 6 ? /ip6tables-restore -n$/ : /(^|\s)iptables-restore -n$/).test(x.command));
  assert.ok(s, `the vector has an ${family === 6 ? 'ip6tables' : 'iptables'}-restore section`);
  return s.body.join('\n') + '\n';
}

/** The shell commands of one family in a vector: its ipset sections, then its restore section, heredocs for the inputs. */
function vectorShell(vector: string, family: 4 | 6): string[] {
  const out: string[] = [];
  for (const s of sections(vector)) {
    const isIpset = s.command.includes('ipset ');
    if (isIpset && !s.command.includes(`NIPv${family}`) && !s.body.some((l) => l.includes(`NIPv${family}`))) continue;
    if (!isIpset && !(family === 6 ? /ip6tables-restore -n$/ : /(^|\s)iptables-restore -n$/).test(s.command)) continue;
    if (s.body.length) out.push(`${s.command} <<'EOF'`, ...s.body, 'EOF');
    else out.push(s.command);
  }
  return out;
}

/** Rules per table and chain of `-I CHAIN n` / `-A CHAIN` text, in `-A CHAIN args` form. */
function rulesByChain(text: string): Map<string, string[]> {
  const res = new Map<string, string[]>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^-I (\S+) (\d+) (.*)$/.exec(line) ?? /^-A (\S+)() (.*)$/.exec(line);
    if (!m) continue;
    const key = `${table} ${m[1]}`;
    const list = res.get(key) ?? [];
    if (m[2]) assert.equal(Number(m[2]), list.length + 1, `insert positions count up in ${key}`);
    list.push(`-A ${m[1]} ${m[3]}`);
    res.set(key, list);
  }
  return res;
}

/** User chains declared per table. */
function declaredChains(text: string): Map<string, string[]> {
  const res = new Map<string, string[]>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^:(\S+) - /.exec(line);
    if (m) res.set(table, [...(res.get(table) ?? []), m[1] as string]);
  }
  return res;
}

function gen(fixture: string, part: GenPart, family: 4 | 6, format: GenFormat, extra: { router?: string; host?: string } = {}): string {
  const res = readPolicy(readFileSync(join(fixtures, fixture), 'utf8'));
  assert.deepEqual(res.diagnostics.filter((d) => d.severity === 'error'), [], `${fixture} has no errors`);
  return generate(res.policy, { part, family, format, ...extra }).text;
}

function assertChecks(text: string, family: 4 | 6, what: string): void {
  const errors = check(text, { family: family === 6 ? 'ipv6' : 'ipv4' }).diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors.map((d) => `${d.range.start.line + 1}: ${d.code}: ${d.message}`), [], `${what} passes check()`);
}

const VECTORS: { vector: string; fixture: string; part: GenPart }[] = [
  { vector: 'vector_sg_ovs_hybrid.txt', fixture: 'sg_ovs_hybrid.policy', part: 'sg' },
  { vector: 'vector_sg_linuxbridge.txt', fixture: 'sg_linuxbridge.policy', part: 'sg' },
  { vector: 'vector_l3_legacy.txt', fixture: 'l3_legacy.policy', part: 'l3' },
  { vector: 'vector_fwaas_v2.txt', fixture: 'fwaas_v2.policy', part: 'fwaas' },
];

for (const v of VECTORS) {
  for (const family of [4, 6] as const) {
    test(`${v.vector} IPv${family}: restore output equals the vector verbatim`, { skip: vectorDir ? false : 'reference vectors not found' }, () => {
      const vector = readFileSync(join(vectorDir as string, v.vector), 'utf8');
      const text = gen(v.fixture, v.part, family, 'restore');
      assert.equal(text, restoreSection(vector, family));
      assertChecks(text, family, 'restore output');
    });
    test(`${v.vector} IPv${family}: iptables-save output has the vector's rules per table and chain`, { skip: vectorDir ? false : 'reference vectors not found' }, () => {
      const vector = readFileSync(join(vectorDir as string, v.vector), 'utf8');
      const expected = restoreSection(vector, family);
      const text = gen(v.fixture, v.part, family, 'iptables-save');
      assert.ok(text.startsWith(`# Generated by ${family === 6 ? 'ip6tables-save' : 'iptables-save'}`));
      assert.deepEqual([...rulesByChain(text)].sort(), [...rulesByChain(expected)].sort());
      assert.deepEqual(declaredChains(text), declaredChains(expected));
      assert.match(text, /^:INPUT ACCEPT \[0:0\]$/m, 'builtin chains are declared');
      assertChecks(text, family, 'iptables-save output');
    });
    test(`${v.vector} IPv${family}: shell output issues the vector's commands`, { skip: vectorDir ? false : 'reference vectors not found' }, () => {
      const vector = readFileSync(join(vectorDir as string, v.vector), 'utf8');
      const text = gen(v.fixture, v.part, family, 'shell');
      const lines = text.trimEnd().split('\n');
      assert.equal(lines[0], '#!/bin/sh');
      assert.deepEqual(lines.slice(3), vectorShell(vector, family));
    });
  }
}

test('the example of policy-dsl.md generates the ovs-hybrid vector (iptables-save, -A form)', { skip: vectorDir ? false : 'reference vectors not found' }, () => {
  const vector = readFileSync(join(vectorDir as string, 'vector_sg_ovs_hybrid.txt'), 'utf8');
  const example = readFileSync(join(fixtures, 'dsl_example.policy'), 'utf8');
  const res = readPolicy(example);
  assert.deepEqual(res.diagnostics.filter((d) => d.severity === 'error'), []);
  for (const family of [4, 6] as const) {
    const text = generate(res.policy, { part: 'sg', family, format: 'iptables-save' }).text;
    assert.deepEqual([...rulesByChain(text)].sort(), [...rulesByChain(restoreSection(vector, family))].sort());
  }
});

/** Own goldens: features the vectors do not cover. */
const GOLDENS: { fixture: string; part: GenPart; router?: string; host?: string }[] = [
  { fixture: 'sg_features.policy', part: 'sg' },
  { fixture: 'sg_features.policy', part: 'sg', host: 'compute-2' },
  { fixture: 'l3_scopes.policy', part: 'l3', router: 'edge' },
  { fixture: 'l3_scopes.policy', part: 'fwaas', router: 'edge' },
  { fixture: 'l3_scopes.policy', part: 'pbr', router: 'edge' },
  { fixture: 'fwaas_v1.policy', part: 'fwaas' },
  { fixture: 'l3_legacy_profile.policy', part: 'l3' },
];
const update = process.env.UPDATE === '1';

for (const g of GOLDENS) {
  for (const family of [4, 6] as const) {
    for (const format of ['iptables-save', 'restore', 'shell'] as const) {
      const name = `${g.fixture.replace(/\.policy$/, '')}.${g.part}${g.host ? `.${g.host}` : ''}.v${family}.${format === 'shell' ? 'sh' : format === 'restore' ? 'restore' : 'save'}`;
      test(`golden ${name}`, () => {
        const res = readPolicy(readFileSync(join(fixtures, g.fixture), 'utf8'));
        assert.deepEqual(res.diagnostics.filter((d) => d.severity === 'error'), []);
        if (g.part === 'pbr' && family === 6) {
          assert.throws(() => generate(res.policy, { part: g.part, family, format, ...(g.router ? { router: g.router } : {}) }), /IPv4/);
          return;
        }
        const text = generate(res.policy, { part: g.part, family, format, ...(g.router ? { router: g.router } : {}), ...(g.host ? { host: g.host } : {}) }).text;
        const file = join(fixtures, 'golden', name);
        if (update) {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, text);
        }
        assert.ok(existsSync(file), `golden file ${name} exists (run with UPDATE=1 to create it)`);
        assert.equal(text, readFileSync(file, 'utf8'));
        if (format !== 'shell') assertChecks(text, family, name);
      });
    }
  }
}
