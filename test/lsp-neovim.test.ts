/**
 * A second real LSP client: headless Neovim (Debian's `neovim` package) starts
 * `node dist/cli.cjs lsp --stdio` through its built-in client, receives the diagnostics, sends
 * definition, references, hover, rename, documentSymbol, completion and formatting requests, and
 * edits the buffer (incremental sync). Without Neovim the test is skipped with a loud warning,
 * except under CI=true, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/cli.cjs');
const nvim = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
const hasNvim = nvim.status === 0;
if (!hasNvim) {
  const msg = 'nvim not found (apt-get install -y neovim): the Neovim LSP test cannot run';
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n!!! WARNING: ${msg}; SKIPPED !!!\n`);
}

interface Pos { line: number; character: number }
interface Output {
  diagnostics: { code: string; line: number; character: number }[];
  responses: { method: string; result: unknown; error: unknown }[];
  after_edit: { code: string }[];
  errors: string[];
}

test('Neovim (headless) drives the stdio server', { skip: !hasNvim && 'nvim is not installed' }, () => {
  assert.ok(existsSync(cli), 'dist/cli.cjs is built');
  const dir = mkdtempSync(join(tmpdir(), 'iptables-nvim-'));
  try {
    const text = readFileSync(join(root, 'examples/l3-router.rules'), 'utf8').replace(/^COMMIT$/m, '-A FORWARD -j neutron-l3-missing\nCOMMIT');
    const file = join(dir, 'router.rules');
    writeFileSync(file, text);
    const lines = text.split('\n');
    const find = (needle: string, offset = 0): Pos => {
      const line = lines.findIndex((l) => l.includes(needle));
      assert.ok(line >= 0, needle);
      return { line, character: lines[line].indexOf(needle) + offset };
    };
    const jump = find('-j neutron-l3-agent-FORWARD', 3);
    const decl = find(':neutron-l3-agent-FORWARD', 1);
    const requests = [
      { method: 'textDocument/definition', params: { position: jump } },
      { method: 'textDocument/references', params: { position: jump, context: { includeDeclaration: true } } },
      { method: 'textDocument/hover', params: { position: jump } },
      { method: 'textDocument/rename', params: { position: jump, newName: 'l3-forward' } },
      { method: 'textDocument/documentSymbol', params: {} },
      { method: 'textDocument/completion', params: { position: { line: jump.line, character: jump.character } } },
      { method: 'textDocument/formatting', params: { options: { tabSize: 2, insertSpaces: true } } },
    ];
    const reqFile = join(dir, 'requests.json');
    writeFileSync(reqFile, JSON.stringify(requests));
    const outFile = join(dir, 'out.json');
    const missingDecl = find(':neutron-l3-agent-FORWARD').line;
    const r = spawnSync('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '-c', `luafile ${join(root, 'test/editor/nvim-check.lua')}`], {
      env: { ...process.env, IPTABLES_LSP_CLI: cli, IPTABLES_LSP_FILE: file, IPTABLES_LSP_REQUESTS: reqFile, IPTABLES_LSP_OUT: outFile, IPTABLES_LSP_EDIT: JSON.stringify({ line: missingDecl, text: ':neutron-l3-missing - [0:0]' }) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.ok(existsSync(outFile), `Neovim wrote no result (status ${r.status}): ${r.stderr}${r.stdout}`);
    const out = JSON.parse(readFileSync(outFile, 'utf8')) as Output;
    assert.deepEqual(out.errors, []);
    const jumpLine = find('-A FORWARD -j neutron-l3-missing').line;
    assert.deepEqual(out.diagnostics.filter((d) => d.code === 'undefined-chain').map((d) => d.line), [jumpLine]);
    const others = out.diagnostics.filter((d) => d.code !== 'undefined-chain').map((d) => d.code);
    const byMethod = new Map(out.responses.map((x) => [x.method, x]));
    for (const x of out.responses) assert.equal(x.error, null, `${x.method}: ${String(x.error)}`);
    const def = byMethod.get('textDocument/definition')!.result as { range: { start: Pos } };
    assert.deepEqual(def.range.start, decl);
    const refs = byMethod.get('textDocument/references')!.result as unknown[];
    assert.ok(refs.length >= 3);
    const hover = byMethod.get('textDocument/hover')!.result as { contents: { value: string } };
    assert.match(hover.contents.value, /chain `neutron-l3-agent-FORWARD`/);
    const rename = byMethod.get('textDocument/rename')!.result as { changes: Record<string, unknown[]> };
    assert.equal(Object.values(rename.changes)[0].length, refs.length);
    const symbols = byMethod.get('textDocument/documentSymbol')!.result as { name: string }[];
    assert.deepEqual(symbols.map((s) => s.name), ['filter', 'mangle', 'nat', 'raw'].filter((t) => text.includes(`*${t}\n`)).sort((a, b) => text.indexOf(`*${a}\n`) - text.indexOf(`*${b}\n`)));
    const completion = byMethod.get('textDocument/completion')!.result as { items: { label: string }[] };
    assert.ok(completion.items.some((i) => i.label === 'neutron-l3-agent-FORWARD'));
    assert.deepEqual(byMethod.get('textDocument/formatting')!.result, []);
    assert.deepEqual(out.after_edit.map((d) => d.code), others, 'the declaration added in Neovim fixes the jump and nothing else changes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
