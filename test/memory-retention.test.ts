/**
 * An editor makes a check (a model) and a split into lines per version of a document, and keeps
 * some of it for the next version: what it keeps must not hold on to the earlier versions. Each
 * version of a big dump is tens of megabytes (its text, and its model three times that), and a
 * language server that kept one per edit grew by that much on every keystroke. These tests make
 * versions of a text, keep what the server keeps, and ask V8's garbage collector what is left:
 * models' tables are watched with WeakRefs; texts, which cannot be, by the heap's size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { check, LineDiagnostics } from '../server/src/core/index.ts';
import { splitReusing } from '../server/src/lsp/server.ts';
import { neutronDump } from '../bench/neutron-dump.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage once the current job is over (WeakRef targets are kept until then). */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

/** The text with the port of its `k`-th `--dport 22 ` rule changed: one version per edit. */
function edited(lines: readonly string[], ports: readonly number[], k: number): string {
  const out = [...lines];
  const at = ports[k % ports.length];
  out[at] = out[at].replace(' --dport 22 ', ` --dport ${1000 + k} `);
  return out.join('\n');
}

const LINES = neutronDump(60).split('\n');
const PORTS = LINES.flatMap((l, i) => (l.includes(' --dport 22 ') ? [i] : []));

/**
 * Checks versions of the dump, reads some rules of each, and returns only weak references to the
 * models' tables. Not inline in the (async) test: a suspended async function keeps its frame,
 * and with it whatever its last loop iteration held.
 */
function checkVersions(count: number): WeakRef<object>[] {
  const tables: WeakRef<object>[] = [];
  for (let v = 0; v < count; v++) {
    const r = check(edited(LINES, PORTS, v), { fileName: 'memory.rules' });
    // Reading a rule's interpretation puts it in a cache window, as a hover or a trace does.
    for (const rule of r.model.tables[0].commands.slice(0, 200)) assert.ok(rule.info);
    // The tables, which every rule refers to (the model object itself only refers to them).
    for (const t of r.model.tables) tables.push(new WeakRef(t));
  }
  return tables;
}

test('the models of earlier versions are freed once dropped, after their rules were read (hover, trace)', async () => {
  assert.ok(PORTS.length >= 8, 'the dump has rules to edit');
  const tables = checkVersions(6);
  await collect();
  const alive = tables.filter((t) => t.deref() !== undefined).length;
  assert.equal(alive, 0, `${alive} of the ${tables.length} tables of dropped models are still in memory`);
});

test("lines kept from version to version do not keep the versions' whole texts", async () => {
  // Texts big enough to see: 30 versions of 1.6 MB would add 48 MB if each were kept.
  const big = [...LINES, ...LINES.map((l) => l.replace('neutron-', 'neutron2-')), ...LINES.map((l) => l.replace('neutron-', 'neutron3-'))];
  const ports = big.flatMap((l, i) => (l.includes(' --dport 22 ') ? [i] : []));
  const size = big.join('\n').length;
  let lines = splitReusing(big.join('\n'), undefined);
  const cache = new LineDiagnostics();
  cache.run(big.join('\n'), 'ipv4');
  await collect();
  const before = process.memoryUsage().heapUsed;
  for (let v = 0; v < 30; v++) {
    const text = edited(big, ports, v);
    lines = splitReusing(text, lines);
    cache.run(text, 'ipv4');
  }
  await collect();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(lines.length, big.length);
  assert.ok(grown < 4 * size, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB over 30 versions of a ${(size / 2 ** 20).toFixed(1)} MiB text`);
});
