/**
 * Language-server support for `neutron-policy` files (`*.policy`): diagnostics, go to definition,
 * hover, references, rename, completion and formatting, on top of the core's policy reader. server.ts routes policy documents here and keeps
 * them away from the iptables analyses. `registerPolicyRequests` adds the custom requests behind
 * the editor's "Generate Rules" preview (`neutron/generate`, `neutron/policyInfo`) and "Insert
 * Neutron Block…" (`neutron/blockKinds`, `neutron/insertBlock`).
 */
import { CompletionItemKind, DiagnosticSeverity, ErrorCodes, MarkupKind, ResponseError, type CompletionList, type Connection, type Diagnostic as LspDiagnostic, type Hover, type Location, type Range as LspRange, type TextDocuments, type WorkspaceEdit } from 'vscode-languageserver/node.js';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { readPolicy, type PolicyResult } from '../core/policy/index.ts';
import { policyDefinitionAt, policyHoverAt } from '../core/policy/navigation.ts';
import { formatPolicyEdits, policyCompletionAt, policyPrepareRename, policyReferencesAt, policyRename, type PolicyCompletion } from '../core/policy/editing.ts';
import type { Diagnostic } from '../core/index.ts';
import { generate, GenerateError, type GenPart } from '../core/neutron/index.ts';
import { BLOCK_KINDS, BlockError, generateBlock, type BlockKind, type BlockKindInfo } from '../core/neutron/blocks.ts';
import { insertBlock, type TextEdit } from '../core/neutron/insert.ts';

const SEVERITY: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** Whether a document is a policy file (by extension or language id). */
export function isPolicyDocument(uri: string, languageId?: string): boolean {
  return languageId === 'neutron-policy' || /\.policy$/i.test(uri);
}

const cache = new Map<string, { version: number; result: PolicyResult }>();

/** The policy reading of a document at its current version. */
function read(doc: TextDocument): PolicyResult {
  const hit = cache.get(doc.uri);
  if (hit && hit.version === doc.version) return hit.result;
  const result = readPolicy(doc.getText());
  cache.set(doc.uri, { version: doc.version, result });
  return result;
}

/** The LSP diagnostics of a policy document. */
export function policyLspDiagnostics(doc: TextDocument): LspDiagnostic[] {
  return read(doc).diagnostics.map((d) => ({
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'neutron-policy',
    message: d.message,
    ...(d.related ? { relatedInformation: d.related.map((r) => ({ location: { uri: doc.uri, range: r.range }, message: r.message })) } : {}),
  }));
}

/** Publishes a policy document's diagnostics. */
export function publishPolicy(connection: Connection, doc: TextDocument): void {
  void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: policyLspDiagnostics(doc) });
}

/** The declaration of the name under the cursor. */
export function policyDefinition(doc: TextDocument, line: number, character: number): Location | null {
  const r = policyDefinitionAt(read(doc), { line, character });
  return r ? { uri: doc.uri, range: r } : null;
}

/** Hover text for the name under the cursor. */
export function policyHover(doc: TextDocument, line: number, character: number): Hover | null {
  const h = policyHoverAt(read(doc), { line, character });
  return h ? { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: h.range } : null;
}

/** Forgets a closed document. */
export function forgetPolicy(uri: string): void {
  cache.delete(uri);
}

/** Parameters of `neutron/generate`: the policy document and what to generate from it. */
export interface GenerateParams {
  readonly uri: string;
  readonly part: GenPart;
  readonly router?: string;
  readonly host?: string;
  readonly ipv6?: boolean;
}

/** Answer of `neutron/generate`: the iptables-save text, or why there is none. */
export type GenerateAnswer = { readonly ok: true; readonly text: string; readonly warnings: readonly string[] } | { readonly ok: false; readonly error: string };

/** Answer of `neutron/policyInfo`: the names the editor offers in its quick picks. */
export interface PolicyInfo {
  readonly routers: readonly string[];
  readonly hosts: readonly string[];
  /** Whether some ports have no `host` line (the local host). */
  readonly localPorts: boolean;
}

/** Parameters of `neutron/insertBlock`: the iptables document, the block kind and its parameters. */
export interface InsertBlockParams {
  readonly uri: string;
  readonly kind: BlockKind;
  readonly params: Readonly<Record<string, string>>;
}

/** Answer of `neutron/insertBlock`: the edits of the document, or why there are none. */
export type InsertBlockAnswer = { readonly ok: true; readonly edits: readonly TextEdit[] } | { readonly ok: false; readonly error: string };

const PARTS: readonly GenPart[] = ['sg', 'l3', 'fwaas', 'pbr'];

/** Generates a part of an open policy document (the same generator as `iptables-lsp gen`). */
export function generateFromDocument(doc: TextDocument, p: GenerateParams): GenerateAnswer {
  if (!PARTS.includes(p.part)) return { ok: false, error: `unknown part '${p.part}': use sg, l3, fwaas or pbr` };
  const res = read(doc);
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) return { ok: false, error: `the policy has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${errors.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join('\n')}` };
  try {
    const r = generate(res.policy, { part: p.part, family: p.ipv6 ? 6 : 4, format: 'iptables-save', ...(p.router ? { router: p.router } : {}), ...(p.host ? { host: p.host } : {}) });
    return { ok: true, text: r.text, warnings: r.warnings };
  } catch (e) {
    if (e instanceof GenerateError) return { ok: false, error: e.message };
    throw e;
  }
}

/** Registers the policy requests behind the editor's commands; `familyOf` gives an iptables document's family. */
export function registerPolicyRequests(connection: Connection, documents: TextDocuments<TextDocument>, familyOf: (uri: string) => 4 | 6 | undefined): void {
  connection.onRequest('neutron/generate', (p: GenerateParams): GenerateAnswer => {
    const doc = documents.get(p.uri);
    if (!doc) return { ok: false, error: 'the policy document is not open' };
    try {
      return generateFromDocument(doc, p);
    } catch (e) {
      connection.console.error(`iptables-lsp: neutron/generate failed: ${(e as Error).stack ?? e}`);
      return { ok: false, error: `internal error: ${(e as Error).message}` };
    }
  });

  connection.onRequest('neutron/policyInfo', (p: { uri: string }): PolicyInfo | null => {
    const doc = documents.get(p.uri);
    if (!doc) return null;
    const policy = read(doc).policy;
    const hosts = [...new Set(policy.ports.flatMap((x) => (x.host !== undefined ? [x.host] : [])))].sort();
    return { routers: policy.routers.map((r) => r.name), hosts, localPorts: policy.ports.some((x) => x.host === undefined) };
  });

  connection.onRequest('neutron/blockKinds', (): readonly BlockKindInfo[] => BLOCK_KINDS);

  connection.onRequest('neutron/insertBlock', (p: InsertBlockParams): InsertBlockAnswer => {
    const doc = documents.get(p.uri);
    if (!doc) return { ok: false, error: 'the document is not open' };
    try {
      const generated = generateBlock(p.kind, p.params, familyOf(p.uri) ?? 4);
      return { ok: true, edits: insertBlock(doc.getText(), generated) };
    } catch (e) {
      if (e instanceof BlockError) return { ok: false, error: e.message };
      connection.console.error(`iptables-lsp: neutron/insertBlock failed: ${(e as Error).stack ?? e}`);
      return { ok: false, error: `internal error: ${(e as Error).message}` };
    }
  });
}

/** Every occurrence of the name under the cursor. */
export function policyReferences(doc: TextDocument, line: number, character: number, includeDeclaration: boolean): Location[] {
  return policyReferencesAt(read(doc), { line, character }, includeDeclaration).map((range) => ({ uri: doc.uri, range }));
}

/** The renamable name under the cursor, an error for a name that cannot be renamed, or null. */
export function policyPrepareRenameAt(doc: TextDocument, line: number, character: number): { range: LspRange; placeholder: string } | ResponseError<void> | null {
  const r = policyPrepareRename(read(doc), { line, character });
  if (!r) return null;
  return 'error' in r ? new ResponseError(ErrorCodes.InvalidRequest, r.error) : r;
}

/** The workspace edit renaming the name under the cursor. */
export function policyRenameAt(doc: TextDocument, line: number, character: number, newName: string): WorkspaceEdit | ResponseError<void> | null {
  const r = policyRename(read(doc), { line, character }, newName);
  if (!r) return null;
  return 'error' in r ? new ResponseError(ErrorCodes.InvalidRequest, r.error) : { changes: { [doc.uri]: r.edits } };
}

const COMPLETION_KIND: Record<PolicyCompletion['kind'], CompletionItemKind> = { block: CompletionItemKind.Class, keyword: CompletionItemKind.Keyword, name: CompletionItemKind.Reference };

/** Completion items at the cursor. */
export function policyCompletion(doc: TextDocument, line: number, character: number): CompletionList {
  const r = policyCompletionAt(doc.getText(), read(doc), { line, character });
  const range: LspRange = { start: { line, character: r.replaceStart }, end: { line, character } };
  return { isIncomplete: false, items: r.items.map((i) => ({ label: i.label, kind: COMPLETION_KIND[i.kind], ...(i.detail ? { detail: i.detail } : {}), textEdit: { range, newText: i.label } })) };
}

/** The formatting edits of a policy document. */
export function policyFormatting(doc: TextDocument): TextEdit[] {
  return formatPolicyEdits(doc.getText());
}
