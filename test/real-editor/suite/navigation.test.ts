/**
 * The language features through VS Code's own provider commands (what the editor calls for F12,
 * Shift+F12, F2, hovers, suggestions, the Outline and Format Document) on a Neutron compute-node
 * dump, and completion and formatting on untitled documents.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { diagnosticsWith, hoverText, labelOf, lineOf, linesWith, positionOf, show, waitFor } from './helpers.ts';

const SG_CHAIN = 'neutron-openvswi-sg-chain';

/** Opens the compute-node dump and waits until the server has checked it. */
async function computeNode(): Promise<vscode.TextDocument> {
  const editor = await show('compute-node.rules');
  // The dump uses an ipset, which always gets the missing-ipset warning: proof the server is ready.
  await diagnosticsWith(editor.document.uri, 'missing-ipset');
  return editor.document;
}

/** The chains declared (`:NAME …` lines) in the first table of a document, in order. */
function firstTableChains(document: vscode.TextDocument): string[] {
  const end = lineOf(document, '*nat');
  const out: string[] = [];
  for (let line = 0; line < end; line += 1) {
    const text = document.lineAt(line).text;
    if (text.startsWith(':')) out.push(text.slice(1).split(' ')[0]!);
  }
  return out;
}

/** A location or location link as (uri, range). */
function target(l: vscode.Location | vscode.LocationLink): { uri: vscode.Uri; range: vscode.Range } {
  return 'targetUri' in l ? { uri: l.targetUri, range: l.targetSelectionRange ?? l.targetRange } : { uri: l.uri, range: l.range };
}

suite('navigation and editing', () => {
  test('go to definition from a -j jump lands on the :CHAIN declaration', async () => {
    const document = await computeNode();
    const jump = positionOf(document, `-j ${SG_CHAIN}`, 5);
    const found = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', document.uri, jump);
    assert.equal(found.length, 1);
    const { uri, range } = target(found[0]!);
    assert.equal(uri.toString(), document.uri.toString());
    assert.deepEqual([range.start.line, range.start.character], [lineOf(document, `:${SG_CHAIN} `), 1]);
    assert.equal(document.getText(range), SG_CHAIN);
  });

  test('find references: the declaration, the jumps and the chain\'s own rules', async () => {
    const document = await computeNode();
    const jump = positionOf(document, `-j ${SG_CHAIN}`, 5);
    const refs = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', document.uri, jump);
    const expected = linesWith(document, `:${SG_CHAIN} `, `-j ${SG_CHAIN}`, `-A ${SG_CHAIN} `);
    assert.equal(expected.length, 1 + 2 + 3);
    assert.deepEqual([...new Set(refs.map((r) => r.range.start.line))].sort((a, b) => a - b), expected);
    assert.ok(refs.every((r) => document.getText(r.range) === SG_CHAIN));
  });

  test('rename: one WorkspaceEdit touching the declaration, the -A lines and the jumps', async () => {
    const document = await computeNode();
    const jump = positionOf(document, `-j ${SG_CHAIN}`, 5);
    const edit = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', document.uri, jump, 'sg-renamed');
    const entries = edit.entries();
    assert.deepEqual(entries.map(([uri]) => uri.toString()), [document.uri.toString()]);
    const edits = entries[0]![1];
    assert.ok(edits.every((e) => e.newText === 'sg-renamed' && document.getText(e.range) === SG_CHAIN));
    const touched = edits.map((e) => e.range.start.line).sort((a, b) => a - b);
    assert.deepEqual(touched, linesWith(document, `:${SG_CHAIN} `, `-j ${SG_CHAIN}`, `-A ${SG_CHAIN} `));
    // Builtin chains cannot be renamed.
    await assert.rejects(Promise.resolve(vscode.commands.executeCommand('vscode.executeDocumentRenameProvider', document.uri, positionOf(document, '-A FORWARD', 4), 'X')));
  });

  test('hover on a rule reads it in plain English; on a chain it describes the chain', async () => {
    const document = await computeNode();
    const rule = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, positionOf(document, '-p tcp -m tcp --dport 22 -j RETURN'));
    assert.match(hoverText(rule), /Returns TCP packets to port 22 to the calling chain\./);
    const chain = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, positionOf(document, `-j ${SG_CHAIN}`, 5));
    assert.match(hoverText(chain), new RegExp(`chain \`${SG_CHAIN}\``));
    assert.match(hoverText(chain), /called by 2 rules in 1 chain: `neutron-openvswi-FORWARD`/);
  });

  test('document symbols: the tables, each with its chains (the Outline)', async () => {
    const document = await computeNode();
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', document.uri);
    assert.deepEqual(symbols.map((s) => s.name), ['filter', 'nat', 'raw']);
    assert.deepEqual(symbols[0]!.children.map((c) => c.name), firstTableChains(document));
    assert.equal(symbols[0]!.children.find((c) => c.name === 'INPUT')?.detail, 'policy ACCEPT, 1 rule');
  });

  test('completion after "-j " offers the table\'s user chains and the verdicts', async () => {
    const source = await computeNode();
    const text = source.getText().replace(`-A ${SG_CHAIN} -j ACCEPT\n`, `-A ${SG_CHAIN} -j ACCEPT\n-A ${SG_CHAIN} -j \n`);
    const document = await vscode.workspace.openTextDocument({ language: 'iptables', content: text });
    const line = lineOf(document, `-A ${SG_CHAIN} -j `) + 1;
    assert.equal(document.lineAt(line).text, `-A ${SG_CHAIN} -j `);
    const at = new vscode.Position(line, document.lineAt(line).text.length);
    const list = await waitFor('completion items from the server', async () => {
      const l = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, at);
      return l.items.length > 0 && l;
    });
    const labels = list.items.map(labelOf);
    const userChains = firstTableChains(document).filter((c) => c.startsWith('neutron-'));
    assert.equal(userChains.length, 10);
    for (const chain of userChains) assert.ok(labels.includes(chain), `${chain} offered`);
    for (const verdict of ['ACCEPT', 'DROP', 'RETURN']) assert.ok(labels.includes(verdict), `${verdict} offered`);
    assert.ok(!labels.includes('multiport'), 'match modules are not offered after -j');
    assert.ok(!labels.includes('PREROUTING'), 'chains of other tables are not offered');
  });

  test('Format Document respaces lines and keeps words, counters and quoted values', async () => {
    const input = '*filter\n:INPUT   ACCEPT\t[10:200]\n:web - [0:0]\n  -A INPUT   -p tcp  -m comment --comment "two  spaces"   -j   web   \n[5:300]   -A web  ! -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n';
    const document = await vscode.workspace.openTextDocument({ language: 'iptables', content: input });
    const edits = await waitFor('formatting edits from the server', async () => {
      const e = await vscode.commands.executeCommand<vscode.TextEdit[] | undefined>('vscode.executeFormatDocumentProvider', document.uri, { tabSize: 2, insertSpaces: true });
      return e && e.length > 0 && e;
    });
    const edit = new vscode.WorkspaceEdit();
    edit.set(document.uri, edits);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(document.getText(), '*filter\n:INPUT ACCEPT [10:200]\n:web - [0:0]\n-A INPUT -p tcp -m comment --comment "two  spaces" -j web\n[5:300] -A web ! -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n');
    const again = await vscode.commands.executeCommand<vscode.TextEdit[] | undefined>('vscode.executeFormatDocumentProvider', document.uri, { tabSize: 2, insertSpaces: true });
    assert.deepEqual(again ?? [], [], 'formatting is idempotent');
  });
});
