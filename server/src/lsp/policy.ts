/**
 * Language-server support for `neutron-policy` files (`*.policy`): diagnostics, go to definition
 * and hover, on top of the core's policy reader. server.ts routes policy documents here and keeps
 * them away from the iptables analyses.
 */
import { DiagnosticSeverity, MarkupKind, type Connection, type Diagnostic as LspDiagnostic, type Hover, type Location } from 'vscode-languageserver/node.js';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { readPolicy, type PolicyResult } from '../core/policy/index.ts';
import { policyDefinitionAt, policyHoverAt } from '../core/policy/navigation.ts';
import type { Diagnostic } from '../core/index.ts';

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
