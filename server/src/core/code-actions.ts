/**
 * Quick fixes as text edits: declare a missing chain, add a missing COMMIT, rewrite the
 * pre-1.4.3 negation `-s ! ADDR` as `! -s ADDR`, remove an unused chain (its declaration and every
 * line that names it), remove a rule the analysis found unreachable, shadowed or redundant, add the
 * final newline, and "fix all" (every safe fix at once). They are computed from the diagnostics and
 * the model, and are pure: the server only converts them.
 */
import type { CheckResult } from './index.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { Chain, Table } from './model.ts';
import { tableAt, type TextEdit } from './navigation.ts';
import { MAX_CHAIN_NAME } from './validate.ts';
import { STANDARD_TARGETS } from './extensions/extensions.ts';

/**
 * Whether `:NAME - [0:0]` declares a chain of that name: iptables-restore splits the line at blanks
 * and takes quotes and backslashes literally there, and refuses names that are too long, start
 * with - or !, or are standard verdicts. A fix never declares a name it would refuse.
 */
function declarableChainName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_CHAIN_NAME && !/^[-!]/.test(name) && !/[\s"'\\]/.test(name) && !(STANDARD_TARGETS as readonly string[]).includes(name);
}

/** One fix: a title, the diagnostics it resolves, and its edits. */
export interface Fix {
  readonly title: string;
  readonly kind: 'quickfix' | 'source.fixAll';
  readonly diagnostics: readonly Diagnostic[];
  readonly edits: readonly TextEdit[];
  /** Whether the editor may apply it without asking (the preferred fix of its diagnostic). */
  readonly preferred: boolean;
}

const insertAt = (line: number, text: string): TextEdit => ({ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: text });

/** The line after which new chain declarations go: the last declaration, or the table header. */
function declarationInsertLine(t: Table): number {
  let last = t.line;
  for (const c of t.chains.values()) if (c.declaration && c.declarationArg?.raw.startsWith(':') && c.declaration.line > last) last = c.declaration.line;
  return last;
}

/** The edit that declares `name` in table `t` as a user chain (`:NAME - [0:0]`). */
export function declareChainEdit(t: Table, name: string): TextEdit {
  return insertAt(declarationInsertLine(t) + 1, `:${name} - [0:0]\n`);
}

/** The edit that adds COMMIT at the end of a table that lacks it (after its last line of content). */
export function addCommitEdit(t: Table, lines: readonly string[], model: { readonly tables: readonly Table[] }): TextEdit {
  // The block's last line that is neither blank nor a comment, before the next table: read from
  // the lines, since the model keeps no trace of some (a builtin chain declared again, a refused line).
  let last = t.line;
  const next = Math.min(lines.length, ...model.tables.filter((x) => x.line > t.line).map((x) => x.line));
  for (let l = next - 1; l > last; l--) {
    const text = (lines[l] ?? '').trim();
    if (text !== '' && !text.startsWith('#')) {
      last = l;
      break;
    }
  }
  if (last + 1 >= lines.length) {
    // The table's last line is the file's last line and has no newline: end it first.
    return { range: { start: { line: last, character: lines[last].length }, end: { line: last, character: lines[last].length } }, newText: '\nCOMMIT\n' };
  }
  return insertAt(last + 1, 'COMMIT\n');
}

/** Deletes whole lines: the declaration of an unused chain and every command that names it. */
export function removeChainEdits(chain: Chain): TextEdit[] {
  const lines = new Set<number>();
  if (chain.declaration) lines.add(chain.declaration.line);
  for (const r of chain.table.commands) if (r.chainName === chain.name || (r.command === 'E' && r.info.newNameArg?.value === chain.name)) lines.add(r.line);
  return [...lines].sort((a, b) => a - b).map((l) => ({ range: { start: { line: l, character: 0 }, end: { line: l + 1, character: 0 } }, newText: '' }));
}

/**
 * The edit deleting the line of a rule the analysis found no packet reaches, or whose removal
 * changes no verdict; undefined when deleting the line could change what other commands do: a
 * command of the chain that names a rule by its position (`-I` with a number, `-R`, `-D`, `-Z`
 * with a number), or any other command that refers to rules (`-D` by specification, `-F`, `-E`).
 */
function removeRuleEdit(result: CheckResult, d: Diagnostic): TextEdit | undefined {
  const rule = result.model.ruleByLine.get(d.range.start.line);
  if (!rule || rule.command !== 'A' || rule.chainName === undefined) return undefined;
  for (const r of rule.table.commands) {
    if (r.chainName !== rule.chainName || r.command === 'A' || r.command === 'N' || r.command === 'P') continue;
    if (r.command === 'I' && r.info.ruleNumArg === undefined) continue;
    return undefined;
  }
  const l = rule.line;
  return { range: { start: { line: l, character: 0 }, end: { line: l + 1, character: 0 } }, newText: '' };
}

/** The edit turning `OPT ! VALUE` into `! OPT VALUE`, given the `!` word's position. */
function negationEdit(result: CheckResult, d: Diagnostic): TextEdit | undefined {
  const rule = result.model.ruleByLine.get(d.range.start.line);
  const args = rule?.args;
  if (!args) return undefined;
  const k = args.findIndex((a) => a.start === d.range.start.character && a.value === '!');
  if (k < 1) return undefined;
  const opt = args[k - 1];
  if (!opt.value.startsWith('-')) return undefined;
  return { range: { start: { line: opt.line, character: opt.start }, end: { line: opt.line, character: args[k].end } }, newText: `! ${opt.raw}` };
}

/** The chain name a diagnostic about a missing chain is about (the word it sits on). */
function wordAt(result: CheckResult, d: Diagnostic): string | undefined {
  const rule = result.model.ruleByLine.get(d.range.start.line);
  if (!rule) return undefined;
  const a = rule.args.find((x) => x.start === d.range.start.character);
  return a?.value;
}

/** The quick fixes for one diagnostic. `lines` are the text's lines (without `\n`). */
export function fixesFor(result: CheckResult, d: Diagnostic, lines: readonly string[]): Fix[] {
  const out: Fix[] = [];
  switch (d.code) {
    case 'undefined-chain':
    case 'undeclared-chain': {
      const name = wordAt(result, d);
      const t = tableAt(result.model, d.range.start.line);
      if (!name || !t || t.chains.has(name) || !declarableChainName(name)) break;
      out.push({ title: `Declare chain '${name}' in table ${t.name}`, kind: 'quickfix', diagnostics: [d], edits: [declareChainEdit(t, name)], preferred: true });
      break;
    }
    case 'missing-commit': {
      const t = openTableFor(result, d);
      if (t) out.push({ title: `Add COMMIT to table ${t.name}`, kind: 'quickfix', diagnostics: [d], edits: [addCommitEdit(t, lines, result.model)], preferred: true });
      break;
    }
    case 'deprecated-negation': {
      const e = negationEdit(result, d);
      if (e) out.push({ title: `Rewrite as '${e.newText} …'`, kind: 'quickfix', diagnostics: [d], edits: [e], preferred: true });
      break;
    }
    case 'unused-chain': {
      const t = tableAt(result.model, d.range.start.line);
      const chain = t && [...t.chains.values()].find((c) => c.declaration?.line === d.range.start.line);
      if (chain && !chain.builtin) out.push({ title: `Remove unused chain '${chain.name}' and its ${chain.rules.length} rule${chain.rules.length === 1 ? '' : 's'}`, kind: 'quickfix', diagnostics: [d], edits: removeChainEdits(chain), preferred: false });
      break;
    }
    case 'unreachable-rule':
    case 'shadowed-rule':
    case 'redundant-rule': {
      // Never preferred and never part of "fix all": removing two redundant rules at once may
      // change verdicts (each can be redundant because of the other), and a shadowed rule's intent
      // may be better served by moving it.
      const e = removeRuleEdit(result, d);
      const what = d.code === 'redundant-rule' ? 'redundant rule (no verdict changes)' : d.code === 'shadowed-rule' ? 'shadowed rule (no packet reaches it)' : 'unreachable rule';
      if (e) out.push({ title: `Remove this ${what}`, kind: 'quickfix', diagnostics: [d], edits: [e], preferred: false });
      break;
    }
    case 'byte-order-mark':
      out.push({ title: 'Remove the byte-order mark', kind: 'quickfix', diagnostics: [d], edits: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, newText: '' }], preferred: true });
      break;
    case 'missing-final-newline': {
      const endLine = lines.length - 1;
      out.push({ title: 'Add the final newline', kind: 'quickfix', diagnostics: [d], edits: [{ range: { start: { line: endLine, character: lines[endLine].length }, end: { line: endLine, character: lines[endLine].length } }, newText: '\n' }], preferred: true });
      break;
    }
    default:
      break;
  }
  return out;
}

/** The table a missing-commit diagnostic is about: the one whose header line the message names. */
function openTableFor(result: CheckResult, d: Diagnostic): Table | undefined {
  const m = /\(line (\d+)\)/.exec(d.message);
  if (m) {
    const line = Number(m[1]) - 1;
    const t = result.model.tables.find((x) => x.line === line);
    if (t) return t;
  }
  return result.model.tables.find((t) => t.commitLine === undefined);
}

/**
 * Every safe fix at once: declarations of missing chains (each name once per table), COMMITs,
 * negation rewrites and the final newline. Removing unused chains is left out: it deletes rules.
 * Edits that would touch the same place twice are dropped, so the result never overlaps.
 */
export function fixAll(result: CheckResult, lines: readonly string[]): Fix | undefined {
  const edits: TextEdit[] = [];
  const used: Diagnostic[] = [];
  const declared = new Set<string>();
  const insertions = new Map<string, string>();
  for (const d of result.diagnostics) {
    if (d.code === 'unused-chain') continue;
    for (const f of fixesFor(result, d, lines)) {
      if (!f.preferred) continue;
      if (d.code === 'undefined-chain' || d.code === 'undeclared-chain') {
        const t = tableAt(result.model, d.range.start.line);
        const key = `${t?.line}:${wordAt(result, d)}`;
        if (declared.has(key)) {
          used.push(d);
          continue;
        }
        declared.add(key);
      }
      for (const e of f.edits) {
        const at = `${e.range.start.line}:${e.range.start.character}`;
        const same = e.range.start.line === e.range.end.line && e.range.start.character === e.range.end.character;
        // Several insertions at one point are merged into one edit, in diagnostic order.
        if (same) insertions.set(at, (insertions.get(at) ?? '') + e.newText);
        else edits.push(e);
      }
      used.push(d);
    }
  }
  for (const [at, text] of insertions) {
    const [line, character] = at.split(':').map(Number);
    // A final-newline fix and a COMMIT at the end of the file both insert there: one newline suffices.
    edits.push({ range: { start: { line, character }, end: { line, character } }, newText: text.replace(/^\n\n/, '\n') });
  }
  if (edits.length === 0) return undefined;
  return { title: 'Fix all iptables problems that have a safe fix', kind: 'source.fixAll', diagnostics: used, edits, preferred: false };
}
