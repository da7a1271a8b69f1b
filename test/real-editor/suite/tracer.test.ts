/**
 * The packet tracer in the editor: "Trace Packet…" with a packet and a path (as scripts call it)
 * and from the editor title button (which passes the file's URI, then asks), the results view and
 * its items, the path decorations, "Why Would This Be Dropped?" on a DROP rule (accepting the
 * prefilled prompts), and "Clear Trace".
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { acceptingPrompts, diagnosticsWith, extensionApi, lineOf, show, waitFor } from './helpers.ts';

/** The answer of the tracer's commands (the parts the tests read). */
interface TraceAnswer {
  ok: boolean;
  error?: string;
  trace?: {
    packet: string;
    verdict: string;
    decided: boolean;
    outcomes: { verdict: string; matched: { line: number | null; chain: string }[] }[];
  };
}

/** A packet from the VM with an address it does not own: the anti-spoofing chain drops it. */
const SPOOFED = 'proto=udp src=10.0.0.9 dst=10.0.0.1 sport=5000 dport=53 in=qbr0 out=qbr0 physdev-in=tap5f2a4e0c-8d physdev-out=qvb0 physdev-is-bridged state=NEW';
/** A packet to the VM that only an ipset decides (the trace of test/trace-editor.test.ts). */
const TO_VM = 'proto=udp src=10.0.0.1 dst=10.0.0.5 sport=69 dport=40000 in=br-int physdev-in=qvb0 physdev-out=tap5f2a4e0c-8d physdev-is-bridged state=NEW';

/** The results view's items as VS Code asks for them: labels of the roots with their children's labels. */
async function resultsTree(): Promise<{ label: string; children: { label: string; command?: vscode.Command }[] }[]> {
  const { tree } = (await extensionApi()).trace;
  const roots = (await tree.getChildren()) ?? [];
  return Promise.all(roots.map(async (root) => ({
    label: String((await tree.getTreeItem(root)).label),
    children: await Promise.all(((await tree.getChildren(root)) ?? []).map(async (child) => {
      const item = await tree.getTreeItem(child);
      return { label: String(item.label), ...(item.command ? { command: item.command } : {}) };
    })),
  })));
}

/** Opens the compute-node dump and waits until the server has checked it. */
async function computeNode(): Promise<vscode.TextEditor> {
  const editor = await show('compute-node.rules');
  await diagnosticsWith(editor.document.uri, 'missing-ipset');
  return editor;
}

suite('packet tracer', () => {
  test('Trace Packet: the verdict and the deciding rule in the results view, the path decorated', async () => {
    const editor = await computeNode();
    const document = editor.document;
    const api = await extensionApi();
    const answer = await vscode.commands.executeCommand<TraceAnswer>('iptables.tracePacket', SPOOFED, 'forward');
    assert.ok(answer.ok, answer.error);
    assert.equal(answer.trace?.verdict, 'DROP');
    assert.equal(answer.trace?.decided, true);

    const dropLine = lineOf(document, 'Drop traffic without an IP/MAC allow rule.') + 1;
    const tree = await resultsTree();
    assert.deepEqual(tree.map((r) => r.label), ['DROP']);
    const steps = tree[0]!.children;
    const deciding = steps.find((s) => s.label.endsWith(`filter neutron-openvswi-s5f2a4e0c-8:${dropLine} → DROP`));
    assert.ok(deciding, `the deciding rule among the steps:\n${steps.map((s) => s.label).join('\n')}`);
    assert.ok(deciding.label.startsWith('✓ FORWARD '));
    // Clicking a step opens the file at the rule.
    assert.equal(deciding.command?.command, 'vscode.open');
    assert.equal(String(deciding.command?.arguments?.[0]), document.uri.toString());
    assert.equal((deciding.command?.arguments?.[1] as { selection: vscode.Range }).selection.start.line, dropLine - 1);

    const decorations = api.trace.decorations(document.uri);
    assert.ok(decorations, 'the editor is decorated');
    assert.equal(decorations.deciding, dropLine);
    const jumpToSg = lineOf(document, '-A neutron-openvswi-FORWARD -m physdev --physdev-in tap5f2a4e0c-8d') + 1;
    const jumpToSpoof = lineOf(document, '-A neutron-openvswi-o5f2a4e0c-8 -j neutron-openvswi-s5f2a4e0c-8') + 1;
    for (const line of [jumpToSg, jumpToSpoof]) assert.ok(decorations.path.includes(line), `line ${line} is on the decorated path ${decorations.path.join(', ')}`);
    assert.ok(!decorations.path.includes(dropLine), 'the deciding rule has its own decoration');

    // The results view is shown in the Explorer.
    await waitFor('the iptables Trace view to be visible', () => api.trace.view.visible);
  });

  test('Trace Packet on a packet an ipset decides: one outcome per branch', async () => {
    const editor = await computeNode();
    const answer = await vscode.commands.executeCommand<TraceAnswer>('iptables.tracePacket', TO_VM, 'forward');
    assert.ok(answer.ok, answer.error);
    assert.equal(answer.trace?.verdict, 'UNDECIDED');
    const tree = await resultsTree();
    assert.equal(tree.length, answer.trace?.outcomes.length);
    const drop = tree.find((r) => /^outcome \d+: DROP — assuming /.test(r.label));
    assert.ok(drop, `a DROP outcome among ${tree.map((r) => r.label).join(' | ')}`);
    const fallback = lineOf(editor.document, '-A neutron-openvswi-sg-fallback') + 1;
    assert.ok(drop.children.some((s) => s.label.endsWith(`neutron-openvswi-sg-fallback:${fallback} → DROP`)));
    assert.ok(tree.some((r) => /^outcome \d+: ACCEPT/.test(r.label)));
  });

  test('Trace Packet from the editor title button (URI argument) asks for the packet and the path', async () => {
    const editor = await computeNode();
    const first = await vscode.commands.executeCommand<TraceAnswer>('iptables.tracePacket', SPOOFED, 'forward');
    assert.ok(first.ok, first.error);
    // The editor/title menu passes the file's URI and the editor group; the prompts offer the last
    // packet (history) and the forward path first.
    const answer = await acceptingPrompts<TraceAnswer>('iptables.tracePacket', editor.document.uri, { groupId: 1 });
    assert.ok(answer?.ok, answer?.error);
    assert.equal(answer.trace?.packet, first.trace?.packet);
    assert.equal(answer.trace?.verdict, 'DROP');
  });

  test('Why Would This Be Dropped? on a DROP rule traces the packet and path it prefills', async () => {
    const editor = await show('why-dropped.rules');
    const document = editor.document;
    await waitFor('the server to have checked why-dropped.rules', async () => {
      const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[] | undefined>('vscode.executeDocumentSymbolProvider', document.uri);
      return symbols && symbols.length > 0;
    });
    // The cursor on the DROP rule, as when the rule's context menu is opened.
    const dropLine = lineOf(document, '-A telnet-guard -p tcp -m tcp --dport 23 -j DROP');
    editor.selection = new vscode.Selection(dropLine, 4, dropLine, 4);
    const answer = await acceptingPrompts<TraceAnswer>('iptables.whyDropped');
    assert.ok(answer?.ok, answer?.error);
    // The prefilled packet is the rule's own match, and the path is the one that reaches the rule
    // (INPUT), so accepting both prompts explains the drop.
    assert.equal(answer.trace?.packet, 'proto=tcp dport=23');
    assert.equal(answer.trace?.verdict, 'DROP');
    assert.equal(answer.trace?.decided, true);
    const decorations = (await extensionApi()).trace.decorations(document.uri);
    assert.equal(decorations?.deciding, dropLine + 1);
    assert.deepEqual(decorations?.path, [lineOf(document, '-A INPUT -p tcp -m tcp --dport 23 -j telnet-guard') + 1]);
  });

  test('Clear Trace removes the decorations and the results', async () => {
    const editor = await computeNode();
    const api = await extensionApi();
    const answer = await vscode.commands.executeCommand<TraceAnswer>('iptables.tracePacket', SPOOFED, 'forward');
    assert.ok(answer.ok, answer.error);
    assert.ok(api.trace.decorations(editor.document.uri));
    await vscode.commands.executeCommand('iptables.clearTrace');
    assert.equal(api.trace.decorations(editor.document.uri), undefined);
    assert.deepEqual((await resultsTree()).map((r) => r.label), []);
    await waitFor('the iptables Trace view to be hidden', () => !api.trace.view.visible);
  });
});
