/**
 * Editing features of the `neutron-policy` language: references and rename of the names of
 * networks, security groups, ports, routers (and firewall groups and steerings), completion of
 * block kinds, statement keywords and declared names, and formatting with canonical indentation.
 * Pure logic over the text and its PolicyResult; the language server only converts positions.
 */
import type { Position, Range } from '../diagnostics.ts';
import type { PolicyResult } from './model.ts';
import { nameAt } from './navigation.ts';

/** A text edit (replace `range` by `newText`). */
export interface PolicyEdit {
  readonly range: Range;
  readonly newText: string;
}

/** The block kinds of the language, in the order the documentation lists them. */
export const BLOCK_KEYWORDS = ['defaults', 'network', 'security-group', 'port', 'router', 'firewall-group', 'steering'] as const;

/** The statement keywords of each block kind. */
export const STATEMENT_KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  defaults: ['sg-driver', 'ipset', 'comments', 'profile'],
  network: ['id', 'cidr'],
  'security-group': ['id', 'stateless', 'ingress', 'egress'],
  port: ['id', 'network', 'mac', 'ip', 'allowed-address', 'security-groups', 'port-security', 'host'],
  router: ['id', 'gateway', 'interface', 'snat', 'metadata', 'floating-ip'],
  'firewall-group': ['id', 'router', 'version', 'ingress', 'egress'],
  steering: ['router', 'firewall', 'table', 'egress', 'ingress', 'mark'],
};

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Every occurrence (declaration first, then references in file order) of the name under `pos`. */
export function policyReferencesAt(res: PolicyResult, pos: Position, includeDeclaration = true): Range[] {
  const hit = nameAt(res, pos);
  if (!hit) return [];
  const decl = res.declarations.get(`${hit.kind}:${hit.name}`);
  const refs = res.references.filter((r) => r.kind === hit.kind && r.name === hit.name).map((r) => r.range);
  return [...(includeDeclaration && decl ? [decl.nameRange] : []), ...refs];
}

/** The range and current text of the renamable name under `pos`, or why it cannot be renamed. */
export function policyPrepareRename(res: PolicyResult, pos: Position): { range: Range; placeholder: string } | { error: string } | undefined {
  const hit = nameAt(res, pos);
  if (!hit) return undefined;
  if (!res.declarations.has(`${hit.kind}:${hit.name}`)) return { error: `${hit.kind} '${hit.name}' is not declared in this file` };
  return { range: hit.range, placeholder: hit.name };
}

/** The edits renaming the name under `pos` (its declaration and every reference), or why not. */
export function policyRename(res: PolicyResult, pos: Position, newName: string): { edits: PolicyEdit[] } | { error: string } | undefined {
  const prep = policyPrepareRename(res, pos);
  if (!prep || 'error' in prep) return prep;
  const hit = nameAt(res, pos);
  if (!hit) return undefined;
  if (!NAME_RE.test(newName)) return { error: `'${newName}' is not a valid name ([A-Za-z_][A-Za-z0-9_.-]*)` };
  if (newName !== hit.name && res.declarations.has(`${hit.kind}:${newName}`)) return { error: `a ${hit.kind} named '${newName}' already exists` };
  return { edits: policyReferencesAt(res, pos, true).map((range) => ({ range, newText: newName })) };
}

/** A completion proposal. */
export interface PolicyCompletion {
  readonly label: string;
  readonly kind: 'block' | 'keyword' | 'name';
  readonly detail?: string;
}

/** Removes a trailing comment from a line (the language has no quoting, so `#` always starts one). */
function code(line: string): string {
  const i = line.indexOf('#');
  return i < 0 ? line : line.slice(0, i);
}

/** The kind of the block enclosing a line (scanning braces from the top), undefined outside blocks. */
function enclosingKind(lines: readonly string[], line: number): string | undefined {
  let kind: string | undefined;
  for (let i = 0; i < line && i < lines.length; i++) {
    const c = code(lines[i] as string);
    for (let j = 0; j < c.length; j++) {
      if (c[j] === '{') kind = c.slice(0, j).trim().split(/\s+/)[0] ?? '';
      else if (c[j] === '}') kind = undefined;
    }
  }
  return kind;
}

/** Completion proposals at a position of a policy text; `replaceStart` is where the current word starts. */
export function policyCompletionAt(text: string, res: PolicyResult, pos: Position): { items: PolicyCompletion[]; replaceStart: number } {
  const lines = text.split(/\r?\n/);
  const lineText = (lines[pos.line] ?? '').slice(0, pos.character);
  const prefixStart = lineText.search(/[^\s,{}]*$/);
  const before = code(lineText.slice(0, prefixStart));
  const words = before.trim().split(/[\s,]+/).filter((w) => w !== '');
  const kind = enclosingKind(lines, pos.line);
  const names = (k: string, detail: string): PolicyCompletion[] => [...res.declarations.values()].filter((d) => d.kind === k).map((d) => ({ label: d.name, kind: 'name', detail }));
  if (lineText.includes('#')) return { items: [], replaceStart: prefixStart };
  if (kind === undefined) {
    if (words.length === 0) return { items: BLOCK_KEYWORDS.map((b) => ({ label: b, kind: 'block', detail: 'block' })), replaceStart: prefixStart };
    return { items: [], replaceStart: prefixStart };
  }
  if (words.length === 0) return { items: (STATEMENT_KEYWORDS[kind] ?? []).map((s) => ({ label: s, kind: 'keyword', detail: `${kind} statement` })), replaceStart: prefixStart };
  const first = words[0] as string;
  const last = words[words.length - 1] as string;
  if (kind === 'port' && first === 'network' && words.length === 1) return { items: names('network', 'network'), replaceStart: prefixStart };
  if (kind === 'port' && first === 'security-groups') return { items: names('security-group', 'security group').filter((n) => !words.includes(n.label)), replaceStart: prefixStart };
  if (kind === 'security-group' && last === 'group') return { items: names('security-group', 'remote security group'), replaceStart: prefixStart };
  if ((kind === 'firewall-group' || kind === 'steering') && first === 'router' && words.length === 1) return { items: names('router', 'router'), replaceStart: prefixStart };
  return { items: [], replaceStart: prefixStart };
}

/**
 * The policy text with canonical indentation: blocks and their closing braces at column 0,
 * statements and comments inside a block indented by two spaces per level, trailing blanks removed.
 * Words, comments and blank lines are kept; formatting twice changes nothing.
 */
export function formatPolicy(text: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let depth = 0;
  const out = text.split(/\r?\n/).map((raw) => {
    const line = raw.trim();
    if (line === '') return '';
    const c = code(line);
    const opens = (c.match(/\{/g) ?? []).length;
    const closes = (c.match(/\}/g) ?? []).length;
    const indent = Math.max(0, c.startsWith('}') ? depth - 1 : depth);
    depth = Math.max(0, depth + opens - closes);
    return '  '.repeat(indent) + line;
  });
  return out.join(eol);
}

/** The edits that format a policy text (one whole-text edit, or none when it is already formatted). */
export function formatPolicyEdits(text: string): PolicyEdit[] {
  const formatted = formatPolicy(text);
  if (formatted === text) return [];
  const lines = text.split('\n');
  const last = lines.length - 1;
  return [{ range: { start: { line: 0, character: 0 }, end: { line: last, character: (lines[last] as string).length } }, newText: formatted }];
}
