/**
 * Neutron in the editor: "Generate Rules" on a `.policy` file (accepting its prompts: security
 * groups, this host, IPv4) opens a preview in the `iptables` language with Neutron's chains, which
 * the server checks and which follows edits of the policy.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { acceptingPrompts, codeOf, lineOf, show, waitFor } from './helpers.ts';

suite('neutron', () => {
  test('Generate Rules opens an iptables preview with neutron- chains that follows the policy', async () => {
    const policy = (await show('neutron/sg-ovs-hybrid.policy')).document;
    assert.equal(policy.languageId, 'neutron-policy');
    const preview = await acceptingPrompts<vscode.TextDocument | undefined>('iptables.generateRules');
    assert.ok(preview, 'the command resolves to the preview');
    assert.equal(preview.languageId, 'iptables');
    assert.equal(preview.uri.scheme, 'iptables-gen');
    const text = preview.getText();
    for (const chain of ['neutron-openvswi-sg-chain', 'neutron-openvswi-i5f2a4e0c-8', 'neutron-openvswi-o5f2a4e0c-8', 'neutron-openvswi-sg-fallback']) {
      assert.match(text, new RegExp(`^:${chain} - \\[0:0\\]$`, 'm'), `${chain} is declared`);
    }
    assert.match(text, /^-A neutron-openvswi-i5f2a4e0c-8 .*--dport 22 -j RETURN$/m);
    assert.ok(vscode.window.visibleTextEditors.some((e) => e.document === preview), 'the preview is shown beside the policy');

    // The server checks the preview like any iptables file: the ipset rules get their warning.
    await waitFor('diagnostics on the preview', () => vscode.languages.getDiagnostics(preview.uri).some((d) => codeOf(d) === 'missing-ipset'));

    // Editing the policy regenerates the preview.
    const rule = lineOf(policy, 'ingress tcp port 22 from 0.0.0.0/0');
    const edit = new vscode.WorkspaceEdit();
    edit.replace(policy.uri, new vscode.Range(rule, 0, rule, policy.lineAt(rule).text.length), '  ingress tcp port 2222 from 0.0.0.0/0');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await waitFor('the preview to follow the edited policy', () => /--dport 2222 -j RETURN$/m.test(preview.getText()));
    await vscode.window.showTextDocument(policy);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('the preview to follow the reverted policy', () => /--dport 22 -j RETURN$/m.test(preview.getText()));
  });
});
