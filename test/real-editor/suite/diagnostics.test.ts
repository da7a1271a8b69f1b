/**
 * Diagnostics as VS Code shows them: the server's stable codes on the right lines with the right
 * severities, the quick fix for a missing chain, and "Fix All Problems" followed by the edit's
 * diagnostics (incremental sync).
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { codeOf, diagnosticsWith, lineOf, show, waitFor } from './helpers.ts';

suite('diagnostics', () => {
  test('an error and a warning with their codes, lines and severities', async () => {
    const editor = await show('diagnostics.rules');
    const document = editor.document;
    // The validity diagnostics come first; the rule-set analysis follows and, since the table has
    // an error (iptables-restore would refuse it), adds only a note on the table header.
    const all = await diagnosticsWith(document.uri, 'analysis-skipped');
    const summary = all.map((d) => `${codeOf(d)}@${d.range.start.line}:${vscode.DiagnosticSeverity[d.severity]}`).sort();
    assert.deepEqual(summary, [
      `undefined-chain@${lineOf(document, '-j web-in')}:Error`,
      `unused-chain@${lineOf(document, ':old-web')}:Warning`,
      `analysis-skipped@${lineOf(document, '*filter')}:Information`,
    ].sort());
    const undefinedChain = all.find((d) => codeOf(d) === 'undefined-chain')!;
    // The squiggle covers the jump target only.
    assert.equal(document.getText(undefinedChain.range), 'web-in');
    assert.match(undefinedChain.message, /web-in: no chain or target of that name exists in table 'filter'/);
    assert.ok(all.find((d) => codeOf(d) === 'unused-chain')!.tags?.includes(vscode.DiagnosticTag.Unnecessary), 'an unused chain is drawn faded');
  });

  test('the quick fix declares the missing chain, and Fix All applies it', async () => {
    const editor = await show('diagnostics.rules');
    const document = editor.document;
    const [undefinedChain] = (await diagnosticsWith(document.uri, 'undefined-chain')).filter((d) => codeOf(d) === 'undefined-chain');
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, undefinedChain!.range);
    const declare = actions.find((a) => a.title === "Declare chain 'web-in' in table filter");
    assert.ok(declare, `actions offered: ${actions.map((a) => a.title).join(', ')}`);
    assert.ok(declare.kind && vscode.CodeActionKind.QuickFix.contains(declare.kind));

    // Fix All acts on the active editor: make sure it is this one (a notification or a view of an
    // earlier test may hold the focus).
    await vscode.window.showTextDocument(document, { preview: false });
    await waitFor('the document in the active editor', () => vscode.window.activeTextEditor?.document === document);
    await vscode.commands.executeCommand('iptables.fixAll');
    await waitFor('the declaration added by Fix All', () => document.getText().includes(':web-in - [0:0]'));
    // Without the error the table is analysed: the rule of the chain nothing jumps to is unreachable.
    // Wait for that publication (the validity one, without the analysis, comes first).
    const after = await waitFor('diagnostics of the fixed file with its analysis', () => {
      const d = vscode.languages.getDiagnostics(document.uri);
      return !d.some((x) => codeOf(x) === 'undefined-chain') && d.some((x) => codeOf(x) === 'unreachable-rule') && d;
    });
    assert.deepEqual(after.map((d) => `${codeOf(d)}@${d.range.start.line}`).sort(), [
      `unused-chain@${lineOf(document, ':old-web')}`,
      `unreachable-rule@${lineOf(document, '-A old-web')}`,
    ].sort());
    assert.match(after.find((d) => codeOf(d) === 'unreachable-rule')!.message, /chain old-web is never jumped to/);

    // Back to the file on disk: the error comes back.
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.ok(!document.isDirty);
    await diagnosticsWith(document.uri, 'undefined-chain');
  });
});
