/**
 * Kernel test of the Neutron generator: every generated output (each fixture, part and family; the
 * iptables-save format with a plain restore, the restore format with `-n` as Neutron runs it, and
 * the security-group shell scripts as a whole) is loaded with both iptables-nft-restore and
 * iptables-legacy-restore in a fresh network namespace (`ngen-…`), after creating the ipsets the
 * rules reference. The kernel's own listing must then hold the generated rules, chain by chain (up
 * to the option order and MAC case in which iptables-save prints them).
 *
 * Needs root, `ip netns`, `ipset` and the iptables binaries. Without them the test is skipped with
 * a loud warning, except under CI=true, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPolicy } from '../server/src/core/policy/index.ts';
import { generate, type GenPart, type GenFormat } from '../server/src/core/neutron/index.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'neutron');
const lockDir = mkdtempSync(join(tmpdir(), 'ngen-lock-'));
process.once('exit', () => rmSync(lockDir, { recursive: true, force: true }));

function run(cmd: string, args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, ...env } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function availability(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const bin of ['ip', 'ipset', 'iptables-nft-restore', 'iptables-legacy-restore', 'ip6tables-nft-restore', 'ip6tables-legacy-restore']) {
    if (run('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed${bin === 'ipset' ? ' (apt-get install -y ipset)' : ''}`;
  }
  const probe = `ngen-probe-${process.pid}`;
  const r = run('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  run('ip', ['netns', 'del', probe]);
  return undefined;
}

const unavailable = availability();
if (unavailable) {
  const msg = `neutron-kernel.test.ts: kernel tests NOT RUN: ${unavailable}`;
  if (process.env.CI === 'true') {
    test('kernel prerequisites (CI=true requires them)', () => assert.fail(msg));
  } else {
    process.stderr.write(`\n${'!'.repeat(80)}\n${msg}\n${'!'.repeat(80)}\n\n`);
  }
}

let counter = 0;
/** Runs `fn` inside a fresh namespace that is deleted afterwards. */
function inNamespace<T>(fn: (ns: string) => T): T {
  const ns = `ngen-${process.pid}-${++counter}`;
  const r = run('ip', ['netns', 'add', ns]);
  assert.equal(r.status, 0, `ip netns add ${ns}: ${r.stderr}`);
  try {
    return fn(ns);
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}

/** Rules per chain, each as its sorted words with MACs lower-cased: the order iptables-save prints options in may differ. */
function normalisedRules(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('-A '))
    .map((l) => {
      const words = l.match(/"[^"]*"|\S+/g) ?? [];
      const [, chain, ...rest] = words;
      return `${chain} ${rest.map((w) => (/^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/.test(w) ? w.toLowerCase() : w)).sort().join(' ')}`;
    })
    .sort();
}

const CASES: { fixture: string; part: GenPart; router?: string; host?: string; families: (4 | 6)[] }[] = [
  { fixture: 'sg_ovs_hybrid.policy', part: 'sg', families: [4, 6] },
  { fixture: 'sg_linuxbridge.policy', part: 'sg', families: [4, 6] },
  { fixture: 'dsl_example.policy', part: 'sg', families: [4, 6] },
  { fixture: 'sg_features.policy', part: 'sg', families: [4, 6] },
  { fixture: 'sg_features.policy', part: 'sg', host: 'compute-2', families: [4, 6] },
  { fixture: 'l3_legacy.policy', part: 'l3', families: [4, 6] },
  { fixture: 'l3_legacy_profile.policy', part: 'l3', families: [4, 6] },
  { fixture: 'fwaas_v2.policy', part: 'fwaas', families: [4, 6] },
  { fixture: 'fwaas_v1.policy', part: 'fwaas', families: [4, 6] },
  { fixture: 'l3_scopes.policy', part: 'l3', router: 'edge', families: [4, 6] },
  { fixture: 'l3_scopes.policy', part: 'fwaas', router: 'edge', families: [4, 6] },
  { fixture: 'l3_scopes.policy', part: 'pbr', router: 'edge', families: [4] },
];

function genText(c: (typeof CASES)[number], family: 4 | 6, format: GenFormat) {
  const res = readPolicy(readFileSync(join(fixtures, c.fixture), 'utf8'));
  assert.deepEqual(res.diagnostics.filter((d) => d.severity === 'error'), []);
  return generate(res.policy, { part: c.part, family, format, ...(c.router ? { router: c.router } : {}), ...(c.host ? { host: c.host } : {}) });
}

for (const c of CASES) {
  for (const family of c.families) {
    for (const backend of ['nft', 'legacy'] as const) {
      const name = `${c.fixture} --part ${c.part}${c.host ? ` --host ${c.host}` : ''} IPv${family}: loads with ${family === 6 ? 'ip6tables' : 'iptables'}-${backend}-restore`;
      test(name, { skip: unavailable ? `kernel tests not run: ${unavailable}` : false }, () => {
        const bin = `${family === 6 ? 'ip6tables' : 'iptables'}-${backend}`;
        const save = genText(c, family, 'iptables-save');
        const restore = genText(c, family, 'restore');
        const env = { XTABLES_LOCKFILE: join(lockDir, `${process.pid}-${counter + 1}.lock`) };
        // The iptables-save format, restored as a whole.
        inNamespace((ns) => {
          for (const s of save.ipsets) assert.equal(run('ip', ['netns', 'exec', ns, 'ipset', 'create', s.name, 'hash:net', 'family', s.family === 6 ? 'inet6' : 'inet']).status, 0);
          const r = run('ip', ['netns', 'exec', ns, `${bin}-restore`], save.text, env);
          assert.equal(r.status, 0, `${bin}-restore rejected the iptables-save output: ${r.stderr}`);
          const listed = run('ip', ['netns', 'exec', ns, `${bin}-save`], undefined, env);
          assert.equal(listed.status, 0, listed.stderr);
          assert.deepEqual(normalisedRules(listed.stdout), normalisedRules(save.text), 'the kernel lists the generated rules');
        });
        // The restore format, as Neutron feeds it (-n: no flush).
        inNamespace((ns) => {
          for (const s of restore.ipsets) assert.equal(run('ip', ['netns', 'exec', ns, 'ipset', 'create', s.name, 'hash:net', 'family', s.family === 6 ? 'inet6' : 'inet']).status, 0);
          const r = run('ip', ['netns', 'exec', ns, `${bin}-restore`, '-n'], restore.text, env);
          assert.equal(r.status, 0, `${bin}-restore -n rejected the restore output: ${r.stderr}`);
          const listed = run('ip', ['netns', 'exec', ns, `${bin}-save`], undefined, env);
          assert.deepEqual(normalisedRules(listed.stdout), normalisedRules(save.text), 'restore and iptables-save formats program the same rules');
        });
      });
    }
    if (c.part === 'sg') {
      test(`${c.fixture}${c.host ? ` --host ${c.host}` : ''} IPv${family}: the shell script runs (ipsets filled, rules loaded)`, { skip: unavailable ? `kernel tests not run: ${unavailable}` : false }, () => {
        const shell = genText(c, family, 'shell');
        inNamespace((ns) => {
          const r = run('ip', ['netns', 'exec', ns, 'sh', '-e'], shell.text);
          assert.equal(r.status, 0, `the script failed: ${r.stderr}`);
          for (const s of shell.ipsets) {
            const l = run('ip', ['netns', 'exec', ns, 'ipset', 'list', s.name]);
            assert.equal(l.status, 0, l.stderr);
            for (const m of s.members) assert.match(l.stdout, new RegExp(`^${m.replace(/\/(32|128)$/, '').replace(/\./g, '\\.')}(/\\d+)?$`, 'm'), `${s.name} holds ${m}`);
          }
        });
      });
    }
  }
}
