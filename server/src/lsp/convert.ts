/**
 * Conversions from the core's editor-neutral results to LSP types. Nothing here decides anything
 * about iptables; it only maps shapes and enums.
 */
import {
  CompletionItemKind,
  DiagnosticSeverity,
  DiagnosticTag,
  FoldingRangeKind,
  InsertTextFormat,
  MarkupKind,
  SymbolKind,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type FoldingRange,
  type Location,
  type Range as LspRange,
  type TextEdit as LspTextEdit,
} from 'vscode-languageserver/node.js';
import type { Diagnostic, Span } from '../core/index.ts';
import type { CompletionCandidate, CompletionKind } from '../core/completion.ts';
import type { DocSymbol, FoldRange, TextEdit, TokenKind, TokenVisitor } from '../core/navigation.ts';

const SEVERITY: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** Converts a core diagnostic to LSP. */
export function toLspDiagnostic(d: Diagnostic, uri: string): LspDiagnostic {
  // A document's diagnostics are published again after every edit, most of them the same objects
  // (kept by the incremental check, or moved by no line): each is converted once.
  const hit = converted.get(d);
  if (hit?.uri === uri) return hit.lsp;
  const lsp = convert(d, uri);
  converted.set(d, { uri, lsp });
  return lsp;
}

/** The LSP form of core diagnostics, for the document they were converted for. */
const converted = new WeakMap<Diagnostic, { readonly uri: string; readonly lsp: LspDiagnostic }>();

function convert(d: Diagnostic, uri: string): LspDiagnostic {
  return {
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'iptables',
    message: d.message,
    tags: d.tags?.map((t) => (t === 'unnecessary' ? DiagnosticTag.Unnecessary : DiagnosticTag.Deprecated)),
    relatedInformation: d.related?.map((r) => ({ location: { uri, range: r.range }, message: r.message })),
  };
}

/** A one-line span as an LSP range. */
export function toRange(s: Span): LspRange {
  return { start: { line: s.line, character: s.start }, end: { line: s.line, character: s.end } };
}

/** A span as a location in a document. */
export function toLocation(uri: string, s: Span): Location {
  return { uri, range: toRange(s) };
}

/** Core text edits are already LSP-shaped; this only copies them. */
export function toTextEdits(edits: readonly TextEdit[]): LspTextEdit[] {
  return edits.map((e) => ({ range: e.range, newText: e.newText }));
}

/** Converts the outline. */
export function toDocumentSymbols(symbols: readonly DocSymbol[]): DocumentSymbol[] {
  return symbols.map((s) => ({
    name: s.name,
    detail: s.detail,
    kind: s.kind === 'table' ? SymbolKind.Namespace : SymbolKind.Function,
    range: s.range,
    selectionRange: s.selectionRange,
    children: toDocumentSymbols(s.children),
  }));
}

/** Converts folding ranges, keeping at most `limit` (the client's rangeLimit). */
export function toFoldingRanges(ranges: readonly FoldRange[], limit: number | undefined): FoldingRange[] {
  const out = ranges.map((r) => ({ startLine: r.startLine, endLine: r.endLine, kind: r.kind === 'comment' ? FoldingRangeKind.Comment : FoldingRangeKind.Region }));
  return limit !== undefined && out.length > limit ? out.slice(0, limit) : out;
}

const COMPLETION_KIND: Record<CompletionKind, CompletionItemKind> = {
  command: CompletionItemKind.Keyword,
  keyword: CompletionItemKind.Keyword,
  module: CompletionItemKind.Module,
  option: CompletionItemKind.Property,
  target: CompletionItemKind.Function,
  chain: CompletionItemKind.Class,
  value: CompletionItemKind.EnumMember,
  interface: CompletionItemKind.Variable,
  table: CompletionItemKind.Struct,
};

/** Converts completion candidates; each replaces the word from `replaceStart` to the cursor. */
export function toCompletionItems(items: readonly CompletionCandidate[], line: number, replaceStart: number, character: number): CompletionItem[] {
  return items.map((c) => ({
    label: c.label,
    kind: COMPLETION_KIND[c.kind],
    detail: c.detail,
    documentation: c.documentation ? { kind: MarkupKind.Markdown, value: c.documentation } : undefined,
    sortText: `${String(c.rank ?? 50).padStart(3, '0')}${c.label}`,
    insertTextFormat: InsertTextFormat.PlainText,
    textEdit: { range: { start: { line, character: replaceStart }, end: { line, character } }, newText: c.insertText ?? c.label },
  }));
}

/** The semantic token legend: token types and modifiers, in the order the encoding indexes them. */
export const TOKEN_TYPES = ['namespace', 'function', 'enumMember', 'operator', 'type'] as const;
export const TOKEN_MODIFIERS = ['declaration', 'defaultLibrary'] as const;
const TOKEN_INDEX: Record<TokenKind, number> = { table: 0, chain: 1, builtinChain: 1, target: 2, negation: 3, module: 4 };

/** What `tokenPusher` needs of vscode-languageserver's `SemanticTokensBuilder`. */
export interface TokenSink {
  push(line: number, char: number, length: number, tokenType: number, tokenModifiers: number): void;
}

/**
 * A visitor for `eachSemanticToken` that pushes the tokens (in document order) into a builder,
 * which encodes them in LSP's relative form. Tokens must not overlap: a token starting inside the
 * previous one is dropped.
 */
export function tokenPusher(sink: TokenSink): TokenVisitor {
  let last = -1;
  let end = 0;
  return (line, start, length, kind, declaration) => {
    if (line < last || (line === last && start < end)) return;
    last = line;
    end = start + length;
    sink.push(line, start, length, TOKEN_INDEX[kind], (declaration ? 1 : 0) | (kind === 'builtinChain' ? 2 : 0));
  };
}
