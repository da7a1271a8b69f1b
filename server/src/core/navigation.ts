/**
 * Navigation over the model: which chain a position names, every place a chain is named
 * (declaration, commands, jumps), rename edits, document symbols, the jump graph for call
 * hierarchies, folding ranges and semantic tokens. Everything here is pure and editor-neutral;
 * the language server converts the results to LSP.
 */
import { neutronChainRole } from './neutron/chain-roles.ts';
import { detached, type Arg } from './syntax.ts';
import type { OptionUse } from './rule.ts';
import type { Chain, Model, Rule, Span, Table } from './model.ts';
import type { Range } from './diagnostics.ts';
import { STANDARD_TARGETS, TARGET_BY_NAME } from './extensions/extensions.ts';

/** A text edit in core terms: replace `range` with `newText`. */
export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

/** How a chain is named at one place. */
export type OccurrenceKind = 'declaration' | 'command' | 'jump';

/** One place where a chain's name is written; `span` covers only the name (not the `:`). */
export interface Occurrence {
  readonly kind: OccurrenceKind;
  readonly span: Span;
  /** The rule (command or jump) naming the chain; absent for `:NAME` declarations. */
  readonly rule?: Rule;
}

/** The chain named at a position, and how it is named there. */
export interface ChainHit {
  readonly chain: Chain;
  readonly occurrence: Occurrence;
}

/** Converts a one-line span to a range. */
export function spanToRange(s: Span): Range {
  return { start: { line: s.line, character: s.start }, end: { line: s.line, character: s.end } };
}

/** The span of an argument. */
export function argSpan(a: Arg): Span {
  return { line: a.line, start: a.start, end: a.end };
}

/**
 * The span of just the chain's name in its declaration: a `:NAME` header starts with the colon,
 * which is not part of the name (renaming must keep it).
 */
export function declarationNameSpan(chain: Chain): Span | undefined {
  const d = chain.declaration;
  if (!d) return undefined;
  const header = chain.declarationArg;
  if (header && header.raw.startsWith(':') && header.line === d.line && header.start === d.start) return { line: d.line, start: d.start + 1, end: d.end };
  return d;
}

// Declarations by line, built once per model: a position look-up must not scan every chain of a
// 100,000-line file.
const declarationIndex = new WeakMap<Model, Map<number, Chain>>();
function declarationsByLine(model: Model): Map<number, Chain> {
  let m = declarationIndex.get(model);
  if (!m) {
    m = new Map();
    for (const t of model.tables) for (const c of t.chains.values()) if (c.declaration && !m.has(c.declaration.line)) m.set(c.declaration.line, c);
    declarationIndex.set(model, m);
  }
  return m;
}

const within = (s: Span, line: number, character: number): boolean => s.line === line && s.start <= character && character <= s.end;

/**
 * The chain named at a 0-based position: a `:NAME` or `-N NAME` declaration, the chain of a
 * command (-A -I -D -R -F -P -X -E -Z), the new name of -E when it is declared, or a -j/-g target.
 */
export function chainAt(model: Model, line: number, character: number): ChainHit | undefined {
  const rule = model.ruleByLine.get(line);
  if (rule) {
    const target = rule.info.target;
    if (target && within(argSpan(target.nameArg), line, character)) {
      const chain = rule.table.chains.get(target.name);
      if (chain) return { chain, occurrence: { kind: 'jump', span: argSpan(target.nameArg), rule } };
      return undefined;
    }
    for (const a of [rule.info.chainArg, rule.info.newNameArg]) {
      if (a && within(argSpan(a), line, character)) {
        const chain = rule.table.chains.get(a.value);
        if (!chain) return undefined;
        const isDeclaration = rule.info.command === 'N' && chain.declaration?.line === line;
        return { chain, occurrence: { kind: isDeclaration ? 'declaration' : 'command', span: argSpan(a), rule } };
      }
    }
    return undefined;
  }
  const chain = declarationsByLine(model).get(line);
  const span = chain && declarationNameSpan(chain);
  if (chain && span && chain.declaration && within(chain.declaration, line, character)) return { chain, occurrence: { kind: 'declaration', span } };
  return undefined;
}

/** The positions in a table's commands of the rules that may name each chain, and how many commands there were. */
interface NameIndex {
  readonly length: number;
  readonly positions: Map<string, number[]>;
}

// Built once per table's command list, on the first look-up: finding a chain's references in a
// 130,000-line dump by scanning every command took 5 ms a request, and an editor asks again on
// every click. Positions, not rules, are kept: the one change made to a command list in place
// (an edit within a rule line, model.ts `replaceAppend`) puts a rule with the same chain and
// target at the same position. The rules found are checked again by `occurrences`.
const nameIndexes = new WeakMap<readonly Rule[], NameIndex>();
const NO_POSITIONS: readonly number[] = [];

/** The positions of the commands that name `name` as their chain, as the new name of -E, or as a jump target. */
function positionsNaming(commands: readonly Rule[], name: string): readonly number[] {
  let index = nameIndexes.get(commands);
  if (!index || index.length !== commands.length) {
    const positions = new Map<string, number[]>();
    const add = (n: string | undefined, k: number): void => {
      if (n === undefined) return;
      const list = positions.get(n);
      if (!list) positions.set(n, [k]);
      else if (list[list.length - 1] !== k) list.push(k);
    };
    commands.forEach((rule, k) => {
      add(rule.chainName, k);
      if (rule.command === 'E') add(rule.info.newNameArg?.value, k);
      if (rule.targetKind === 'chain') add(rule.targetName, k);
    });
    index = { length: commands.length, positions };
    nameIndexes.set(commands, index);
  }
  return index.positions.get(name) ?? NO_POSITIONS;
}

/**
 * Every place the chain's name is written in its table, in file order: the declaration, every
 * command naming it (as the chain or as the new name of -E) and every jump or goto to it.
 * The table's commands are scanned rather than the model's reference lists so that jumps written
 * before a late `-N` are found too.
 */
export function occurrences(chain: Chain): Occurrence[] {
  const out: Occurrence[] = [];
  const decl = declarationNameSpan(chain);
  if (decl && chain.declarationArg?.raw.startsWith(':')) out.push({ kind: 'declaration', span: decl });
  // Only the rules' compact facts are read here (a rule's full interpretation is recomputed on
  // demand), so that finding the references of a chain in a 100k-line dump stays fast.
  const name = chain.name;
  const commands = chain.table.commands;
  for (const k of positionsNaming(commands, name)) {
    const rule = commands[k];
    if (!rule) continue;
    const command = rule.command;
    if (rule.chainName === name) {
      const chainSpan = rule.chainSpan;
      if (chainSpan) {
        const isDecl = command === 'N' && chain.declaration?.line === rule.line && chain.declaration.start === chainSpan.start;
        out.push({ kind: isDecl ? 'declaration' : 'command', span: chainSpan, rule });
      }
    }
    if (command === 'E') {
      const newName = rule.info.newNameArg;
      if (newName?.value === name) out.push({ kind: 'command', span: argSpan(newName), rule });
    }
    if (rule.targetName === name && rule.targetKind === 'chain') {
      const targetSpan = rule.targetSpan;
      if (targetSpan) out.push({ kind: 'jump', span: targetSpan, rule });
    }
  }
  out.sort((a, b) => a.span.line - b.span.line || a.span.start - b.span.start);
  return out;
}

/** What prepareRename answers: the name's span and its text, or why the chain cannot be renamed. */
export type PrepareRenameResult = { readonly span: Span; readonly placeholder: string } | { readonly error: string };

/** Whether the chain at a position can be renamed (builtin chains cannot). */
export function prepareRename(model: Model, line: number, character: number): PrepareRenameResult | undefined {
  const hit = chainAt(model, line, character);
  if (!hit) return undefined;
  if (hit.chain.builtin) return { error: `${hit.chain.name} is a builtin chain of table ${hit.chain.table.name}: it cannot be renamed` };
  return { span: hit.occurrence.span, placeholder: hit.chain.name };
}

/** Why a new chain name is not acceptable in a table, or undefined when it is. */
export function checkNewChainName(table: Table, name: string): string | undefined {
  if (name.length === 0) return 'a chain name cannot be empty';
  if (name.length > 28) return `'${name}' is longer than 28 characters, the kernel's limit for chain names`;
  if (/\s|"/.test(name)) return 'a chain name cannot contain blanks or quotes';
  if (name.startsWith('-') || name.startsWith('!')) return "a chain name cannot start with '-' or '!'";
  if ((STANDARD_TARGETS as readonly string[]).includes(name) || TARGET_BY_NAME.has(name)) return `'${name}' is the name of a target`;
  if (table.chains.has(name)) return `table ${table.name} already has a chain named '${name}'`;
  return undefined;
}

/** The edits that rename the chain at a position, in its table only; or why it cannot be renamed. */
export function renameEdits(model: Model, line: number, character: number, newName: string): { edits: TextEdit[] } | { error: string } | undefined {
  const hit = chainAt(model, line, character);
  if (!hit) return undefined;
  if (hit.chain.builtin) return { error: `${hit.chain.name} is a builtin chain: it cannot be renamed` };
  if (newName === hit.chain.name) return { edits: [] };
  const problem = checkNewChainName(hit.chain.table, newName);
  if (problem) return { error: problem };
  return { edits: occurrences(hit.chain).map((o) => ({ range: spanToRange(o.span), newText: newName })) };
}

/** A symbol of the document outline. */
export interface DocSymbol {
  readonly name: string;
  readonly detail: string;
  readonly kind: 'table' | 'chain';
  /** The whole extent (the table block, or the chain's declaration line). */
  readonly range: Range;
  /** The name itself. */
  readonly selectionRange: Range;
  readonly children: DocSymbol[];
}

/** A rule count as words. */
const rulesText = (n: number): string => `${n} rule${n === 1 ? '' : 's'}`;

/** A short description of a chain for outlines: its policy (builtin chains) and rule count. */
export function chainDetail(chain: Chain): string {
  if (chain.builtin) return `policy ${chain.policy ?? 'ACCEPT'}, ${rulesText(chain.rules.length)}`;
  // Neutron's per-port chains are thousands in an outline: say which port each belongs to.
  const neutron = neutronChainRole(chain.name);
  return neutron ? `${rulesText(chain.rules.length)} · ${neutron.short}` : rulesText(chain.rules.length);
}

/** The outline: tables, each with its declared chains (policy and rule count in the detail). */
export function documentSymbols(model: Model, lineLength: (line: number) => number): DocSymbol[] {
  const out: DocSymbol[] = [];
  for (const t of model.tables) {
    const endLine = t.commitLine ?? lastLineOf(t);
    const children: DocSymbol[] = [];
    for (const c of t.chains.values()) {
      const name = declarationNameSpan(c) ?? firstMention(c);
      if (!name) continue;
      children.push({
        name: c.name,
        detail: chainDetail(c),
        kind: 'chain',
        range: { start: { line: name.line, character: 0 }, end: { line: name.line, character: lineLength(name.line) } },
        selectionRange: spanToRange(name),
        children: [],
      });
    }
    children.sort((a, b) => a.range.start.line - b.range.start.line);
    out.push({
      name: t.name,
      detail: `${t.chains.size} chains, ${t.commands.length} commands`,
      kind: 'table',
      range: { start: { line: t.line, character: 0 }, end: { line: Math.max(endLine, t.line), character: lineLength(Math.max(endLine, t.line)) } },
      selectionRange: spanToRange(argSpan(t.headerArg)),
      children,
    });
  }
  return out;
}

/** The last line that belongs to a table without COMMIT: its last command or declaration. */
function lastLineOf(t: Table): number {
  let last = t.line;
  for (const c of t.chains.values()) if (c.declaration && c.declaration.line > last) last = c.declaration.line;
  const cmd = t.commands[t.commands.length - 1];
  if (cmd && cmd.line > last) last = cmd.line;
  return last;
}

/** Where an undeclared (builtin) chain is first named by a command, for the outline. */
function firstMention(c: Chain): Span | undefined {
  const r = c.mentions[0];
  return r?.info.chainArg ? argSpan(r.info.chainArg) : undefined;
}

/** A chain with the spans of the jumps that connect it to another chain (call hierarchy). */
export interface ChainCall {
  readonly chain: Chain;
  /** The -j/-g words of the jumps. */
  readonly spans: Span[];
}

/** The chains that jump or go to `chain`, with the jump words, grouped by calling chain. */
export function incomingCalls(chain: Chain): ChainCall[] {
  const byCaller = new Map<Chain, Span[]>();
  for (const o of occurrences(chain)) {
    if (o.kind !== 'jump' || !o.rule?.chainName) continue;
    const caller = chain.table.chains.get(o.rule.chainName);
    if (!caller) continue;
    const list = byCaller.get(caller) ?? [];
    list.push(o.span);
    byCaller.set(caller, list);
  }
  return [...byCaller].map(([c, spans]) => ({ chain: c, spans }));
}

/** The chains `chain` jumps or goes to from its rules, with the jump words, grouped by callee. */
export function outgoingCalls(chain: Chain): ChainCall[] {
  const byCallee = new Map<Chain, Span[]>();
  for (const r of chain.rules) {
    const span = r.targetSpan;
    if (r.targetKind !== 'chain' || r.targetName === undefined || !span) continue;
    const to = chain.table.chains.get(r.targetName);
    if (!to) continue;
    const list = byCallee.get(to) ?? [];
    list.push(span);
    byCallee.set(to, list);
  }
  return [...byCallee].map(([c, spans]) => ({ chain: c, spans }));
}

/** The rules that jump to a chain, for hovers and code lenses (from rules that are in the kernel). */
export function callers(chain: Chain): Rule[] {
  const out: Rule[] = [];
  for (const o of occurrences(chain)) if (o.kind === 'jump' && o.rule) out.push(o.rule);
  return out;
}

/** A foldable line range (inclusive), and what it folds. */
export interface FoldRange {
  readonly startLine: number;
  readonly endLine: number;
  readonly kind: 'table' | 'rules' | 'comment';
}

/** Folding ranges: table blocks, runs of consecutive rules of one chain, and comment runs. */
export function foldingRanges(model: Model, parsed: { readonly lines: readonly { readonly kind: string; readonly line: number }[] }): FoldRange[] {
  const out: FoldRange[] = [];
  for (const t of model.tables) {
    const end = t.commitLine ?? lastLineOf(t);
    if (end > t.line) out.push({ startLine: t.line, endLine: end, kind: 'table' });
    let runStart = -1;
    let runChain: string | undefined;
    let prevLine = -2;
    const close = (): void => {
      if (runStart >= 0 && prevLine > runStart) out.push({ startLine: runStart, endLine: prevLine, kind: 'rules' });
    };
    for (const r of t.commands) {
      if (r.chainName !== undefined && r.chainName === runChain && r.line === prevLine + 1) {
        prevLine = r.line;
        continue;
      }
      close();
      runStart = r.line;
      runChain = r.chainName;
      prevLine = r.line;
    }
    close();
  }
  let cStart = -1;
  let cPrev = -2;
  for (const l of parsed.lines) {
    if (l.kind === 'comment' && l.line === cPrev + 1) {
      cPrev = l.line;
      continue;
    }
    if (cStart >= 0 && cPrev > cStart) out.push({ startLine: cStart, endLine: cPrev, kind: 'comment' });
    cStart = l.kind === 'comment' ? l.line : -1;
    cPrev = l.kind === 'comment' ? l.line : -2;
  }
  if (cStart >= 0 && cPrev > cStart) out.push({ startLine: cStart, endLine: cPrev, kind: 'comment' });
  out.sort((a, b) => a.startLine - b.startLine);
  return out;
}

/** The kinds of semantic token the core reports. */
export type TokenKind = 'table' | 'chain' | 'builtinChain' | 'target' | 'negation' | 'module';

/** One semantic token on one line. */
export interface SemanticToken {
  readonly line: number;
  readonly start: number;
  readonly length: number;
  readonly kind: TokenKind;
  /** True where the chain is declared. */
  readonly declaration: boolean;
}

/** Receives the semantic tokens of `eachSemanticToken`, one call each, in document order. */
export type TokenVisitor = (line: number, start: number, length: number, kind: TokenKind, declaration: boolean) => void;

/**
 * Semantic tokens of the lines `fromLine`..`toLine` (inclusive), in document order: table names,
 * chain names (user and builtin, declarations marked), targets, `!` negations and module names.
 * The range lets the editor colour only what is visible in very large files.
 */
export function semanticTokens(model: Model, fromLine = 0, toLine = Number.MAX_SAFE_INTEGER): SemanticToken[] {
  const out: SemanticToken[] = [];
  eachSemanticToken(model, (line, start, length, kind, declaration) => out.push({ line, start, length, kind, declaration }), fromLine, toLine);
  return out;
}

/**
 * `semanticTokens` without an object per token: `visit` is called with each token, in document
 * order. The language server encodes them as they come; on the 130k-line dump the array of
 * 431,000 token objects and its sort took most of a whole-document request.
 */
export function eachSemanticToken(model: Model, visit: TokenVisitor, fromLine = 0, toLine = Number.MAX_SAFE_INTEGER): void {
  // Table and chain declaration lines hold no rule: their tokens are gathered apart (one per line),
  // then merged with the rules' tokens by line.
  const heads: SemanticToken[] = [];
  const head = (a: Span, kind: TokenKind): void => {
    if (a.line >= fromLine && a.line <= toLine && a.end > a.start) heads.push({ line: a.line, start: a.start, length: a.end - a.start, kind, declaration: true });
  };
  for (const t of model.tables) {
    if (t.headerArg.raw.startsWith('*')) head({ line: t.line, start: t.headerArg.start + 1, end: t.headerArg.end }, 'table');
    for (const c of t.chains.values()) {
      const s = declarationNameSpan(c);
      if (s && c.declarationArg?.raw.startsWith(':')) head(s, c.builtin ? 'builtinChain' : 'chain');
    }
  }
  heads.sort((a, b) => a.line - b.line || a.start - b.start);
  const rules = rulesInRange(model, fromLine, toLine);
  let ordered = true;
  for (let i = 1; i < rules.length && ordered; i++) ordered = rules[i - 1].line < rules[i].line;
  if (!ordered) rules.sort((a, b) => a.line - b.line);
  let h = 0;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    for (; h < heads.length && heads[h].line <= r.line; h++) visit(heads[h].line, heads[h].start, heads[h].length, heads[h].kind, true);
    const packed = ruleTokens(r);
    for (let k = 0; k < packed.length; k += 3) {
      const code = packed[k + 2];
      visit(r.line, packed[k], packed[k + 1], TOKEN_KINDS[code >> 1], (code & 1) === 1);
    }
  }
  for (; h < heads.length; h++) visit(heads[h].line, heads[h].start, heads[h].length, heads[h].kind, true);
}

/** Token kinds by their index in a rule's packed tokens. */
const TOKEN_KINDS: readonly TokenKind[] = ['table', 'chain', 'builtinChain', 'target', 'negation', 'module'];
const CODE_CHAIN = 1;
const CODE_BUILTIN_CHAIN = 2;
const CODE_TARGET = 3;
const CODE_NEGATION = 4;
const CODE_MODULE = 5;

// Each rule's tokens, worked out once per rule: they need the rule's full interpretation, which a
// rule does not keep (model.ts), and an editor asks for the tokens of the whole document after
// every edit (1.6–2.9 s on the 130k-line dump when every rule was read again). A rule outlives
// the versions of its document until an edit touches it (an edit within a rule line replaces
// that rule only, incremental.ts), so after an edit only the edited rule is read again. Packed as
// numbers (start, length, kind index × 2 + declaration), by start.
const ruleTokenCache = new WeakMap<Rule, readonly number[]>();

/**
 * What the rules of one table share: the tokens of each text after the chain name, by the chain
 * name's length and token code (rules of `-A NAME REST` lines with the same REST, a name of that
 * length and of the same kind have the same tokens, without being read again); and one packed array
 * for each distinct list of tokens. Generated dumps repeat a few rule shapes thousands of times.
 * Kept per table, so that they go with the table.
 */
interface SharedTokens {
  readonly byRest: Map<number, Map<string, readonly number[]>>;
  readonly byTokens: Map<string, readonly number[]>;
}
const sharedTokens = new WeakMap<Table, SharedTokens>();

/** The triples of the rule being read (see `ruleTokens`), reused from rule to rule. */
const scratch: number[] = [];

/** The token code of a chain name: builtin chains have their own. */
function chainCode(t: Table, name: string): number {
  return t.chains.get(name)?.builtin ? CODE_BUILTIN_CHAIN : CODE_CHAIN;
}

/** Adds a token for a word to `scratch`. */
function addToken(a: Arg | undefined, kindCode: number, declaration = false): void {
  if (a && a.end > a.start) scratch.push(a.start, a.end - a.start, kindCode * 2 + (declaration ? 1 : 0));
}

/** Adds the token of each negation of `options`. */
function addNegations(options: readonly OptionUse[]): void {
  for (let i = 0; i < options.length; i++) addToken(options[i].negation, CODE_NEGATION);
}

/** The packed tokens of a rule (see `ruleTokenCache`). */
function ruleTokens(r: Rule): readonly number[] {
  const hit = ruleTokenCache.get(r);
  if (hit) return hit;
  let shared = sharedTokens.get(r.table);
  if (!shared) sharedTokens.set(r.table, (shared = { byRest: new Map(), byTokens: new Map() }));
  // `-A NAME REST` with a plain NAME (no quote or escape: the word is the name).
  let rests: Map<string, readonly number[]> | undefined;
  let rest: string | undefined;
  const name = r.chainName;
  const span = r.chainSpan;
  if (r.command === 'A' && name !== undefined && span !== undefined && span.start === 3 && span.end - span.start === name.length) {
    const text = r.text;
    if (text.startsWith('-A ')) {
      const shape = name.length * 4 + chainCode(r.table, name);
      rests = shared.byRest.get(shape);
      if (!rests) shared.byRest.set(shape, (rests = new Map()));
      rest = text.slice(span.end);
      const same = rests.get(rest);
      if (same) {
        ruleTokenCache.set(r, same);
        return same;
      }
    }
  }
  const info = r.interpretOnce();
  scratch.length = 0;
  if (info.chainArg) addToken(info.chainArg, chainCode(r.table, info.chainArg.value), info.command === 'N');
  if (info.newNameArg) addToken(info.newNameArg, CODE_CHAIN, true);
  if (info.target) addToken(info.target.nameArg, info.target.kind === 'chain' ? chainCode(r.table, info.target.name) : CODE_TARGET);
  for (const m of info.matches) addToken(m.nameArg, CODE_MODULE);
  addNegations(info.base);
  for (const m of info.matches) addNegations(m.options);
  if (info.target) addNegations(info.target.options);
  // By start: an insertion sort of the triples (a rule has a few tokens, mostly in order already).
  for (let i = 3; i < scratch.length; i += 3) {
    const s0 = scratch[i];
    const s1 = scratch[i + 1];
    const s2 = scratch[i + 2];
    let j = i - 3;
    for (; j >= 0 && scratch[j] > s0; j -= 3) {
      scratch[j + 3] = scratch[j];
      scratch[j + 4] = scratch[j + 1];
      scratch[j + 5] = scratch[j + 2];
    }
    scratch[j + 3] = s0;
    scratch[j + 4] = s1;
    scratch[j + 5] = s2;
  }
  const key = scratch.join(',');
  let packed = shared.byTokens.get(key);
  if (!packed) shared.byTokens.set(key, (packed = scratch.slice()));
  // A copy of REST: a slice of the line would keep the whole text of this version of the document
  // alive for as long as the table is kept, which is across edits (see `detached`).
  if (rests && rest !== undefined) rests.set(detached(rest), packed);
  ruleTokenCache.set(r, packed);
  return packed;
}

/** The rules whose lines fall in a range, without visiting the whole model for a small range. */
function rulesInRange(model: Model, fromLine: number, toLine: number): Rule[] {
  const out: Rule[] = [];
  if (toLine - fromLine < model.ruleByLine.size) {
    for (let l = fromLine; l <= toLine; l++) {
      const r = model.ruleByLine.get(l);
      if (r) out.push(r);
    }
    return out;
  }
  for (const r of model.ruleByLine.values()) if (r.line >= fromLine && r.line <= toLine) out.push(r);
  return out;
}

/** The user chains of all tables whose names contain `query` (case-insensitive), for workspace symbols. */
export function findChains(model: Model, query: string, limit = 500): Chain[] {
  const q = query.toLowerCase();
  const out: Chain[] = [];
  for (const t of model.tables) {
    for (const c of t.chains.values()) {
      if (!c.declaration) continue;
      if (q === '' || c.name.toLowerCase().includes(q)) out.push(c);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** The table block that contains a line (between its `*name` line and its COMMIT). */
export function tableAt(model: Model, line: number): Table | undefined {
  let found: Table | undefined;
  for (const t of model.tables) {
    if (t.line > line) break;
    if (t.commitLine === undefined || t.commitLine >= line) found = t;
    else found = undefined;
  }
  return found;
}

/** Formats a count in a human way: 1234567 → "1.2M". */
export function humanCount(n: bigint): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let v = Number(n);
  let k = 0;
  while (v >= 1000 && k < units.length - 1) {
    v /= 1000;
    k++;
  }
  return k === 0 ? String(n) : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[k]}`;
}

/** Formats a byte count with binary units: 987654321 → "941.9 MiB". */
export function humanBytes(n: bigint): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = Number(n);
  let k = 0;
  while (v >= 1024 && k < units.length - 1) {
    v /= 1024;
    k++;
  }
  return k === 0 ? `${n} B` : `${v.toFixed(1)} ${units[k]}`;
}

/** A label shown after a counter, at the end of the counter word. */
export interface CounterHint {
  readonly line: number;
  readonly character: number;
  readonly label: string;
}

/**
 * Human-readable readings of the `[packets:bytes]` counters of chain declarations and rules in a
 * line range; zero counters get no hint (they are the norm in saved files and would be noise).
 */
export function counterHints(model: Model, lineLength: (line: number) => number, fromLine = 0, toLine = Number.MAX_SAFE_INTEGER): CounterHint[] {
  const out: CounterHint[] = [];
  for (const t of model.tables) {
    for (const c of t.chains.values()) {
      const d = c.declaration;
      if (!d || !c.counters || d.line < fromLine || d.line > toLine) continue;
      if (c.counters.packets === 0n && c.counters.bytes === 0n) continue;
      // The counters are the last word of the declaration line, so the hint goes at the line's end.
      out.push({ line: d.line, character: lineLength(d.line), label: `${humanCount(c.counters.packets)} packets, ${humanBytes(c.counters.bytes)}` });
    }
  }
  for (const r of rulesInRange(model, fromLine, toLine)) {
    const cnt = r.info.counters;
    if (!cnt || (cnt.packets === 0n && cnt.bytes === 0n)) continue;
    const last = cnt.args[cnt.args.length - 1];
    out.push({ line: r.line, character: last.end, label: `${humanCount(cnt.packets)} packets, ${humanBytes(cnt.bytes)}` });
  }
  out.sort((a, b) => a.line - b.line);
  return out;
}

/**
 * For every chain of the model, how many jumps and gotos name it, counted in one pass over the
 * commands (code lenses need this for thousands of chains at once; `occurrences` per chain would
 * be quadratic on a large dump).
 */
export function jumpCounts(model: Model): Map<Chain, number> {
  const out = new Map<Chain, number>();
  for (const t of model.tables) {
    for (const c of t.chains.values()) out.set(c, 0);
    for (const r of t.commands) {
      if (r.targetKind !== 'chain' || r.targetName === undefined) continue;
      const c = t.chains.get(r.targetName);
      if (c) out.set(c, (out.get(c) ?? 0) + 1);
    }
  }
  return out;
}
