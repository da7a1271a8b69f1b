/**
 * The editor side of the packet tracer: the "iptables: Trace packet…" command (an input with the
 * packet syntax, remembered history and field completion), the path shown as decorations on the
 * matched lines, a results tree whose steps jump to their rules, and "Why would this be dropped?"
 * from a rule's context menu, prefilled from the rule. All tracing is done by the server.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';

type TracePath = 'input' | 'forward' | 'output';

/** The parts of the server's trace JSON that the view shows. */
interface StepJson {
  kind: string;
  hook: string;
  table: string;
  chain?: string;
  line?: number | null;
  matched?: boolean | 'undecided';
  failed?: string;
  action?: string;
}
interface OutcomeJson {
  verdict: string;
  policy: boolean;
  matched: { line: number | null; table: string; chain: string }[];
  steps: StepJson[];
  assumptions: string[];
}
interface TraceJson {
  packet: string;
  verdict: string;
  decided: boolean;
  outcomes: OutcomeJson[];
}
type TraceAnswer = { ok: true; trace: TraceJson; text: string } | { ok: false; error: string };

const HISTORY_KEY = 'iptables.traceHistory';
const FIELDS = ['proto=', 'src=', 'dst=', 'sport=', 'dport=', 'in=', 'out=', 'state=', 'mark=', 'physdev-in=', 'physdev-out=', 'physdev-is-bridged', 'icmp-type=', 'flags='];
const PATHS: readonly TracePath[] = ['forward', 'input', 'output'];

/** True when a command argument names a path through the host. */
function isTracePath(value: unknown): value is TracePath {
  return typeof value === 'string' && (PATHS as readonly string[]).includes(value);
}

/** A node of the results tree: an outcome or one of its steps. */
class TraceItem extends vscode.TreeItem {
  constructor(label: string, readonly children: TraceItem[], uri?: vscode.Uri, line?: number | null) {
    super(label, children.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    if (uri && line) {
      this.command = { command: 'vscode.open', title: 'Go to rule', arguments: [uri, { selection: new vscode.Range(line - 1, 0, line - 1, 0) }] };
      this.tooltip = `line ${line}`;
    }
  }
}

/** Tree data for the "iptables trace" view. */
class TraceTree implements vscode.TreeDataProvider<TraceItem> {
  private roots: TraceItem[] = [];
  private readonly changed = new vscode.EventEmitter<TraceItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  clear(): void {
    this.roots = [];
    this.changed.fire(undefined);
  }
  show(uri: vscode.Uri, t: TraceJson): void {
    this.roots = t.outcomes.map((o, k) => {
      const steps = o.steps.map((s) => new TraceItem(stepLabel(s), [], uri, s.line));
      const head = `${t.outcomes.length > 1 ? `outcome ${k + 1}: ` : ''}${o.verdict}${o.policy ? ' (policy)' : ''}${o.assumptions.length ? ` — assuming ${o.assumptions.join('; ')}` : ''}`;
      return new TraceItem(head, steps);
    });
    this.changed.fire(undefined);
  }
  getTreeItem(e: TraceItem): vscode.TreeItem {
    return e;
  }
  getChildren(e?: TraceItem): TraceItem[] {
    return e ? e.children : this.roots;
  }
}

/** The 1-based lines a trace decorated in a document: the matched path and the rule that decided. */
export interface TraceDecorations {
  readonly path: readonly number[];
  readonly deciding: number | undefined;
}

/**
 * What the tracer shows, for the extension's API (VS Code offers no way to read another
 * extension's tree items or decorations): the results view with its data, and the decorated lines.
 */
export interface TraceState {
  readonly view: vscode.TreeView<vscode.TreeItem>;
  readonly tree: vscode.TreeDataProvider<vscode.TreeItem>;
  decorations(uri: vscode.Uri): TraceDecorations | undefined;
}

function stepLabel(s: StepJson): string {
  const where = `${s.table}${s.chain ? ' ' + s.chain : ''}`;
  const mark = s.matched === true ? '✓' : s.matched === 'undecided' ? '?' : s.matched === false ? '✗' : '·';
  const line = s.line ? `:${s.line}` : '';
  return `${mark} ${s.hook} ${where}${line}${s.action ? ' → ' + s.action : ''}${s.failed ? ` (${s.failed})` : ''}`;
}

/** Registers the tracer's commands and view, and returns what they show. */
export function registerTrace(context: vscode.ExtensionContext, client: LanguageClient): TraceState {
  const tree = new TraceTree();
  const view = vscode.window.createTreeView('iptables.traceResults', { treeDataProvider: tree });
  const decorated = new Map<string, TraceDecorations>();
  const matchedDeco = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    isWholeLine: true,
  });
  const decidingDeco = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'),
    isWholeLine: true,
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 2em' },
  });
  const output = vscode.window.createOutputChannel('iptables trace');

  /** Asks for a packet, offering the history and the field names while typing. */
  const askPacket = async (initial?: string): Promise<string | undefined> => {
    const history = context.globalState.get<string[]>(HISTORY_KEY, []);
    const qp = vscode.window.createQuickPick();
    qp.title = 'Trace packet';
    qp.placeholder = 'proto=udp src=10.0.0.1 dst=10.0.0.5 sport=69 dport=40000 physdev-out=tap… physdev-is-bridged';
    qp.value = initial ?? '';
    const refresh = (): void => {
      const typed = qp.value.trim();
      const last = typed.split(/\s+/).pop() ?? '';
      const fieldHints = FIELDS.filter((f) => last !== '' && f.startsWith(last) && f !== last).map((f) => ({ label: `${typed.slice(0, typed.length - last.length)}${f}`, description: 'field' }));
      qp.items = [...(typed ? [{ label: typed, description: 'trace this packet' }] : []), ...fieldHints, ...history.filter((h) => h !== typed).map((h) => ({ label: h, description: 'history' }))];
    };
    qp.onDidChangeValue(refresh);
    refresh();
    return new Promise((resolve) => {
      qp.onDidAccept(() => {
        const v = qp.selectedItems[0]?.label ?? qp.value;
        if (v.endsWith('=')) {
          qp.value = v;
          return;
        }
        resolve(v.trim());
        qp.hide();
      });
      qp.onDidHide(() => {
        resolve(undefined);
        qp.dispose();
      });
      qp.show();
    });
  };

  const run = async (editor: vscode.TextEditor, packet: string, path: TracePath): Promise<TraceAnswer> => {
    const answer = await client.sendRequest<TraceAnswer>('iptables/trace', { uri: editor.document.uri.toString(), packet, path });
    if (!answer.ok) {
      void vscode.window.showErrorMessage(`iptables trace: ${answer.error}`);
      return answer;
    }
    const history = context.globalState.get<string[]>(HISTORY_KEY, []).filter((h) => h !== packet);
    await context.globalState.update(HISTORY_KEY, [packet, ...history].slice(0, 20));
    tree.show(editor.document.uri, answer.trace);
    await vscode.commands.executeCommand('setContext', 'iptables.traceVisible', true);
    output.clear();
    output.appendLine(answer.text);
    const first = answer.trace.outcomes[0];
    const matchedLines = new Set((answer.trace.decided ? first.matched : []).map((m) => m.line).filter((l): l is number => !!l));
    const stepLines = first ? first.steps.filter((s) => s.line && s.matched === true) : [];
    const deciding = first?.steps.filter((s) => s.kind === 'rule' && s.matched === true).pop();
    const pathLines = [...matchedLines, ...stepLines.map((s) => s.line!)].filter((l, i, a) => a.indexOf(l) === i && l !== deciding?.line);
    editor.setDecorations(matchedDeco, pathLines.map((l) => new vscode.Range(l - 1, 0, l - 1, 0)));
    editor.setDecorations(decidingDeco, deciding?.line ? [{ range: new vscode.Range(deciding.line - 1, 0, deciding.line - 1, 0), renderOptions: { after: { contentText: `⟵ ${answer.trace.verdict}` } } }] : []);
    decorated.set(editor.document.uri.toString(), { path: pathLines, deciding: deciding?.line ?? undefined });
    void vscode.commands.executeCommand('iptables.traceResults.focus');
    return answer;
  };

  // The suggested path comes first: a single-choice quick pick ignores `picked`, and Enter takes
  // the first item, so that is what accepting the prompt must trace.
  const pickPath = async (initial: TracePath): Promise<TracePath | undefined> => {
    const items = [initial, ...PATHS.filter((p) => p !== initial)];
    const pick = await vscode.window.showQuickPick(items.map((p) => ({ label: p })), { title: 'Path through the host', placeHolder: initial });
    return pick?.label as TracePath | undefined;
  };

  context.subscriptions.push(
    matchedDeco,
    decidingDeco,
    output,
    view,
    // With arguments (packet, path) the command runs without asking: scripts and tests use that.
    // The editor title button passes other arguments (the file's URI, the editor group), which
    // must not be taken for a packet: then it asks.
    vscode.commands.registerCommand('iptables.tracePacket', async (packetArg?: unknown, pathArg?: unknown) => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== 'iptables') {
        void vscode.window.showWarningMessage('iptables trace: open an iptables file first.');
        return undefined;
      }
      const packet = typeof packetArg === 'string' ? packetArg : await askPacket();
      if (packet === undefined) return undefined;
      const path = isTracePath(pathArg) ? pathArg : await pickPath('forward');
      if (!path) return undefined;
      return run(editor, packet, path);
    }),
    vscode.commands.registerCommand('iptables.whyDropped', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== 'iptables') return undefined;
      const pre = await client.sendRequest<{ packet: string; path: TracePath } | null>('iptables/packetFromRule', { uri: editor.document.uri.toString(), line: editor.selection.active.line });
      const packet = await askPacket(pre?.packet ?? '');
      if (packet === undefined) return undefined;
      const path = await pickPath(pre?.path ?? 'forward');
      if (!path) return undefined;
      return run(editor, packet, path);
    }),
    // Clears the decorations and the results, and hides the results view until the next trace.
    vscode.commands.registerCommand('iptables.clearTrace', async () => {
      for (const e of vscode.window.visibleTextEditors) {
        e.setDecorations(matchedDeco, []);
        e.setDecorations(decidingDeco, []);
      }
      decorated.clear();
      tree.clear();
      await vscode.commands.executeCommand('setContext', 'iptables.traceVisible', false);
    }),
  );
  return { view, tree, decorations: (uri) => decorated.get(uri.toString()) };
}
