/**
 * The check of an edited version of a text made from the check of the version before, for the
 * language server, which checks a document again after every edit. A full check interprets every
 * line, builds the whole model and reads every rule for the analysis again: on a 26,000-line dump
 * that is most of the time between a keystroke and its diagnostics, for an edit of one word.
 *
 * The edit this handles is the common one: a change within one `-A` line (a port, an address, an
 * option, a comment) that leaves the line appending to the same chain and jumping to the same
 * target, in a table made of chain declarations and appends only (as iptables-save writes every
 * table). The jump graph is then the same, and so is every check made from it, except:
 *  - the line's own diagnostics: its words' problems and the command checks of its rule, made
 *    again as a check of the whole block makes them at that line (`recheckAppend`);
 *  - the checks of its table that need the whole table, when its hook restrictions changed or it
 *    jumps to a chain (a loop or a jump too deep is reported where the jump is written);
 *  - the rule's reading for the analysis, and the table's vocabulary, collected again from what
 *    the kept readings told it (`RuleReader.edited`).
 * The diagnostics are kept by where they come from (`ValidityParts`) and sorted together again,
 * which gives the order of a full check. Any other edit (lines added or removed, a chain name or
 * target changed, a declaration, a table with other commands, a syntax error on the line, another
 * address family) is checked in full. test/incremental-check.test.ts compares both on random
 * edits.
 */
import { detached, MAX_LINE, parse as parseSyntax, RuleLineNode, type ParseResult } from './syntax.ts';
import { interpretRuleLine, replaceAppend, type Model, type Table } from './model.ts';
import { assembleParts, problemDiagnostics, recheckAppend, wholeTableDiagnostics, type CommandChecks, type HookRestriction, type ValidityParts } from './validate.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { Family } from './extensions/value-kinds.ts';
import type { RuleReader } from './analysis/analyse.ts';

/** What a check keeps for the check of the next version (`CheckOptions.incremental`). */
export interface IncrementalState {
  /** The options that decide the diagnostics (see `optionsKey`): another key means a full check. */
  readonly key: string;
  /** The text's lines. */
  readonly lines: readonly string[];
  /** The command checks of the model, for their hook restrictions. */
  readonly commands: CommandChecks;
  /** The validity diagnostics by where they come from, before the user's severities. */
  readonly parts: ValidityParts;
  /** The tables made of chain declarations and `-A` commands only. */
  readonly appendOnly: ReadonlySet<Table>;
  /** The readings for the analysis, kept (`RuleReader` with `keep`), when the check made them. */
  readonly readings: RuleReader | undefined;
  /** True when this check was made from the previous one's (an edit within one rule line). */
  readonly fromPrevious: boolean;
}

/** What the incremental check makes; the caller adds the analysis and the user's severities. */
export interface EditedCheck {
  readonly family: Family;
  readonly parsed: ParseResult;
  readonly model: Model;
  /** Validity diagnostics in document order, before the user's severities. */
  readonly found: Diagnostic[];
  readonly state: IncrementalState;
}

/** The tables of a model made of chain declarations and `-A` commands only. */
export function appendOnlyTables(model: Model): Set<Table> {
  const out = new Set<Table>();
  for (const t of model.tables) if (t.commands.every((r) => r.command === 'A')) out.add(t);
  return out;
}

/**
 * The check of a text whose lines are `lines`, made from `previous`, the state of the check of
 * the version before, when the two differ in one `-A` line as the module comment says; undefined
 * otherwise (the caller then checks in full). `family` is the family the text's own check would
 * use. Once this returns a check, the previous check's model is this one's, updated in place.
 */
export function checkEdit(lines: readonly string[], family: Family, key: string, previousModel: Model, previousParsed: ParseResult, previous: IncrementalState, prepareAnalysis: boolean): EditedCheck | undefined {
  if (previous.key !== key || lines.length !== previous.lines.length) return undefined;
  if (family !== previousModel.family) return undefined;
  let line = -1;
  for (let k = 0; k < lines.length; k++) {
    if (lines[k] === previous.lines[k]) continue;
    if (line >= 0) return undefined;
    line = k;
  }
  if (line < 0) return undefined;
  const oldText = previous.lines[line];
  if (!plainAppend(oldText) || !plainAppend(lines[line])) return undefined;
  // A copy of the line: a line split from the text holds on to the whole text, which the edited
  // rule's node (and its reading's key) would keep alive for as long as the rule stays unedited.
  const newText = detached(lines[line]);
  const old = previousModel.ruleByLine.get(line);
  if (!old || !previous.appendOnly.has(old.table)) return undefined;
  if (previous.parts.syntax.some((d) => d.range.start.line === line)) return undefined;
  // The line as the parser reads it on its own: one rule line without a problem.
  const alone = parseSyntax(`${newText}\n`);
  if (alone.errors.length > 0 || alone.lines.length !== 1 || alone.lines[0].kind !== 'rule') return undefined;
  const node = new RuleLineNode(newText, line, 0, newText.length);
  const nodeIndex = indexOfLine(previousParsed.lines, line);
  if (nodeIndex < 0 || previousParsed.lines[nodeIndex].kind !== 'rule') return undefined;
  const read = interpretRuleLine(node.args, family);
  const info = read.info;
  if (!info || !info.chainArg) return undefined;
  const t = old.table;
  const readings = prepareAnalysis ? previous.readings?.edited(t, line, info, newText.slice(info.chainArg.end)) : undefined;
  if (prepareAnalysis && !readings) return undefined;
  // From here on the previous check's model is updated in place.
  const model = replaceAppend(previousModel, node, info, read.problems);
  if (!model) return undefined;
  const rule = model.ruleByLine.get(line)!;
  const again = recheckAppend(t, rule, info, family);
  const restrictions = previous.commands.restrictions;
  // The checks of the whole table read a rule that jumps to no chain only through its hook
  // restrictions; a jump's own place in the line is where they report a loop or a jump too deep.
  const sameWholeTable = rule.targetKind !== 'chain' && sameRestrictions(restrictions.get(old), again.restrictions);
  restrictions.delete(old);
  if (again.restrictions) restrictions.set(rule, [...again.restrictions]);
  const onLine = (d: Diagnostic): boolean => d.range.start.line !== line;
  const at = previousModel.tables.indexOf(t);
  const parts: ValidityParts = {
    commands: [...previous.parts.commands.filter(onLine), ...again.diagnostics],
    syntax: previous.parts.syntax,
    structure: previous.parts.structure,
    ruleProblems: [...previous.parts.ruleProblems.filter(onLine), ...problemDiagnostics(read.problems)],
    tables: sameWholeTable ? previous.parts.tables : previous.parts.tables.map((w, i) => (i === at ? wholeTableDiagnostics(t, model, previous.commands) : w)),
  };
  const nodes = previousParsed.lines.slice();
  nodes[nodeIndex] = node;
  const parsed: ParseResult = { lines: nodes, errors: previousParsed.errors, lineCount: previousParsed.lineCount };
  return {
    family,
    parsed,
    model,
    found: assembleParts(parts),
    state: { key, lines, commands: previous.commands, parts, appendOnly: previous.appendOnly, readings, fromPrevious: true },
  };
}

/**
 * A line the incremental check may take: `-A` and a chain name, without carriage returns, and short
 * enough for iptables-restore (the raw-line checks then have nothing to say about it).
 */
function plainAppend(s: string): boolean {
  if (s.length > MAX_LINE || s.includes('\r')) return false;
  if (s.charCodeAt(0) !== 45 || s.charCodeAt(1) !== 65 || s.charCodeAt(2) !== 32) return false;
  const c = s.charCodeAt(3);
  return c === c && c !== 32 && c !== 9;
}

/** Whether two rules' hook restrictions are the same, where they are written included. */
function sameRestrictions(a: readonly HookRestriction[] | undefined, b: readonly HookRestriction[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    const hooks = x.allowed === undefined || y.allowed === undefined ? x.allowed === y.allowed : x.allowed.length === y.allowed.length && x.allowed.every((h, j) => h === y.allowed![j]);
    return hooks && x.what === y.what && x.where.line === y.where.line && x.where.start === y.where.start && x.where.end === y.where.end;
  });
}

/** The index of the node of `line` among parsed nodes (in line order, usually one per line), or -1. */
function indexOfLine(nodes: ParseResult['lines'], line: number): number {
  if (line < nodes.length && nodes[line].line === line) return line;
  let lo = 0;
  let hi = nodes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (nodes[mid].line < line) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo < nodes.length && nodes[lo].line === line ? lo : -1;
}

/** The options of a check that decide its diagnostics, as a key (undefined: not comparable, no reuse). */
export function optionsKey(o: { family?: Family; fileName?: string; severities?: unknown; prepareAnalysis?: boolean; analyses?: unknown }): string | undefined {
  if (o.analyses !== undefined && typeof o.analyses !== 'boolean') return undefined;
  return JSON.stringify([o.family ?? null, o.fileName ?? null, o.severities ?? null, o.prepareAnalysis === true, o.analyses === true]);
}
