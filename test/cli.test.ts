/** The `check` command: exit codes, text, JSON and SARIF output, usage errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../server/src/cli/main.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'iptables-lsp-cli-'));
const good = join(dir, 'good.rules');
const bad = join(dir, 'bad.rules');
writeFileSync(good, '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n');
writeFileSync(bad, '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 70000 -j ACCEPT\nCOMMIT\n');

test('exit 0 on a clean file, 1 with errors, 2 on usage and I/O errors', async () => {
  assert.equal((await run(['check', good])).code, 0);
  assert.equal((await run(['check', bad])).code, 1);
  assert.equal((await run(['check'])).code, 2);
  assert.equal((await run(['check', '--format', 'xml', good])).code, 2);
  const missing = await run(['check', join(dir, 'nope.rules')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no such file/);
});

test('text output is file:line:col: severity[code]: message, the line and a caret', async () => {
  const { out } = await run(['check', bad]);
  const lines = out.split('\n');
  // The table with the error is not analysed, and a note on its header says so, before the error.
  assert.match(lines[0], /bad\.rules:1:1: information\[analysis-skipped\]: rule-set analysis skipped for table filter: the table has errors \(the first on line 3\)/);
  const at = lines.findIndex((l) => /error\[invalid-port\]/.test(l));
  assert.match(lines[at], /bad\.rules:3:25: error\[invalid-port\]: .*70000/);
  assert.equal(lines[at + 1], '  -A INPUT -p tcp --dport 70000 -j ACCEPT');
  assert.equal(lines[at + 2], '  ' + ' '.repeat(24) + '^^^^^');
});

test('text output is written in pieces as it is made, whole diagnostics each, the summary of all files last', async () => {
  // Enough errors for several pieces (about 64 KB each), then a clean file with a CRLF line.
  const many = join(dir, 'many.rules');
  const rules = Array.from({ length: 3000 }, (_, k) => `-A INPUT -p tcp --dport ${70000 + k} -j ACCEPT`);
  writeFileSync(many, `*filter\n:INPUT DROP [0:0]\n${rules.join('\n')}\nCOMMIT\n`);
  const pieces: string[] = [];
  const code = await main(['check', '--no-analysis', many, good], (s) => pieces.push(s), () => {});
  assert.equal(code, 1);
  assert.ok(pieces.length > 3, `${pieces.length} pieces`);
  const out = pieces.join('');
  assert.equal(out.match(/error\[invalid-port\]/g)?.length, 3000);
  // The source line of the last rule, and the summary of both files, at the end.
  assert.ok(out.includes(`  ${rules[2999]}\n`));
  assert.ok(pieces[pieces.length - 1].endsWith('2 files checked (1 clean): 3000 errors, 0 warnings\n'), pieces[pieces.length - 1].slice(-200));
  // Every diagnostic comes whole in one piece.
  for (const p of pieces) assert.ok(p.endsWith('\n'));
});

test('JSON output has 1-based positions', async () => {
  const { out } = await run(['check', '--format', 'json', bad]);
  const j = JSON.parse(out);
  const d = j.files[0].diagnostics.find((x: { code: string }) => x.code === 'invalid-port');
  assert.deepEqual([d.line, d.column, d.endLine, d.endColumn, d.severity, d.code], [3, 25, 3, 30, 'error', 'invalid-port']);
  assert.deepEqual(d.related, []);
});

test('SARIF output is a 2.1.0 log with rule ids', async () => {
  const { out } = await run(['check', '--format', 'sarif', bad]);
  const s = JSON.parse(out);
  assert.equal(s.version, '2.1.0');
  const r = s.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'invalid-port');
  assert.equal(r.locations[0].physicalLocation.region.startLine, 3);
});

test('--severity overrides a code', async () => {
  const r = await run(['check', '--severity', 'invalid-port=warning', bad]);
  assert.equal(r.code, 0);
  assert.match(r.out, /warning\[invalid-port\]/);
  assert.equal((await run(['check', '--severity', 'nonsense=off', bad])).code, 2);
});

test('--analysis-effort takes a positive number, and limits say how to raise them', async () => {
  assert.equal((await run(['check', '--analysis-effort', '0', good])).code, 2);
  assert.equal((await run(['check', '--analysis-effort=x', good])).code, 2);
  // A chain of 1,500 rules whose rules overlap in more pairs than the analysis compares at
  // effort 1 (address rules and port rules, alternating), not at effort 2.
  const many = join(dir, 'many.rules');
  const rules = Array.from({ length: 1500 }, (_, k) => (k % 2 === 0 ? `-A INPUT -s 10.0.${k >> 8}.${k & 255} -j ACCEPT` : `-A INPUT -p tcp -m tcp --dport ${k} -j DROP`));
  writeFileSync(many, ['*filter', ':INPUT DROP [0:0]', ...rules, 'COMMIT', ''].join('\n'));
  const normal = await run(['check', many]);
  assert.match(normal.out, /information\[analysis-skipped\]: chain INPUT has 1,500 rules, more than the 1,000 the analysis compares pairwise, and they may overlap in up to [\d,]+ pairs, .*\(raise it with --analysis-effort N\)/);
  const more = await run(['check', '--analysis-effort', '2', many]);
  assert.doesNotMatch(more.out, /analysis-skipped/);
});

test('check - reads standard input (iptables-save | iptables-lsp check -)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../server/src/cli/main.ts'), 'check', '-'], { input: readFileSync(bad, 'utf8'), encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^<stdin>:3:25: error\[invalid-port\]/m);
});

test('directory search: a symbolic link loop is searched once, pipes and devices are skipped with a note', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iptables-lsp-walk-'));
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'a', 'good.rules'), readFileSync(good, 'utf8'));
  symlinkSync('..', join(root, 'a', 'up'));
  symlinkSync('/dev/zero', join(root, 'zero.rules'));
  symlinkSync(join(root, 'missing'), join(root, 'dangling.rules'));
  const fifo = spawnSync('mkfifo', [join(root, 'pipe.rules')]).status === 0;
  const r = await run(['check', root]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /1 file checked/);
  assert.match(r.err, /skipped '.*zero\.rules': not a file \(a device or socket\)/);
  assert.match(r.err, /skipped '.*dangling\.rules': no such file or directory/);
  if (fifo) assert.match(r.err, /skipped '.*pipe\.rules': a named pipe/);
  const device = await run(['check', '/dev/zero']);
  assert.equal(device.code, 2);
  assert.match(device.err, /cannot read '\/dev\/zero': not a file/);
});

test('fmt prints the formatted file, --check lists unformatted files (exit 1), --write rewrites only those', async () => {
  const messy = join(dir, 'messy.rules');
  const text = '*filter\n:INPUT ACCEPT [0:0]\n-A  INPUT   -p tcp  --dport 22 -j ACCEPT\n# a comment   keeps its blanks\nCOMMIT\n';
  const want = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n# a comment   keeps its blanks\nCOMMIT\n';
  writeFileSync(messy, text);
  const printed = await run(['fmt', messy]);
  assert.equal(printed.code, 0);
  assert.equal(printed.out, want);
  assert.equal(readFileSync(messy, 'utf8'), text, 'printing must not write the file');
  const checked = await run(['fmt', '--check', messy, good]);
  assert.equal(checked.code, 1);
  assert.equal(checked.err, `${messy}: not formatted\n`);
  const written = await run(['fmt', '--write', messy, good]);
  assert.equal(written.code, 0);
  assert.equal(written.err, `${messy}: formatted\n`);
  assert.equal(readFileSync(messy, 'utf8'), want);
  assert.equal((await run(['fmt', '--check', messy])).code, 0);
  assert.equal((await run(['fmt', '--check', '--write', messy])).code, 2);
});

test('a reader that closes the pipe early ends the CLI quietly with exit code 2, not an unhandled error', async () => {
  // Enough findings to fill the pipe many times over.
  const rules = Array.from({ length: 3000 }, (_, k) => `-A INPUT -s 10.0.${k >> 8}.${k & 255} -j FOO${k}`).join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../server/src/cli/main.ts'), 'check', '--no-analysis', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(`*filter\n:INPUT ACCEPT [0:0]\n${rules}\nCOMMIT\n`);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Read the first chunk, then close the reading end, as `| head -1` does.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 2);
  assert.doesNotMatch(stderr, /Error|internal error|at /);
});
