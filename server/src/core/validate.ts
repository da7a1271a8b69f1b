/**
 * Validity checks over the parsed lines and the model: everything iptables-restore (either
 * backend) rejects becomes an error on the offending line, even the problems the kernel only finds
 * when the table is committed (jump loops, targets in the wrong hook), plus warnings for what the
 * kernel accepts but a reader should look at. All problems of a file are reported, not only the first.
 */
import type { Arg, ParseResult } from './syntax.ts';
import type { Diagnostic, RelatedInfo, Severity } from './diagnostics.ts';
import { DIAGNOSTIC_CODES } from './diagnostics.ts';
import { BUILTIN_CHAINS, TABLES, STANDARD_TARGETS, TARGET_BY_NAME, type ExtensionSpec, type Hook } from './extensions/extensions.ts';
import { outgoingJumps, reachingHooks, ruleKey, type Chain, type Model, type ModelObserver, type Rule, type Span, type Table } from './model.ts';
import { suggest, type OptionUse, type RuleInfo, type RuleProblem } from './rule.ts';
import { parseUnsigned, protocolNumberOf, rateUnitSeconds, readHashlimitBurst, readHashlimitRate } from './extensions/value-kinds.ts';

/** Commands whose chain argument must name an existing chain. */
const COMMANDS_NAMING_A_CHAIN = new Set(['A', 'I', 'D', 'R', 'P', 'F', 'Z', 'X', 'E', 'C']);

/** Longest chain name the kernel accepts (XT_EXTENSION_MAXNAMELEN - 1). */
export const MAX_CHAIN_NAME = 28;

const range = (s: Span) => ({ start: { line: s.line, character: s.start }, end: { line: s.line, character: s.end } });
/**
 * While CommandChecks.command checks a rule: the line its words were read on (buildModel shares
 * one interpretation among repeated rules, whose words keep the line of the first, see
 * reuseRuleInfo) and the rule's own line; -1 otherwise. Every position the checks take from a
 * rule's words goes through argSpan, which moves it to the rule's line; words of other lines
 * never share the first line's number while a rule is checked, since the checks only read the
 * words of the rule at hand.
 */
const wordsOn = { read: -1, rule: -1 };
const argSpan = (a: Arg): Span => ({ line: a.line === wordsOn.read ? wordsOn.rule : a.line, start: a.start, end: a.end });

/** Collects diagnostics with the registry's default severity unless one is given. */
class Sink {
  readonly out: Diagnostic[] = [];
  add(span: Span, code: string, message: string, opts: { severity?: Severity; related?: RelatedInfo[]; tags?: Diagnostic['tags'] } = {}): void {
    const severity = opts.severity ?? DIAGNOSTIC_CODES[code]?.severity ?? 'error';
    this.out.push({ range: range(span), severity, code, message, related: opts.related, tags: opts.tags });
  }
}

/**
 * Runs every validity check and returns the diagnostics, sorted by position. `commands` must be
 * the observer that saw the model being built (see `CommandChecks`).
 */
export function validate(parsed: ParseResult, model: Model, commands: CommandChecks): Diagnostic[] {
  return validateInParts(parsed, model, commands, false).diagnostics;
}

/**
 * The diagnostics of `validate` by where they come from, each part in the order the checks made
 * them: an editor's incremental check (incremental.ts) replaces the parts an edit changes and
 * sorts them together again (`assembleParts`), which gives what `validate` would.
 */
export interface ValidityParts {
  /** The command checks', made while the model was built (those decided at a block's end last in it). */
  readonly commands: readonly Diagnostic[];
  /** The parser's. */
  readonly syntax: readonly Diagnostic[];
  /** The table, chain and COMMIT structure's. */
  readonly structure: readonly Diagnostic[];
  /** The problems of the rules' words (`Model.ruleProblems`). */
  readonly ruleProblems: readonly Diagnostic[];
  /** Per table of the model (in its order), the checks that need the whole table. */
  readonly tables: readonly (readonly Diagnostic[])[];
}

/** `validate`, and with `parts` also its diagnostics by where they come from. */
export function validateInParts(parsed: ParseResult, model: Model, commands: CommandChecks, parts: boolean): { diagnostics: Diagnostic[]; parts?: ValidityParts } {
  const sink = commands.sink;
  const out = sink.out;
  const c = out.length;
  for (const e of parsed.errors) sink.add({ line: e.line, start: e.start, end: e.end }, e.code ?? 'syntax-error', e.message);
  const e = out.length;
  checkStructure(parsed, model, sink);
  const s = out.length;
  for (const d of problemDiagnostics(model.ruleProblems)) out.push(d);
  const r = out.length;
  const tables: number[] = [];
  for (const t of model.tables) {
    if (t.known) checkWholeTable(t, model, commands, sink);
    tables.push(out.length);
  }
  const split: ValidityParts | undefined = parts
    ? { commands: out.slice(0, c), syntax: out.slice(c, e), structure: out.slice(e, s), ruleProblems: out.slice(s, r), tables: tables.map((end, i) => out.slice(i === 0 ? r : tables[i - 1], end)) }
    : undefined;
  return { diagnostics: out.sort(byPosition), parts: split };
}

/** Diagnostics in document order (a stable sort: alike positions keep the order the checks made them). */
const byPosition = (a: Diagnostic, b: Diagnostic): number => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;

/** The diagnostics `validate` gives for its parts (see `ValidityParts`). */
export function assembleParts(parts: ValidityParts): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const list of [parts.commands, parts.syntax, parts.structure, parts.ruleProblems, ...parts.tables]) for (const d of list) out.push(d);
  return out.sort(byPosition);
}

/** The diagnostics of problems found in rules' words. */
export function problemDiagnostics(problems: readonly RuleProblem[]): Diagnostic[] {
  const sink = new Sink();
  for (const p of problems) sink.add({ line: p.line, start: p.start, end: p.end }, p.code, p.message, { severity: p.severity });
  return sink.out;
}

/**
 * The command checks of one `-A` rule of a table made of chain declarations and appends only, as
 * the checks of the whole block make them at the rule's line (there, the chains declared on
 * earlier lines exist): its diagnostics and hook restrictions. For an editor's incremental check
 * of an edit within the rule (incremental.ts).
 */
export function recheckAppend(t: Table, r: Rule, info: RuleInfo, family: Model['family']): { diagnostics: Diagnostic[]; restrictions: readonly HookRestriction[] | undefined } {
  const checks = new CommandChecks(family);
  checks.declaredBefore(t, r.line);
  checks.command(t, r, info);
  checks.tableEnd(t);
  return { diagnostics: checks.sink.out, restrictions: checks.restrictions.get(r) };
}

/** The checks of one table that need the whole table, with the hook restrictions `commands` noted. */
export function wholeTableDiagnostics(t: Table, model: Model, commands: CommandChecks): Diagnostic[] {
  const sink = new Sink();
  if (t.known) checkWholeTable(t, model, commands, sink);
  return sink.out;
}

/** Checks the table / chain / COMMIT structure, line by line, like iptables-restore's main loop. */
function checkStructure(parsed: ParseResult, model: Model, sink: Sink): void {
  let open: { name: string; line: number; arg: Arg; known: boolean; chains: Map<string, Span> } | undefined;
  void model;
  // An indexed loop (see buildModel).
  const lines = parsed.lines;
  for (let i = 0; i < lines.length; i++) {
    const node = lines[i];
    switch (node.kind) {
      case 'table': {
        const name = node.header.value.slice(1);
        if (open) {
          sink.add(argSpan(node.header), 'missing-commit', `table '${open.name}' (line ${open.line + 1}) is still open: add COMMIT before this line; iptables-restore rejects a new table inside another`, {
            related: [{ range: range(argSpan(open.arg)), message: 'the open table' }],
          });
        }
        const known = TABLES.includes(name);
        if (name === '') sink.add(argSpan(node.header), 'syntax-error', `'*' must be followed by a table name: filter, nat, mangle, raw or security`);
        else if (!known) sink.add(argSpan(node.header), 'unknown-table', `unknown table '${name}': expected one of ${TABLES.join(', ')}${suggest(name, TABLES)}`);
        // Words after the table name are ignored by iptables-restore (it reads the name with strtok).
        open = { name, line: node.line, arg: node.header, known, chains: new Map() };
        break;
      }
      case 'chain': {
        if (!open) {
          sink.add(argSpan(node.header), 'outside-table', `chain declaration outside a table: put it after a '*table' line and before its COMMIT`);
          break;
        }
        checkChainDeclaration(node.header, node.rest, open, sink);
        break;
      }
      case 'commit':
        if (!open) sink.add(argSpan(node.keyword), 'outside-table', 'COMMIT without an open table: it must close a block started by a *table line');
        for (const extra of node.rest) sink.add(argSpan(extra), 'syntax-error', `unexpected '${extra.value}' after COMMIT: the line must be exactly COMMIT`);
        open = undefined;
        break;
      case 'rule':
        if (!open) {
          const first = node.args[0];
          sink.add({ line: node.line, start: first.start, end: node.args[node.args.length - 1].end }, 'outside-table', `rule outside a table: add a '*filter' (or other table) line before it, and COMMIT after`);
        }
        break;
      default:
        break;
    }
  }
  if (open) {
    // iptables-restore names the line after the last one; we point at the last line, where COMMIT belongs.
    const lastLine = parsed.lineCount - 1;
    sink.add({ line: lastLine, start: 0, end: 0 }, 'missing-commit', `table '${open.name}' (line ${open.line + 1}) is never committed: add COMMIT at the end of the file (COMMIT expected at line ${lastLine + 2}); iptables-restore applies nothing of it`, {
      related: [{ range: range(argSpan(open.arg)), message: 'the table without COMMIT' }],
    });
  }
  void model;
}

function checkChainDeclaration(header: Arg, rest: readonly Arg[], open: { name: string; known: boolean; chains: Map<string, Span> }, sink: Sink): void {
  const name = header.value.slice(1);
  const span = argSpan(header);
  const builtins = open.known ? BUILTIN_CHAINS[open.name] : [];
  const isBuiltin = (builtins as readonly string[]).includes(name);
  if (name === '') {
    sink.add(span, 'invalid-chain-declaration', `':' must be followed by a chain name: ':NAME POLICY [packets:bytes]'`);
    return;
  }
  const policy = rest[0];
  if (!policy) {
    sink.add(span, 'invalid-chain-declaration', `chain declaration without a policy: write ':${name} ${isBuiltin ? 'ACCEPT' : '-'} [0:0]'`);
  } else if (isBuiltin) {
    // `-` keeps the chain's policy as it is (measured: `:INPUT DROP` then `:INPUT -` leaves DROP).
    if (policy.value !== 'ACCEPT' && policy.value !== 'DROP' && policy.value !== '-') {
      sink.add(argSpan(policy), 'invalid-policy', `invalid policy '${policy.value}' for builtin chain ${name}: a policy is ACCEPT or DROP (or - to keep it)`);
    }
  } else if (policy.value !== '-') {
    const otherTable = Object.entries(BUILTIN_CHAINS).find(([, hooks]) => (hooks as readonly string[]).includes(name))?.[0];
    const hint = otherTable ? ` (${name} is a builtin chain of other tables, not of '${open.name}')` : '';
    sink.add(argSpan(policy), 'policy-on-user-chain', `user-defined chain ${name} cannot have a policy: write '-' instead of '${policy.value}'${hint}`);
  }
  // iptables-restore never validates chain counters (it ignores them without -c), so malformed
  // ones are only worth a warning.
  const counters = rest[1];
  if (counters && !/^\[[0-9]+:[0-9]+\]$/.test(counters.value)) {
    sink.add(argSpan(counters), 'suspicious-counters', `malformed counters '${counters.value}': expected [PACKETS:BYTES]; iptables-restore ignores them`);
  }
  for (const extra of rest.slice(2)) sink.add(argSpan(extra), 'suspicious-counters', `unexpected '${extra.value}' after the chain counters; iptables-restore ignores it`);
  if (!isBuiltin) checkChainName(name, span, sink);
  const prev = open.chains.get(name);
  // A builtin chain may be declared again: iptables-restore only sets its policy (the last wins).
  if (prev && !isBuiltin) {
    sink.add(span, 'duplicate-chain', `chain ${name} is already declared at line ${prev.line + 1}`, { related: [{ range: range(prev), message: 'first declaration' }] });
  } else {
    open.chains.set(name, span);
  }
}

/** The rules iptables applies to new chain names. */
function checkChainName(name: string, span: Span, sink: Sink): void {
  if (name.length > MAX_CHAIN_NAME) {
    sink.add(span, 'invalid-chain-name', `chain name '${name}' is ${name.length} characters long: at most ${MAX_CHAIN_NAME} are allowed`);
  } else if (name.startsWith('-') || name.startsWith('!')) {
    sink.add(span, 'invalid-chain-name', `chain name '${name}' cannot start with '${name[0]}'`);
  } else if ((STANDARD_TARGETS as readonly string[]).includes(name)) {
    sink.add(span, 'invalid-chain-name', `chain name '${name}' is reserved: it is a standard verdict`);
  }
}

/** A hook restriction of a target, a match or an option of one rule, checked once the jump graph is known. */
export interface HookRestriction {
  /** The hooks where it is allowed; undefined for physdev's output-side test (checked against OUTPUT). */
  readonly allowed?: readonly Hook[];
  readonly where: Span;
  /** "the X target", "--option" …, or for the physdev case the option's name. */
  readonly what: string;
}

/** The replay state of one table block. */
interface BlockState {
  readonly builtins: readonly string[];
  /** Whether a chain exists at the current line (-N/-X/-E and declarations change it). */
  readonly exists: Map<string, boolean>;
  /**
   * The rules of each chain at the current line, in order, for `-D spec` / `-C spec` / `-X`; their
   * number is the chain's rule count.
   */
  readonly specs: Map<string, Rule[]>;
  /**
   * The chain and rule list of the last command when it appended to an existing chain, until any
   * other command or declaration: a dump appends to each chain many times in a row, and the next
   * append to the same chain then needs no lookup.
   */
  lastAppend: { readonly name: string; readonly list: Rule[] } | undefined;
  /**
   * The rules a `-F` without a chain name flushed, per chain, until the chain is flushed by name:
   * iptables-nft-restore still counts them when -X deletes a chain in the same restore.
   */
  readonly flushedAll: Map<string, { rules: Rule[]; line: number }>;
  /** Problems that depend on declarations later in the block, decided when the block ends. */
  readonly pending: (() => void)[];
}

/**
 * The per-command validity checks, run while the model is built (as its observer): the block is
 * replayed in order, since whether a chain exists depends on the -N/-X/-E and declarations before
 * the line, and every check that needs the rule's full interpretation happens here, where it is
 * at hand. What needs the whole jump graph (loops, hooks) is checked by `validate` afterwards,
 * from the compact facts gathered here.
 */
export class CommandChecks implements ModelObserver {
  readonly sink = new Sink();
  /** Hook restrictions by rule (only rules that have any). */
  readonly restrictions = new Map<Rule, HookRestriction[]>();
  private block?: BlockState;
  private blockTable?: Table;

  constructor(private readonly family: Model['family']) {}

  private state(t: Table): BlockState | undefined {
    if (!t.known) return undefined;
    if (this.blockTable !== t) {
      const builtins = BUILTIN_CHAINS[t.name] as readonly string[];
      const block: BlockState = { builtins, exists: new Map(), specs: new Map(), lastAppend: undefined, flushedAll: new Map(), pending: [] };
      for (const b of builtins) { block.exists.set(b, true); block.specs.set(b, []); }
      this.block = block;
      this.blockTable = t;
    }
    return this.block;
  }

  /** Starts the checks of a block at `line`: the chains the table declares before it exist (see `recheckAppend`). */
  declaredBefore(t: Table, line: number): void {
    for (const c of t.chains.values()) if (!c.builtin && c.declaration && c.declaration.line < line) this.declared(t, c);
  }

  declared(t: Table, chain: Chain): void {
    const b = this.state(t);
    if (!b) return;
    b.lastAppend = undefined;
    b.exists.set(chain.name, true);
    b.specs.set(chain.name, []);
  }

  tableEnd(t: Table): void {
    const b = this.state(t);
    if (!b) return;
    for (const decide of b.pending) decide();
    this.block = undefined;
    this.blockTable = undefined;
  }

  command(t: Table, r: Rule, info: RuleInfo): void {
    wordsOn.read = info.commandArg?.line ?? r.line;
    wordsOn.rule = r.line;
    try {
      this.checkCommand(t, r, info);
    } finally {
      wordsOn.read = -1;
      wordsOn.rule = -1;
    }
  }

  /** The checks of one command line (see command). */
  private checkCommand(t: Table, r: Rule, info: RuleInfo): void {
    const b = this.state(t);
    if (!b) return;
    const sink = this.sink;
    const chainArg = info.chainArg;
    // The rule's shared copy of the name (buildModel): the lookups below then hash nothing.
    const name = r.chainName ?? chainArg?.value;
    const last = b.lastAppend;
    if (info.command === 'A' && last !== undefined && last.name === name) {
      // Another append to the chain of the last command, which existed then and still does.
      last.list.push(r);
      this.checkRule(t, r, info, b);
      return;
    }
    b.lastAppend = undefined;
    const { builtins, exists, specs, flushedAll } = b;
    const count = (c: string): number => specs.get(c)?.length ?? 0;
    const has = name !== undefined && exists.get(name) === true;
    const needsChain = info.command !== undefined && COMMANDS_NAMING_A_CHAIN.has(info.command) && chainArg;
    if (needsChain && !has && chainArg) {
      // Whether the chain is declared later is only known at the end of the block.
      const hintNow = suggest(name!, [...exists.keys()].filter((k) => exists.get(k)));
      const line = r.line;
      b.pending.push(() => {
        const later = t.chains.get(name!);
        const hint = later && later.declaration && later.declaration.line > line ? ` (it is declared later, at line ${later.declaration.line + 1}: declare it before use)` : hintNow;
        sink.add(argSpan(chainArg), 'undeclared-chain', `chain '${name}' does not exist in table '${t.name}'${hint}${later ? '' : `: declare it with ':${name} - [0:0]' in the table header`}`);
      });
    }
    switch (info.command) {
      case 'A':
        if (has) {
          const list = specs.get(name!);
          if (list) {
            list.push(r);
            b.lastAppend = { name: name!, list };
          }
        }
        break;
      case 'I':
        if (has && info.ruleNumArg) {
          const num = Number(info.ruleNumArg.value);
          const n = count(name!);
          if (Number.isFinite(num) && num > n + 1) sink.add(argSpan(info.ruleNumArg), 'invalid-value', `cannot insert at position ${num}: chain ${name} has ${n} rule${n === 1 ? '' : 's'} at this point (index of insertion too big)`);
        }
        if (has) {
          // The rules are kept in chain order: -D, -R and -X below depend on it.
          const list = specs.get(name!);
          const num = info.ruleNumArg ? Number(info.ruleNumArg.value) : 1;
          if (list) list.splice(Number.isFinite(num) && num >= 1 ? Math.min(num - 1, list.length) : 0, 0, r);
        }
        break;
      case 'C':
        if (has) {
          const key = ruleKey(r);
          if (!(specs.get(name!) ?? []).some((x) => ruleKey(x) === key)) sink.add(r.span, 'invalid-value', `-C finds no such rule in chain ${name} (Bad rule: does a matching rule exist in that chain?), so the restore fails`);
        }
        break;
      case 'R':
      case 'D':
        if (has && info.ruleNumArg) {
          const num = Number(info.ruleNumArg.value);
          const n = count(name!);
          if (Number.isFinite(num) && num > n) sink.add(argSpan(info.ruleNumArg), 'invalid-value', `rule ${num} does not exist: chain ${name} has ${n} rule${n === 1 ? '' : 's'} at this point`);
          else if (Number.isFinite(num) && num >= 1) {
            const list = specs.get(name!);
            if (info.command === 'D') list?.splice(num - 1, 1);
            else if (list && num - 1 < list.length) list[num - 1] = r;
          }
        } else if (has && info.command === 'D') {
          const list = specs.get(name!) ?? [];
          const key = ruleKey(r);
          const k = list.findIndex((x) => ruleKey(x) === key);
          if (k < 0) sink.add(r.span, 'invalid-value', `no rule in chain ${name} matches this specification, so -D fails (Bad rule: does a matching rule exist in that chain?)`);
          else list.splice(k, 1);
        }
        break;
      case 'N':
        if (name !== undefined) {
          if (exists.get(name)) {
            sink.add(argSpan(chainArg!), 'duplicate-chain', `chain ${name} already exists in table '${t.name}'`);
          } else {
            checkChainName(name, argSpan(chainArg!), sink);
            exists.set(name, true);
            specs.set(name, []);
          }
        }
        break;
      case 'X': {
        /** The checks of deleting one user chain (named, or each one for -X without a name). */
        const deleteChain = (chain: string, at: Arg): void => {
          // The jumps still in place: rules of existing chains, after the -D, -R and -F so far.
          const stillThere: Rule[] = [];
          for (const [c, list] of specs) if (exists.get(c) === true) for (const x of list) if (x.targetKind === 'chain' && x.targetName === chain) stillThere.push(x);
          if (stillThere.length > 0) {
            sink.add(argSpan(at), 'chain-in-use', `chain ${chain} cannot be deleted: it is still the target of ${stillThere.length} jump${stillThere.length === 1 ? '' : 's'} (line ${stillThere.map((x) => x.line + 1).join(', ')}); delete those rules first`, {
              related: stillThere.map((x) => ({ range: range(x.span), message: 'jump to the chain' })),
            });
          } else if (count(chain) > 0) {
            sink.add(argSpan(at), 'chain-in-use', `chain ${chain} cannot be deleted: it still has ${count(chain)} rule(s); flush it with -F first`);
          } else {
            // Measured: after `-F` without a chain name, iptables-nft-restore refuses to delete a
            // chain that had rules, or was jumped to, before that flush (CHAIN_DEL: Device or
            // resource busy), until the chains concerned are flushed by name.
            const own = flushedAll.get(chain);
            const jumps: Rule[] = [];
            for (const [c, f] of flushedAll) if (exists.get(c) === true) for (const x of f.rules) if (x.targetKind === 'chain' && x.targetName === chain) jumps.push(x);
            const flushLine = own && own.rules.length > 0 ? own.line : jumps.length > 0 ? flushedAll.get(jumps[0].chainName ?? '')?.line : undefined;
            if (flushLine !== undefined) {
              const what = own && own.rules.length > 0 ? `the rules chain ${chain} had` : `the jump${jumps.length === 1 ? '' : 's'} to chain ${chain} (line ${jumps.map((x) => x.line + 1).join(', ')})`;
              sink.add(argSpan(at), 'chain-in-use', `iptables-nft-restore cannot delete chain ${chain} here: -F without a chain name (line ${flushLine + 1}) does not release ${what} within the same restore (CHAIN_DEL failed: Device or resource busy); flush the chains concerned by name (-F ${own && own.rules.length > 0 ? chain : (jumps[0].chainName ?? 'CHAIN')}) before -X`);
            }
          }
        };
        if (name !== undefined && has) {
          if (builtins.includes(name)) {
            sink.add(argSpan(chainArg!), 'invalid-value', `builtin chain ${name} cannot be deleted`);
          } else {
            deleteChain(name, chainArg!);
            exists.set(name, false);
          }
        } else if (name === undefined && info.commandArg) {
          // -X without a name deletes every user chain, each with the same checks.
          const users = [...exists].filter(([c, e]) => e && !builtins.includes(c)).map(([c]) => c);
          for (const c of users) deleteChain(c, info.commandArg);
          for (const c of users) exists.set(c, false);
        }
        break;
      }
      case 'E':
        if (has && info.newNameArg) {
          const nn = info.newNameArg.value;
          if (builtins.includes(name!)) sink.add(argSpan(chainArg!), 'invalid-value', `builtin chain ${name} cannot be renamed`);
          else if (exists.get(nn)) sink.add(argSpan(info.newNameArg), 'duplicate-chain', `cannot rename to ${nn}: a chain of that name exists`);
          else {
            checkChainName(nn, argSpan(info.newNameArg), sink);
            exists.set(name!, false);
            exists.set(nn, true);
            specs.set(nn, specs.get(name!) ?? []);
          }
        }
        break;
      case 'P':
        if (has && info.policyArg) {
          if (!builtins.includes(name!)) sink.add(argSpan(chainArg!), 'policy-on-user-chain', `-P applies only to builtin chains; ${name} is user-defined`);
          else if (info.policyArg.value !== 'ACCEPT' && info.policyArg.value !== 'DROP') sink.add(argSpan(info.policyArg), 'invalid-policy', `invalid policy '${info.policyArg.value}': a policy is ACCEPT or DROP`);
        }
        break;
      case 'F':
      case 'Z':
        // Measured with 1.8.9: iptables-nft-restore crashes (segmentation fault) on -Z CHAIN N when
        // rule N exists and ignores it otherwise; iptables-legacy-restore fails when it does not.
        if (info.command === 'Z' && has && info.ruleNumArg) sink.add(argSpan(info.ruleNumArg), 'invalid-value', `-Z with a rule number fails with one backend or the other: iptables-nft-restore crashes when rule ${info.ruleNumArg.value} exists, iptables-legacy-restore fails when it does not; zero the whole chain with -Z ${name}`);
        if (info.command === 'F') {
          if (has) {
            specs.set(name!, []);
            flushedAll.delete(name!);
          } else if (name === undefined) {
            for (const [c, list] of specs) {
              if (list.length > 0) {
                const before = flushedAll.get(c);
                flushedAll.set(c, { rules: before ? [...before.rules, ...list] : list, line: r.line });
              }
              specs.set(c, []);
            }
          }
        }
        break;
      default:
        break;
    }
    this.checkRule(t, r, info, b);
  }

  /** The checks of a command's rule itself, whatever the command did to its chain. */
  private checkRule(t: Table, r: Rule, info: RuleInfo, b: BlockState): void {
    const sink = this.sink;
    // Jump targets must exist when the rule is read (a later declaration is too late for both backends).
    checkTargetAndMatches(r, info, t, b, sink);
    checkRuleInChain(r, info, t, sink);
    const c = info.counters;
    if (c) checkCounterPair(c.packets, c.bytes, argSpan(c.args[0]), this.family, sink);
    this.noteRestrictions(r, info, t);
  }

  /** Records the hook restrictions of a rule's target, matches and options. */
  private noteRestrictions(r: Rule, info: RuleInfo, t: Table): void {
    if (info.command !== 'A' && info.command !== 'I' && info.command !== 'R') return;
    // Most rules have no restriction: the list is only made for those that do.
    let found: HookRestriction[] | undefined;
    const add = (x: HookRestriction): void => {
      (found ??= []).push(x);
    };
    const target = info.target;
    if (target?.spec && appliesIn(target.spec, t)) add({ allowed: target.spec.hooks!, where: argSpan(target.nameArg), what: described('target', target.spec.name) });
    for (const o of target?.options ?? []) if (o.spec?.hooks) add({ allowed: o.spec.hooks, where: argSpan(o.nameArg), what: described('option', o.name) });
    for (const m of info.matches) {
      if (m.spec && m.nameArg && appliesIn(m.spec, t)) add({ allowed: m.spec.hooks!, where: argSpan(m.nameArg), what: described('match', m.spec.name) });
      for (const o of m.options) if (o.spec?.hooks) add({ allowed: o.spec.hooks, where: argSpan(o.nameArg), what: described('option', o.name) });
      // policy's direction decides its hooks: the decoded input side, or the output side.
      if (m.name === 'policy') {
        const dir = m.options.find((o) => o.name === 'dir');
        const value = dir?.values[0]?.value;
        if (dir && (value === 'in' || value === 'out')) add({ allowed: value === 'in' ? ['PREROUTING', 'INPUT', 'FORWARD'] : ['FORWARD', 'OUTPUT', 'POSTROUTING'], where: argSpan(dir.nameArg), what: `option --dir ${value}` });
      }
      // physdev's output-side tests need --physdev-is-bridged in OUTPUT, as xt_physdev checks.
      if (m.name === 'physdev') {
        const outOpt = m.options.find((o) => o.name === 'physdev-out' || o.name === 'physdev-is-out');
        const bridged = m.options.find((o) => o.name === 'physdev-is-bridged' && !o.negated);
        if (outOpt && !bridged) add({ where: argSpan(outOpt.nameArg), what: outOpt.name });
      }
    }
    if (found) this.restrictions.set(r, found);
  }
}

/** Whether an extension's hook restriction applies in a table. */
function appliesIn(ext: ExtensionSpec, t: Table): boolean {
  return ext.hooks !== undefined && (!ext.tables || ext.tables.includes(t.name));
}

/** "the X target", "the X match", "--X": made once per name, since thousands of rules share them. */
const descriptions = new Map<string, string>();
function described(kind: 'target' | 'match' | 'option', name: string): string {
  const key = `${kind}:${name}`;
  let d = descriptions.get(key);
  if (d === undefined) descriptions.set(key, (d = kind === 'option' ? `--${name}` : `the ${name} ${kind}`));
  return d;
}

/** Checks of one table block that need the whole model: loops, hooks, unused chains, chain counters. */
function checkWholeTable(t: Table, model: Model, commands: CommandChecks, sink: Sink): void {
  const reach = reachingHooks(t);
  // A loop also exceeds any depth: the depth check would only repeat the loop's error.
  if (!checkLoops(t, reach, sink)) checkJumpDepth(t, sink);
  checkHooks(t, reach, commands, sink);
  for (const c of t.chains.values()) {
    if (c.builtin || !c.exists || !c.declaration) continue;
    if (c.references.length === 0) {
      sink.add(c.declaration, 'unused-chain', `chain ${c.name} is never jumped to: its ${c.rules.length} rule${c.rules.length === 1 ? '' : 's'} never see a packet`, { tags: ['unnecessary'] });
    }
  }
  for (const c of t.chains.values()) {
    const decl = c.declaration;
    if (decl && c.counters) checkCounterPair(c.counters.packets, c.counters.bytes, decl, model.family, sink);
  }
}

/** Jump targets must exist when the rule is read; extensions must be allowed in the table. */
function checkTargetAndMatches(r: Rule, info: RuleInfo, t: Table, block: BlockState, sink: Sink): void {
  const checkTable = (ext: ExtensionSpec, where: Arg, kind: string): void => {
    if (ext.tables && !ext.tables.includes(t.name)) {
      sink.add(argSpan(where), 'target-not-allowed', `the ${ext.name} ${kind} is only valid in the ${ext.tables.join(' or ')} table${ext.tables.length > 1 ? 's' : ''}, not in '${t.name}'`);
    }
  };
  // Matches are checked in rules without a target too (measured: `-A INPUT -m rpfilter` in filter).
  for (const m of info.matches) if (m.spec && m.nameArg) checkTable(m.spec, m.nameArg, 'match');
  // Options tied to tables of their own (SET's --map-set: mangle only). Plain loops: this runs
  // for every rule, and building a list of the options first cost a tenth of a check.
  for (const m of info.matches) for (const o of m.options) if (o.spec?.tables) checkOptionTable(o, t, sink);
  if (info.target) for (const o of info.target.options) if (o.spec?.tables) checkOptionTable(o, t, sink);
  const target = info.target;
  if (!target) return;
  const { exists } = block;
  if (target.kind === 'chain') {
    // The rule's shared copy of the name (buildModel): its hash is already known.
    const name = r.targetName ?? target.name;
    if (exists.get(name) === true) {
      if (t.chains.get(name)?.builtin) sink.add(argSpan(target.nameArg), 'undefined-chain', `${target.goto ? '-g' : '-j'} ${target.name}: a rule cannot jump to a builtin chain`);
    } else if (!(target.goto && ((STANDARD_TARGETS as readonly string[]).includes(target.name) || TARGET_BY_NAME.has(target.name)))) {
      // -g ACCEPT and the like are already reported by the rule interpreter. Whether the chain is
      // declared later in the block is only known when the block ends.
      const candidates = [...STANDARD_TARGETS, ...TARGET_BY_NAME.keys(), ...[...exists.keys()].filter((k) => exists.get(k))];
      const hint = suggest(target.name, candidates);
      const span = argSpan(target.nameArg);
      const jump = `${target.goto ? '-g' : '-j'} ${target.name}`;
      block.pending.push(() => {
        const dest = t.chains.get(target.name);
        if (dest && !dest.builtin && dest.declaration && dest.declaration.line > r.line) {
          sink.add(span, 'undefined-chain', `${jump}: the chain is declared only later, at line ${dest.declaration.line + 1}; iptables-restore needs it declared before this rule`);
          return;
        }
        const isBuiltinElsewhere = Object.values(BUILTIN_CHAINS).some((hooks) => (hooks as readonly string[]).includes(target.name));
        sink.add(span, 'undefined-chain', `${jump}: no chain or target of that name exists in table '${t.name}'${hint}${hint ? '' : isBuiltinElsewhere ? '' : `; declare ':${target.name} - [0:0]' or use ACCEPT, DROP, RETURN or a target extension`}`);
      });
    }
  }
  if (target.spec) checkTable(target.spec, target.nameArg, 'target');
  if (target.kind === 'standard' && target.name === 'DROP' && t.name === 'nat') {
    sink.add(argSpan(target.nameArg), 'target-not-allowed', 'the "nat" table is not intended for filtering, the use of DROP is inhibited: filter in the filter table instead');
  }
  if (target.kind === 'standard' && target.name === 'QUEUE') {
    sink.add(argSpan(target.nameArg), 'unavailable-extension', 'QUEUE is refused by the nf_tables backend (iptables-nft-restore): use -j NFQUEUE --queue-num 0');
  }
}

/** An option tied to tables of its own, used in another table. */
function checkOptionTable(o: OptionUse, t: Table, sink: Sink): void {
  const tables = o.spec!.tables!;
  if (!tables.includes(t.name)) sink.add(argSpan(o.nameArg), 'target-not-allowed', `--${o.name} is only valid in the ${tables.join(' or ')} table${tables.length > 1 ? 's' : ''}, not in '${t.name}'`);
}

/** Checks that depend on the rule's own chain and the matches around its target. */
function checkRuleInChain(r: Rule, info: RuleInfo, t: Table, sink: Sink): void {
  if (info.command !== 'A' && info.command !== 'I' && info.command !== 'R') return;
  const name = r.chainName ?? info.chainArg?.value;
  const chain = name !== undefined ? t.chains.get(name) : undefined;
  // -i has no meaning where packets are only leaving, -o where they are only arriving; iptables refuses both.
  if (chain?.builtin && chain.hook) {
    for (const b of info.base) {
      if (b.name === 'o' && (chain.hook === 'PREROUTING' || chain.hook === 'INPUT')) sink.add(argSpan(b.nameArg), 'target-not-allowed', `can't use -o with ${chain.hook}: packets there have no output interface yet`);
      if (b.name === 'i' && (chain.hook === 'POSTROUTING' || chain.hook === 'OUTPUT')) sink.add(argSpan(b.nameArg), 'target-not-allowed', chain.hook === 'OUTPUT' ? "can't use -i with OUTPUT: locally sent packets have no input interface" : "can't use -i with POSTROUTING: iptables refuses it in the builtin chain, though a forwarded packet still has its input interface there (a user chain called from POSTROUTING can test it)");
    }
  }
  for (const m of info.matches) {
    if (m.name === 'limit' && m.spec) checkLimit(m.options, m.nameArg ?? info.commandArg, sink);
    if (m.name === 'hashlimit' && m.spec) checkHashlimit(m.options, sink);
    if (m.name === 'bpf') {
      const pinned = m.options.find((o) => o.name === 'object-pinned')?.values[0];
      if (pinned) sink.add(argSpan(pinned), 'missing-bpf-object', `this rule uses the pinned BPF program ${pinned.value}: it must exist on the restoring host (bpftool prog pin …), or iptables refuses the rule (bpf: failed to get bpf object)`);
    }
    if (m.name === 'set' && m.nameArg) sink.add(argSpan(m.nameArg), 'missing-ipset', `this rule uses ipset ${m.options.find((o) => o.name === 'match-set')?.values[0]?.value ?? ''}: create the set (ipset create …) before restoring, or the kernel rejects the rule (Set … doesn't exist)`);
  }
  const target = info.target;
  if (target?.name === 'SET') sink.add(argSpan(target.nameArg), 'missing-ipset', 'this rule uses an ipset: create the set before restoring, or the kernel rejects the rule');
  if (target?.name === 'CT') {
    checkCtHelper(info, sink);
    const timeout = target.options.find((o) => o.name === 'timeout')?.values[0];
    if (timeout) sink.add(argSpan(timeout), 'missing-ct-timeout', `CT --timeout ${timeout.value}: create the timeout policy (nfct add timeout ${timeout.value} …) before restoring, or the kernel rejects the rule`);
  }
  for (const m of info.matches) {
    // An option's value when it is a plain decimal number.
    const num = (name: string): { n: number; o: OptionUse } | undefined => {
      const o = m.options.find((x) => x.name === name);
      const v = o?.values[0]?.value;
      return o && v !== undefined && /^[0-9]+$/.test(v) ? { n: Number(v), o } : undefined;
    };
    if (m.name === 'policy') {
      // libxt_policy: tunnel endpoints belong to tunnel-mode elements (checked per --next element).
      let element: { tunnel: boolean; endpoint?: OptionUse } = { tunnel: false };
      const elements = [element];
      for (const o of m.options) {
        if (o.name === 'next') elements.push((element = { tunnel: false }));
        else if (o.name === 'mode') element.tunnel = o.values[0]?.value === 'tunnel';
        else if ((o.name === 'tunnel-src' || o.name === 'tunnel-dst') && !element.endpoint) element.endpoint = o;
      }
      for (const e of elements) {
        if (e.endpoint && !e.tunnel) sink.add(argSpan(e.endpoint.nameArg), 'missing-option', `--${e.endpoint.name} is only valid in tunnel mode: add --mode tunnel to this policy element (the kernel refuses the rule otherwise)`);
      }
      // With --strict, every element must say something, and there must be an IPsec policy to match.
      const strict = m.options.find((o) => o.name === 'strict');
      if (strict) {
        if (m.options.some((o) => o.name === 'pol' && o.values[0]?.value === 'none')) sink.add(argSpan(strict.nameArg), 'conflicting-options', '--strict cannot be combined with --pol none: there is no IPsec policy to match exactly');
        let k = 0;
        let filled = false;
        let at: OptionUse = strict;
        for (const o of [...m.options, undefined]) {
          if (o === undefined || o.name === 'next') {
            if (!filled) sink.add(argSpan(at.nameArg), 'missing-option', `policy element ${k} is empty while --strict is in effect: give it --proto, --mode, --spi, --reqid or a tunnel address`);
            k++;
            filled = false;
            if (o) at = o;
          } else if (['reqid', 'spi', 'proto', 'mode', 'tunnel-src', 'tunnel-dst'].includes(o.name)) filled = true;
        }
      }
    }
    if (m.name === 'statistic') {
      // The kernel counts packets 0 … every-1 (libxt_statistic: "the --packet p must be 0 <= p <= n-1").
      const every = num('every');
      const packet = num('packet');
      if (every && packet && packet.n >= every.n) sink.add(argSpan(packet.o.values[0]), 'invalid-value', `--packet ${packet.n} must be below --every ${every.n} (0 to ${every.n - 1})`);
      // Each mode needs its own options (libxt_statistic's final check).
      const mode = m.options.find((o) => o.name === 'mode');
      const has = (n: string): boolean => m.options.some((o) => o.name === n);
      if (mode?.values[0]?.value === 'random' && !has('probability')) sink.add(argSpan(mode.values[0]), 'missing-option', '--probability must be given in random mode');
      if (mode?.values[0]?.value === 'nth' && !has('every')) sink.add(argSpan(mode.values[0]), 'missing-option', '--every and --packet must be given in nth mode');
    }
    if (m.name === 'recent') {
      // xt_recent refuses a hit count with --set or --remove (it counts only when checking); 0 means none.
      const hitcount = m.options.find((o) => o.name === 'hitcount');
      const count = hitcount?.values[0] ? parseUnsigned(hitcount.values[0].value) : undefined;
      const op = m.options.find((o) => o.name === 'set' || o.name === 'remove');
      if (op && hitcount && count !== undefined && count > 0) sink.add(argSpan(hitcount.nameArg), 'conflicting-options', `--hitcount cannot be combined with --${op.name} in the recent match: it only counts when checking (--rcheck, --update); the kernel refuses the rule`);
    }
    if (m.name === 'rt') {
      // libip6t_rt reads its options in order: the type-0 options need a plain `--rt-type 0`
      // before them, and --rt-0-not-strict needs --rt-0-addrs before it.
      let typeZero = false;
      let addrs = false;
      for (const o of m.options) {
        if (o.name === 'rt-type') typeZero = !o.negated && o.values[0] !== undefined && parseUnsigned(o.values[0].value) === 0;
        else if ((o.name === 'rt-0-res' || o.name === 'rt-0-addrs') && !typeZero) sink.add(argSpan(o.nameArg), 'missing-option', `--${o.name} needs --rt-type 0 before it (not negated): it applies to type-0 routing headers only`);
        else if (o.name === 'rt-0-not-strict' && !addrs) sink.add(argSpan(o.nameArg), 'missing-option', '--rt-0-not-strict needs --rt-0-addrs before it');
        if (o.name === 'rt-0-addrs') addrs = true;
      }
    }
    if (m.name === 'cluster') {
      // libxt_cluster: the local node (or every node of the mask) must be one of the total nodes.
      const total = num('cluster-total-nodes');
      const node = num('cluster-local-node');
      const maskOpt = m.options.find((o) => o.name === 'cluster-local-nodemask');
      const mask = maskOpt?.values[0] ? parseUnsigned(maskOpt.values[0].value) : undefined;
      if (total && node && node.n > total.n) sink.add(argSpan(node.o.values[0]), 'invalid-value', `--cluster-local-node ${node.n} is above --cluster-total-nodes ${total.n}`);
      if (total && maskOpt && mask !== undefined && mask >= 2 ** total.n) sink.add(argSpan(maskOpt.values[0]), 'invalid-value', `--cluster-local-nodemask ${maskOpt.values[0].value} names nodes above --cluster-total-nodes ${total.n} (at most ${2 ** total.n - 1})`);
    }
    if (m.name === 'string') {
      const from = num('from');
      const to = num('to');
      if (from && to && from.n > to.n) sink.add(argSpan(to.o.values[0]), 'invalid-value', `--to ${to.n} is before --from ${from.n}: the kernel refuses the rule`);
    }
  }
  if (target?.name === 'TCPMSS') {
    const hasSyn = info.matches.some((m) => m.name === 'tcp' && m.options.some((o) => !o.negated && (o.name === 'syn' || (o.name === 'tcp-flags' && /(^|,)(SYN|ALL)(,|$)/i.test(o.values[1]?.value ?? '')))));
    if (!hasSyn) sink.add(argSpan(target.nameArg), 'missing-option', 'TCPMSS only works on TCP SYN packets: add -m tcp --tcp-flags SYN,RST SYN (the kernel rejects the rule otherwise)');
  }
}

/** The protocol number of the rule's own `-p` (name or number), or undefined when absent or negated. */
function ruleProtocol(info: RuleInfo): number | undefined {
  const p = info.protocol;
  if (p === undefined || info.protocolNegated) return undefined;
  return protocolNumberOf(p);
}

/**
 * The conntrack helpers `-j CT --helper` can attach, by the name the kernel registers them under
 * (case-sensitive) and the protocols they serve (measured with kernel 6.18: docs/iptables-restore-behaviour.md).
 */
const CT_HELPERS: ReadonlyMap<string, readonly ('tcp' | 'udp')[]> = new Map<string, readonly ('tcp' | 'udp')[]>([
  ['amanda', ['udp']], ['ftp', ['tcp']], ['RAS', ['udp']], ['Q.931', ['tcp']], ['H.245', ['udp']], ['irc', ['tcp']],
  ['netbios-ns', ['udp']], ['pptp', ['tcp']], ['sane', ['tcp']], ['sip', ['tcp', 'udp']], ['snmp', ['udp']],
  ['snmp_trap', ['udp']], ['tftp', ['udp']],
]);

/**
 * The kernel looks a CT helper up by its name and by the protocol of the rule itself (`-p`, not
 * negated): an unknown name, or a rule without a protocol the helper serves, is refused
 * ("No such file or directory"), even when every packet reaching the rule has that protocol.
 */
function checkCtHelper(info: RuleInfo, sink: Sink): void {
  const helper = info.target?.options.find((o) => o.name === 'helper');
  const value = helper?.values[0];
  if (!helper || !value) return;
  const protos = CT_HELPERS.get(value.value);
  if (!protos) {
    const same = [...CT_HELPERS.keys()].find((k) => k.toLowerCase() === value.value.toLowerCase());
    sink.add(argSpan(value), 'invalid-value', `CT --helper ${value.value}: the kernel has no conntrack helper of that name${same ? ` (names are case-sensitive: ${same})` : ` (helpers: ${[...CT_HELPERS.keys()].join(', ')})`}; the rule is refused`);
    return;
  }
  const number = ruleProtocol(info);
  const proto = number === 6 ? 'tcp' : number === 17 ? 'udp' : undefined;
  if (!proto || !protos.includes(proto)) {
    sink.add(argSpan(value), 'missing-option', `CT --helper ${value.value} serves ${protos.join(' and ')} only: the rule itself needs -p ${protos.join(' or -p ')} (the kernel looks the helper up by the rule's protocol and refuses the rule otherwise)`);
  }
}

/**
 * The limit match's kernel check: the burst must be positive and `avg * burst` must not overflow
 * the kernel's 32-bit credit counter (so `--limit 1/day` fails with the default burst of 5).
 */
function checkLimit(options: readonly { name: string; values: readonly Arg[]; nameArg: Arg }[], where: Arg | undefined, sink: Sink): void {
  const rateOpt = options.find((o) => o.name === 'limit');
  const burstOpt = options.find((o) => o.name === 'limit-burst');
  const m = /^([0-9]+)(?:\/(.*))?$/.exec(rateOpt?.values[0]?.value ?? '3/hour');
  if (!m) return;
  const mult = rateUnitSeconds(m[2] ?? 'second') ?? 1;
  const r = Number(m[1]);
  if (!r) return;
  const avg = Math.floor((10000 * mult) / r);
  const burst = burstOpt ? Number(burstOpt.values[0]?.value) : 5;
  if (!Number.isFinite(burst)) return;
  // user2credits as in xt_limit.c with HZ=250 and CREDITS_PER_JIFFY=128, in 32-bit arithmetic.
  const HZ = 250;
  const CPJ = 128;
  const user2credits = (user: number): number => (user > Math.floor(0xffffffff / (HZ * CPJ)) ? Math.floor(user / 10000) * HZ * CPJ : Math.floor((user * HZ * CPJ) / 10000)) >>> 0;
  const product = Number((BigInt(avg) * BigInt(burst)) & 0xffffffffn);
  const at = burstOpt?.values[0] ?? rateOpt?.values[0] ?? where;
  if (!at) return;
  if (burst === 0) {
    // Reported by the value check of --limit-burst.
  } else if (user2credits(product) < user2credits(avg)) {
    sink.add(argSpan(at), 'invalid-value', `--limit ${m[0]} with burst ${burst} overflows the kernel's counter (Overflow, try lower): use a faster rate or a smaller burst`);
  }
}

/** Timer frequencies (CONFIG_HZ) of common kernels: hashlimit's credit arithmetic depends on it. */
const COMMON_HZ = [100n, 250n, 300n, 1000n] as const;

/**
 * Whether xt_hashlimit (revision 3) refuses a packet rate (avg: microseconds between packets)
 * with a burst, on a kernel with timer frequency hz: its check `user2credits(avg * burst) <
 * user2credits(avg)` in 64-bit arithmetic catches the product overflowing (measured: 1/day is
 * refused with any burst above 1 on this HZ=250 kernel, 2/day with burst 100000 is not).
 */
function hashlimitOverflows(avg: bigint, burst: bigint, hz: bigint): boolean {
  const wrap = (x: bigint): bigint => x & 0xffffffffffffffffn;
  const maxCpj = 0xffffffffffffffffn / (hz * 86400n);
  let cpj = 1n;
  while (cpj * 2n <= maxCpj) cpj *= 2n;
  const scale = 1000000n;
  const credits = (user: bigint): bigint => (scale >= hz * cpj ? user / (scale / (hz * cpj)) : wrap(user * ((hz * cpj) / scale)));
  return credits(wrap(avg * burst)) < credits(avg);
}

/**
 * The hashlimit checks that span options: a packet rate takes at most 1,000,000 as burst (even
 * written with a k or m suffix); a byte rate's burst must hold at least one second's worth of
 * bytes as iptables rounds it; and the kernel refuses a packet rate and burst whose credits
 * overflow, which depends on its timer frequency (HZ): an error when every common HZ refuses,
 * a warning when only some do. (`--hashlimit-rate-match` uses other checks: not modelled.)
 */
function checkHashlimit(options: readonly { name: string; values: readonly Arg[]; nameArg: Arg }[], sink: Sink): void {
  const rateOpt = options.find((o) => o.name === 'hashlimit-upto' || o.name === 'hashlimit-above' || o.name === 'hashlimit');
  const rateArg = rateOpt?.values[0];
  if (!rateArg) return;
  const rate = readHashlimitRate(rateArg.value);
  if (rate.kind === 'bad') return;
  const burstArg = options.find((o) => o.name === 'hashlimit-burst')?.values[0];
  const burst = burstArg ? readHashlimitBurst(burstArg.value) : { value: 5n, plain: true };
  if (!burst) return;
  if (rate.kind === 'bytes') {
    if (!burstArg) return;
    // cost_to_bytes(bytes_to_cost(rate)): the bytes one credit stands for, rounded as iptables does.
    const cost = 0xffffffffn / ((rate.bytesPerSecond >> 4n) + 1n);
    const least = (0xffffffffn / cost - 1n) << 4n;
    if (burst.value < least) sink.add(argSpan(burstArg), 'invalid-value', `burst ${burstArg.value} is smaller than the rate's ${least} bytes: iptables refuses it (burst cannot be smaller than ${least}b)`);
    return;
  }
  if (burst.value > 1000000n) {
    if (burstArg) sink.add(argSpan(burstArg), 'invalid-value', `burst ${burstArg.value} (${burst.value} packets) is out of range: 1 to 1000000 packets with a packet rate`);
    return;
  }
  if (options.some((o) => o.name === 'hashlimit-rate-match')) return;
  const refusing = COMMON_HZ.filter((hz) => hashlimitOverflows(rate.avg, burst.value, hz));
  if (refusing.length === 0) return;
  const at = burstArg ?? rateArg;
  const what = `--${rateOpt!.name} ${rateArg.value} with burst ${burst.value}${burstArg ? '' : ' (the default)'}`;
  if (refusing.length === COMMON_HZ.length) sink.add(argSpan(at), 'invalid-value', `${what} overflows the kernel's credit counter: the kernel refuses the rule (overflow, try lower): use a faster rate or a smaller burst`);
  else sink.add(argSpan(at), 'kernel-dependent-rate', `${what} overflows the kernel's credit counter on kernels built with a timer frequency of ${refusing.map((hz) => `${hz}`).join(' or ')} Hz (CONFIG_HZ, ${refusing.includes(250n) ? "Debian's among them" : 'a common choice'}), which refuse the rule; other kernels load it: use a faster rate or a smaller burst`);
}

/** Counters a kernel never writes: bytes without packets, or fewer bytes than the smallest header. */
function checkCounterPair(packets: bigint, bytes: bigint, span: Span, family: Model['family'], sink: Sink): void {
  const minHeader = family === 'ipv6' ? 40n : 20n;
  if (packets === 0n && bytes > 0n) {
    sink.add(span, 'suspicious-counters', `counters [0:${bytes}] count bytes without packets: no kernel writes that; they look hand-edited`);
  } else if (packets > 0n && bytes < packets * minHeader) {
    sink.add(span, 'suspicious-counters', `counters [${packets}:${bytes}] give fewer than ${minHeader} bytes per packet, smaller than any ${family === 'ipv6' ? 'IPv6' : 'IPv4'} header: they look hand-edited`);
  }
}

/**
 * Jump loops: every jump that lies on a cycle of the jump graph (Tarjan's strongly connected
 * components). Returns whether a loop that a packet can enter was reported.
 */
function checkLoops(t: Table, reach: ReadonlyMap<Chain, ReadonlySet<Hook>>, sink: Sink): boolean {
  const chains = [...t.chains.values()].filter((c) => c.exists);
  // Per chain (by its ordinal): its number in visiting order (-1: not visited yet), the lowest
  // number it reaches back to, whether it is on the stack, its component.
  const size = t.chains.size;
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const comp = new Int32Array(size);
  const stack: Chain[] = [];
  let counter = 0;
  let compId = 0;
  // Iterative Tarjan, so that long chains of jumps cannot overflow the call stack.
  const work: { c: Chain; edges: readonly { to: Chain }[]; k: number }[] = [];
  const push = (c: Chain): void => {
    const o = c.ordinal;
    index[o] = low[o] = counter++;
    onStack[o] = 1;
    stack.push(c);
    work.push({ c, edges: outgoingJumps(c), k: 0 });
  };
  for (const root of chains) {
    if (index[root.ordinal] >= 0) continue;
    push(root);
    while (work.length) {
      const top = work[work.length - 1];
      const o = top.c.ordinal;
      if (top.k < top.edges.length) {
        const w = top.edges[top.k++].to;
        if (index[w.ordinal] < 0) push(w);
        else if (onStack[w.ordinal] === 1 && index[w.ordinal] < low[o]) low[o] = index[w.ordinal];
      } else {
        work.pop();
        if (work.length) {
          const parent = work[work.length - 1].c.ordinal;
          if (low[o] < low[parent]) low[parent] = low[o];
        }
        if (low[o] === index[o]) {
          let w: Chain;
          do {
            w = stack.pop()!;
            onStack[w.ordinal] = 0;
            comp[w.ordinal] = compId;
          } while (w !== top.c);
          compId++;
        }
      }
    }
  }
  // The kernel only refuses loops that a packet could enter, i.e. reachable from a builtin chain.
  let found = false;
  for (const c of chains) {
    if ((reach.get(c)?.size ?? 0) === 0) continue;
    const from = comp[c.ordinal];
    for (const { rule, to } of outgoingJumps(c)) {
      if (comp[to.ordinal] !== from) continue;
      found = true;
      const cycle = findCycle(to, c);
      sink.add(rule.targetSpan ?? rule.span, 'chain-loop', `jump from ${c.name} to ${to.name} closes a loop (${[c.name, ...cycle].join(' → ')}): the kernel rejects the whole table`, {
        related: [{ range: range(rule.span), message: 'jump on the loop' }],
      });
    }
  }
  return found;
}

/**
 * Whether, with all its rules, some chain of the table is more than MAX_NFT_JUMP_DEPTH jumps below
 * a builtin chain: depths are raised from the builtin chains down, each at most
 * MAX_NFT_JUMP_DEPTH + 1 times, with an explicit stack.
 */
function tooDeepAtTheEnd(t: Table): boolean {
  // By chain ordinal; -1: not reached yet.
  const depth = new Int32Array(t.chains.size).fill(-1);
  const stack: { c: Chain; d: number }[] = [];
  for (const c of t.chains.values()) if (c.builtin) stack.push({ c, d: 0 });
  while (stack.length > 0) {
    const { c, d } = stack.pop()!;
    if (d <= depth[c.ordinal]) continue;
    if (d > MAX_NFT_JUMP_DEPTH) return true;
    depth[c.ordinal] = d;
    let last: Chain | undefined;
    for (const { to } of outgoingJumps(c)) {
      // Consecutive jumps to one chain (Neutron's per-port rules) need one look.
      if (to === last || to.builtin) continue;
      last = to;
      if (d + 1 > depth[to.ordinal]) stack.push({ c: to, d: d + 1 });
    }
  }
  return false;
}

/**
 * The deepest user chain the nf_tables backend lets a packet reach: its jump stack holds 16
 * levels and the builtin chain is level 0, so a jump or goto into a chain 16 levels down is
 * refused ("Too many links"). The legacy backend has no such limit.
 */
export const MAX_NFT_JUMP_DEPTH = 15;

/**
 * The nf_tables jump depth. iptables-nft-restore sends a table's rules in file order, and the kernel
 * checks the depth of the whole table after each one: the first rule whose jump (or goto) makes some
 * chain more than MAX_NFT_JUMP_DEPTH levels deep below a builtin chain is refused, and so is every
 * rule after it (measured with iptables 1.8.9: docs/iptables-restore-behaviour.md). The error goes
 * on that first rule, with the path. Depths only grow as rules are added, so each chain's depth is
 * raised at most MAX_NFT_JUMP_DEPTH + 1 times and the check stays linear in the jumps. Tables with
 * a loop are not checked here (checkLoops reports them, and a loop has no depth).
 */
function checkJumpDepth(t: Table, sink: Sink): void {
  // Depths only grow as rules are added: when no chain is too deep with every rule in place (the
  // usual case, found in one pass), no rule on the way made one too deep either.
  if (!tooDeepAtTheEnd(t)) return;
  const jumps: { rule: Rule; from: Chain; to: Chain }[] = [];
  for (const c of t.chains.values()) for (const { rule, to } of outgoingJumps(c)) if (!to.builtin) jumps.push({ rule, from: c, to });
  jumps.sort((a, b) => a.rule.line - b.rule.line);
  const out = new Map<Chain, Chain[]>();
  const depth = new Map<Chain, number>();
  const parent = new Map<Chain, Chain>();
  for (const c of t.chains.values()) if (c.builtin) depth.set(c, 0);
  for (const { rule, from, to } of jumps) {
    let next = out.get(from);
    if (!next) out.set(from, (next = []));
    next.push(to);
    const d = depth.get(from);
    if (d === undefined) continue;
    // Raise the depths below `to`, iteratively (a long line of chains must not overflow the stack).
    const stack: { c: Chain; d: number; via: Chain }[] = [{ c: to, d: d + 1, via: from }];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (x.d <= (depth.get(x.c) ?? -1)) continue;
      depth.set(x.c, x.d);
      parent.set(x.c, x.via);
      if (x.d > MAX_NFT_JUMP_DEPTH) {
        // The way back up the parents. Chains deleted by a refused -X (its own error is reported)
        // can still form a loop of jumps that checkLoops leaves out: the way then repeats a chain.
        const path: string[] = [];
        const seen = new Set<Chain>();
        let y: Chain | undefined = x.c;
        for (; y && !seen.has(y); y = parent.get(y)) {
          seen.add(y);
          path.unshift(y.name);
        }
        if (y) {
          // The path runs in jump order; its part up to the repeated chain is the loop.
          const cycle = path.slice(0, path.indexOf(y.name) + 1);
          sink.add(rule.targetSpan ?? rule.span, 'chain-loop', `${rule.goto ? '-g' : '-j'} ${to.name} closes a loop (${[...cycle, cycle[0]].join(' → ')}): the kernel rejects the whole table`, {
            related: [{ range: range(rule.span), message: 'jump on the loop' }],
          });
          return;
        }
        const shown = path.length > 8 ? [...path.slice(0, 3), '…', ...path.slice(-4)] : path;
        const jump = `${rule.goto ? '-g' : '-j'} ${to.name}`;
        sink.add(rule.targetSpan ?? rule.span, 'jump-too-deep', `${jump} puts chain ${x.c.name} ${x.d} jumps below builtin chain ${path[0]} (${shown.join(' → ')}): the nf_tables jump stack allows at most ${MAX_NFT_JUMP_DEPTH}, so iptables-nft-restore refuses this rule and every later rule of the table (iptables-legacy-restore accepts them)`, {
          related: [{ range: range(rule.span), message: 'the jump that makes the path too deep' }],
        });
        return;
      }
      for (const y of out.get(x.c) ?? []) stack.push({ c: y, d: x.d + 1, via: x.c });
    }
  }
}

/** A path of chain names from `from` back to `to`, for the loop message. */
function findCycle(from: Chain, to: Chain): string[] {
  const prev = new Map<Chain, Chain>();
  const queue: Chain[] = [from];
  const seen = new Set<Chain>([from]);
  while (queue.length) {
    const x = queue.shift()!;
    if (x === to) break;
    for (const { to: y } of outgoingJumps(x)) {
      if (!seen.has(y)) { seen.add(y); prev.set(y, x); queue.push(y); }
    }
  }
  const path: string[] = [];
  for (let x: Chain | undefined = to; x && x !== from; x = prev.get(x)) path.unshift(x.name);
  return [from.name, ...path];
}

/** Hook restrictions of targets and matches, through the chains that reach them. */
function checkHooks(t: Table, hooks: ReadonlyMap<Chain, ReadonlySet<Hook>>, commands: CommandChecks, sink: Sink): void {
  // Only the chains that hold a rule with a restriction are looked through (a rule is only ever in
  // the chain it names): a dump of thousands of chains has a few.
  const named = new Set<string>();
  for (const r of commands.restrictions.keys()) if (r.table === t && r.chainName !== undefined) named.add(r.chainName);
  if (named.size === 0) return;
  for (const c of t.chains.values()) {
    if (!named.has(c.name)) continue;
    const reachSet = hooks.get(c);
    if (!reachSet || reachSet.size === 0) continue;
    const reach = [...reachSet];
    for (const r of c.rules) {
      const found = commands.restrictions.get(r);
      if (!found) continue;
      for (const x of found) {
        if (x.allowed === undefined) {
          if (reachSet.has('OUTPUT')) sink.add(x.where, 'target-not-allowed', `--${x.what} cannot be used in OUTPUT without --physdev-is-bridged: locally sent packets have no bridge port yet`);
          continue;
        }
        const allowed = x.allowed;
        const bad = reach.filter((h) => !allowed.includes(h));
        if (bad.length === 0) continue;
        const via = c.builtin ? '' : ` (chain ${c.name} is reached from ${bad.join(', ')})`;
        sink.add(x.where, 'target-not-allowed', `${x.what} is only valid in ${allowed.join(', ')}, not in ${bad.join(', ')}${via}`);
      }
    }
  }
}
