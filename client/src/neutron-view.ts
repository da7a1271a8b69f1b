/**
 * The editor side of Neutron rule generation. "iptables: Generate Rules" (on a `.policy` file)
 * opens a read-only preview beside the policy, in the `iptables` language so that the server's
 * diagnostics and navigation work on it, regenerated as the policy is edited. "iptables: Insert
 * Neutron Block…" (on an iptables-save file) asks for a block's few parameters and applies the
 * server's merge of the generated rules as one edit; the same blocks are offered as completion items
 * at the start of an empty line. All generation and merging is done by the server.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node.js';

/** The URI scheme of the generated previews. */
const SCHEME = 'iptables-gen';

type GenPart = 'sg' | 'l3' | 'fwaas' | 'pbr';

/** What a preview shows: encoded as JSON in its URI's query. */
interface PreviewSource {
  uri: string;
  part: GenPart;
  router?: string;
  host?: string;
  ipv6?: boolean;
}

type GenerateAnswer = { ok: true; text: string; warnings: string[] } | { ok: false; error: string };
interface PolicyInfo { routers: string[]; hosts: string[]; localPorts: boolean }
interface BlockParam { key: string; prompt: string; example: string; optional?: boolean }
interface BlockKindInfo { kind: string; label: string; detail: string; params: BlockParam[] }
interface JsonRange { start: { line: number; character: number }; end: { line: number; character: number } }
type InsertBlockAnswer = { ok: true; edits: { range: JsonRange; newText: string }[] } | { ok: false; error: string };

const PARTS: readonly { part: GenPart; label: string; detail: string }[] = [
  { part: 'sg', label: 'sg', detail: 'security groups of a compute node' },
  { part: 'l3', label: 'l3', detail: "a router's l3-agent rules" },
  { part: 'fwaas', label: 'fwaas', detail: "a router's firewall groups" },
  { part: 'pbr', label: 'pbr', detail: "a router's steering rules" },
];

function previewUri(source: PreviewSource): vscode.Uri {
  const base = (source.uri.split('/').pop() ?? 'policy').replace(/\.policy$/i, '');
  const name = [base, source.part, source.router ?? source.host, source.ipv6 ? 'v6' : 'v4'].filter((x) => x !== undefined).join('-');
  return vscode.Uri.from({ scheme: SCHEME, path: `/${name}.rules`, query: JSON.stringify(source) });
}

function sourceOf(uri: vscode.Uri): PreviewSource | undefined {
  try {
    return JSON.parse(uri.query) as PreviewSource;
  } catch {
    return undefined;
  }
}

/** Turns an error text into comment lines, so the preview stays a valid iptables-save file. */
function asComment(text: string): string {
  return text.split('\n').map((l) => `# ${l}`).join('\n') + '\n';
}

/** Registers the generation preview, the block insertion command and its completion items. */
export function registerNeutron(context: vscode.ExtensionContext, client: LanguageClient): void {
  const changed = new vscode.EventEmitter<vscode.Uri>();
  const provider: vscode.TextDocumentContentProvider = {
    onDidChange: changed.event,
    async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
      const source = sourceOf(uri);
      if (!source) return asComment('iptables-lsp: this preview has lost its policy');
      const answer = await client.sendRequest<GenerateAnswer>('neutron/generate', source);
      if (!answer.ok) return asComment(`iptables-lsp gen --part ${source.part}: cannot generate the rules:\n${answer.error}`);
      return (answer.warnings.length ? asComment(answer.warnings.map((w) => `warning: ${w}`).join('\n')) : '') + answer.text;
    },
  };

  // Regenerates the previews of a policy shortly after it changes.
  const timers = new Map<string, NodeJS.Timeout>();
  const refresh = (policyUri: string): void => {
    clearTimeout(timers.get(policyUri));
    timers.set(policyUri, setTimeout(() => {
      timers.delete(policyUri);
      for (const doc of vscode.workspace.textDocuments) {
        if (doc.uri.scheme === SCHEME && sourceOf(doc.uri)?.uri === policyUri) changed.fire(doc.uri);
      }
    }, 300));
  };

  // Resolves to the preview document (scripts and tests use it), or undefined when cancelled.
  const generateRules = async (): Promise<vscode.TextDocument | undefined> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== 'neutron-policy') {
      void vscode.window.showWarningMessage('iptables: Generate Rules works on a .policy file.');
      return undefined;
    }
    const uri = editor.document.uri.toString();
    const part = await vscode.window.showQuickPick(PARTS.map((p) => ({ label: p.label, description: p.detail, part: p.part })), { title: 'Generate Neutron rules: part' });
    if (!part) return undefined;
    const info = await client.sendRequest<PolicyInfo | null>('neutron/policyInfo', { uri });
    const source: PreviewSource = { uri, part: part.part };
    if (part.part === 'sg') {
      const choices = [...(info?.localPorts ? [{ label: '(local host)', description: 'ports without a host line', host: undefined as string | undefined }] : []), ...(info?.hosts ?? []).map((h) => ({ label: h, description: 'host', host: h as string | undefined }))];
      if (choices.length > 1) {
        const pick = await vscode.window.showQuickPick(choices, { title: 'Generate Neutron rules: host' });
        if (!pick) return undefined;
        if (pick.host !== undefined) source.host = pick.host;
      } else if (choices[0]?.host !== undefined) source.host = choices[0].host;
    } else if ((info?.routers.length ?? 0) > 1) {
      const pick = await vscode.window.showQuickPick(info?.routers ?? [], { title: 'Generate Neutron rules: router' });
      if (!pick) return undefined;
      source.router = pick;
    }
    const family = await vscode.window.showQuickPick([{ label: 'IPv4', ipv6: false }, { label: 'IPv6', ipv6: true }], { title: 'Generate Neutron rules: family' });
    if (!family) return undefined;
    if (family.ipv6) source.ipv6 = true;
    let doc = await vscode.workspace.openTextDocument(previewUri(source));
    if (doc.languageId !== 'iptables') doc = await vscode.languages.setTextDocumentLanguage(doc, 'iptables');
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false, preserveFocus: true });
    return doc;
  };

  let kinds: BlockKindInfo[] | undefined;
  const blockKinds = async (): Promise<BlockKindInfo[]> => (kinds ??= await client.sendRequest<BlockKindInfo[]>('neutron/blockKinds'));

  const insertBlock = async (kindArg?: string): Promise<void> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== 'iptables' || editor.document.uri.scheme === SCHEME) {
      void vscode.window.showWarningMessage('iptables: Insert Neutron Block works on an iptables-save file.');
      return;
    }
    const all = await blockKinds();
    let info = all.find((k) => k.kind === kindArg);
    if (!info) {
      const pick = await vscode.window.showQuickPick(all.map((k) => ({ label: k.label, detail: k.detail, info: k })), { title: 'Insert Neutron block' });
      if (!pick) return;
      info = pick.info;
    }
    const params: Record<string, string> = {};
    for (const p of info.params) {
      const v = await vscode.window.showInputBox({
        title: info.label,
        prompt: p.prompt,
        value: p.example,
        placeHolder: p.example,
        validateInput: (x) => (x.trim() === '' && !p.optional ? `${p.prompt} is required` : undefined),
      });
      if (v === undefined) return;
      params[p.key] = v;
    }
    const document = editor.document;
    const answer = await client.sendRequest<InsertBlockAnswer>('neutron/insertBlock', { uri: document.uri.toString(), kind: info.kind, params });
    if (!answer.ok) {
      void vscode.window.showErrorMessage(`iptables: cannot insert the block: ${answer.error}`);
      return;
    }
    if (answer.edits.length === 0) {
      void vscode.window.showInformationMessage('iptables: the file already has every rule of this block.');
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    const pos = (p: { line: number; character: number }): vscode.Position => new vscode.Position(p.line, p.character);
    edit.set(document.uri, answer.edits.map((e) => new vscode.TextEdit(new vscode.Range(pos(e.range.start), pos(e.range.end)), e.newText)));
    await vscode.workspace.applyEdit(edit);
  };

  // The blocks as completion items at the start of an empty line; choosing one runs the command.
  const completion: vscode.CompletionItemProvider = {
    async provideCompletionItems(document, position) {
      if (document.uri.scheme === SCHEME || document.lineAt(position.line).text.trim() !== '') return undefined;
      return (await blockKinds()).map((k) => {
        const item = new vscode.CompletionItem(`Neutron: ${k.label}`, vscode.CompletionItemKind.Snippet);
        item.detail = k.detail;
        item.insertText = '';
        item.filterText = `neutron ${k.label}`;
        item.command = { command: 'iptables.insertNeutronBlock', title: 'Insert Neutron Block…', arguments: [k.kind] };
        return item;
      });
    },
  };

  context.subscriptions.push(
    changed,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, provider),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.languageId === 'neutron-policy') refresh(e.document.uri.toString());
    }),
    vscode.commands.registerCommand('iptables.generateRules', generateRules),
    vscode.commands.registerCommand('iptables.insertNeutronBlock', insertBlock),
    vscode.languages.registerCompletionItemProvider({ language: 'iptables' }, completion),
  );
}
