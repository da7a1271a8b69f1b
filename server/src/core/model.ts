/**
 * The semantic model of an iptables-restore file: tables → chains → ordered rules, the jump
 * graph, and the address family. It is built from the parsed lines in one pass that follows
 * iptables-restore's own state machine (a table opens with `*name`, chains are declared with
 * `:NAME`, commands change the table, COMMIT applies it), and records where every chain, rule and
 * reference is in the source so that editor features can point at them.
 */
import { type Arg, type ParseResult, type RuleLineNode } from './syntax.ts';
import { interpretRule, reuseRuleInfo, type CommandKind, type RuleInfo, type RuleProblem } from './rule.ts';
import { BUILTIN_CHAINS, STANDARD_TARGETS, TARGET_BY_NAME, type Hook } from './extensions/extensions.ts';
import type { Family } from './extensions/value-kinds.ts';
import { parseIPv6 } from './extensions/value-kinds.ts';

/** A 0-based source span on one line. */
export interface Span {
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

/**
 * A rule (or any command line) inside a table block.
 *
 * A rule keeps only what navigation, the jump graph and the validity checks need on every rule
 * (command, chain, target and their positions). Its full interpretation (`info`) and its words
 * (`args`) are recomputed from the line on demand and cached for the most recently used rules
 * only: keeping them for every rule of a 100k-line dump costs more than ten times the file's size.
 */
export interface Rule {
  readonly line: number;
  /** Span of the whole line's content. */
  readonly span: Span;
  readonly table: Table;
  /** The chain the command names, if any. */
  readonly chainName?: string;
  /** Where the chain name is written. */
  readonly chainSpan?: Span;
  /** The command (`A` for -A/--append …). */
  readonly command?: CommandKind;
  /** The name after -j/-g, if any. */
  readonly targetName?: string;
  /** What the target is: a standard verdict, a target extension or (anything else) a chain. */
  readonly targetKind?: 'standard' | 'extension' | 'chain';
  /** True for `-g` (goto). */
  readonly goto: boolean;
  /** Where the target name is written. */
  readonly targetSpan?: Span;
  /** The rule's full interpretation (recomputed on demand). */
  readonly info: RuleInfo;
  /**
   * The rule's interpretation for a pass over every rule: the cached one when there is one, else
   * worked out without entering the cache. Through the cache, each interpretation of such a pass
   * would live as long as the window takes to turn over, long enough for the garbage collector
   * to promote it, only to drop it soon after (most of the time of a whole-document pass).
   */
  interpretOnce(): RuleInfo;
  /** The line's text, without its line break. */
  readonly text: string;
  /** The line's words (recomputed on demand). */
  readonly args: readonly Arg[];
}

/**
 * How many rules of a table keep their interpretation and words cached. Requests touch a few rules
 * at a time (hover, a trace through one chain), so a small window suffices; a pass over every rule
 * of a big dump simply recomputes each rule once.
 */
const CACHE_SIZE = 4096;

/** The rules of a table whose interpretation is cached, oldest first from `next` on. */
interface CacheWindow {
  readonly records: (RuleRecord | undefined)[];
  next: number;
}

// One window per table, held by the table only (through this WeakMap): a window shared by every
// model would keep the rules of earlier versions of a document, and with them their whole models
// and texts, until newer rules pushed them out. An editor makes a model per edit, so the language
// server's memory grew by a model per edit (46 MB per edit of the 5,000-port dump).
const cacheWindows = new WeakMap<Table, CacheWindow>();

/** Commands by their index in a rule's packed facts (0: none). */
const COMMANDS: readonly (CommandKind | undefined)[] = [undefined, 'A', 'C', 'D', 'R', 'I', 'L', 'S', 'F', 'Z', 'N', 'X', 'E', 'P'];
const COMMAND_INDEX = new Map(COMMANDS.map((c, k) => [c, k]));
/** Target kinds by their index in a rule's packed facts (0: no target). */
const TARGET_KINDS: readonly (Rule['targetKind'])[] = [undefined, 'standard', 'extension', 'chain'];

/**
 * Two columns in one number while both are below 2^15: the product stays a small integer, which
 * V8 keeps in the object itself (a larger number would be a separate heap object per rule).
 * Words further right (lines of more than 32,767 characters) are marked WIDE and found again
 * from the rule's interpretation.
 */
const COLUMN_LIMIT = 2 ** 15;
const WIDE = -2;
const packColumns = (start: number, end: number): number => (start < COLUMN_LIMIT && end < COLUMN_LIMIT ? start * COLUMN_LIMIT + end : WIDE);

/** The span of a word of a rule line, if any. */
function argLineSpan(line: number, a: Arg | undefined): Span | undefined {
  return a && { line, start: a.start, end: a.end };
}

/**
 * The model's rule: compact facts plus the interpretation recomputed on demand. A 100k-line dump
 * has a record per line, so the facts are packed (command, target kind and goto in one small
 * integer; each span's two columns in one number): nine fields instead of sixteen.
 */
class RuleRecord implements Rule {
  chainName?: string;
  targetName?: string;
  /** Command index, target kind index << 4, goto << 6. */
  private bits = 0;
  private chainColumns = -1;
  private targetColumns = -1;
  private cache?: { args: Arg[]; info?: RuleInfo };

  constructor(
    private readonly node: RuleLineNode,
    readonly table: Table,
  ) {}

  /** Records the facts kept from the rule's interpretation. */
  setFacts(info: RuleInfo): void {
    let bits = COMMAND_INDEX.get(info.command) ?? 0;
    if (info.chainArg) {
      this.chainName = info.chainArg.value;
      this.chainColumns = packColumns(info.chainArg.start, info.chainArg.end);
    }
    const target = info.target;
    if (target) {
      this.targetName = target.name;
      this.targetColumns = packColumns(target.nameArg.start, target.nameArg.end);
      bits |= TARGET_KINDS.indexOf(target.kind) << 4;
      if (target.goto) bits |= 64;
    }
    this.bits = bits;
  }

  get line(): number {
    return this.node.line;
  }

  get command(): CommandKind | undefined {
    return COMMANDS[this.bits & 15];
  }

  get targetKind(): Rule['targetKind'] {
    return TARGET_KINDS[(this.bits >> 4) & 3];
  }

  get goto(): boolean {
    return (this.bits & 64) !== 0;
  }

  get span(): Span {
    const text = this.node.text;
    let start = 0;
    while (start < text.length && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
    let end = text.length;
    const last = text.charCodeAt(end - 1);
    // Most lines end in a word: nothing to trim, and no need to split them.
    if (last !== 32 && last !== 9) return { line: this.node.line, start, end };
    // Inside an unclosed quote, trailing blanks belong to the last word: split such lines.
    if (text.includes('"')) {
      const args = this.args;
      return { line: this.node.line, start: args[0].start, end: args[args.length - 1].end };
    }
    while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
    return { line: this.node.line, start, end };
  }

  get chainSpan(): Span | undefined {
    const p = this.chainColumns;
    if (p === WIDE) return argLineSpan(this.node.line, this.info.chainArg);
    return p < 0 ? undefined : this.columnsSpan(p);
  }

  get targetSpan(): Span | undefined {
    const p = this.targetColumns;
    if (p === WIDE) return argLineSpan(this.node.line, this.info.target?.nameArg);
    return p < 0 ? undefined : this.columnsSpan(p);
  }

  private columnsSpan(packed: number): Span {
    return { line: this.node.line, start: Math.floor(packed / COLUMN_LIMIT), end: packed % COLUMN_LIMIT };
  }

  get args(): readonly Arg[] {
    return this.cached().args;
  }

  get text(): string {
    return this.node.text;
  }

  interpretOnce(): RuleInfo {
    const c = this.cache;
    if (c?.info) return c.info;
    return interpretRuleLine(c?.args ?? this.node.args, this.table.family).info!;
  }

  get info(): RuleInfo {
    const c = this.cached();
    // The line was interpreted once when the model was built, so it yields an interpretation again.
    return (c.info ??= interpretRuleLine(c.args, this.table.family).info!);
  }

  /** The cached words (and interpretation) of the rule, entering the cache window if needed. */
  private cached(): { args: Arg[]; info?: RuleInfo } {
    if (this.cache === undefined) {
      let w = cacheWindows.get(this.table);
      if (!w) cacheWindows.set(this.table, (w = { records: [], next: 0 }));
      const old = w.records[w.next];
      if (old !== undefined && old !== this) old.cache = undefined;
      w.records[w.next] = this;
      w.next = (w.next + 1) % CACHE_SIZE;
      this.cache = { args: this.node.args };
    }
    return this.cache;
  }
}

/**
 * Rules by line, in an array indexed by line number instead of a Map: one slot per line costs a
 * fifth of a Map entry, and a dump has a rule on almost every line.
 */
class RulesByLine implements ReadonlyMap<number, Rule> {
  private readonly slots: (Rule | undefined)[] = [];
  private count = 0;

  set(line: number, rule: Rule): void {
    while (this.slots.length < line) this.slots.push(undefined);
    if (this.slots[line] === undefined) this.count++;
    this.slots[line] = rule;
  }

  get(line: number): Rule | undefined {
    return this.slots[line];
  }

  has(line: number): boolean {
    return this.slots[line] !== undefined;
  }

  get size(): number {
    return this.count;
  }

  *entries(): MapIterator<[number, Rule]> {
    for (let l = 0; l < this.slots.length; l++) {
      const r = this.slots[l];
      if (r !== undefined) yield [l, r];
    }
  }

  *keys(): MapIterator<number> {
    for (const [l] of this.entries()) yield l;
  }

  *values(): MapIterator<Rule> {
    for (const r of this.slots) if (r !== undefined) yield r;
  }

  [Symbol.iterator](): MapIterator<[number, Rule]> {
    return this.entries();
  }

  forEach(fn: (value: Rule, key: number, map: ReadonlyMap<number, Rule>) => void): void {
    for (const [l, r] of this.entries()) fn(r, l, this);
  }
}

/** A chain of a table block. */
export interface Chain {
  readonly name: string;
  readonly table: Table;
  readonly builtin: boolean;
  /** The hook of a builtin chain. */
  readonly hook?: Hook;
  /** ACCEPT/DROP for builtin chains (from `:NAME POLICY` or `-P`), undefined for user chains. */
  policy?: string;
  /** Counters of the declaration line. */
  counters?: { packets: bigint; bytes: bigint };
  /** Where the chain is declared (`:NAME` line or `-N`), absent for builtin chains never declared. */
  declaration?: Span;
  /** The `:NAME` or `-N NAME` word. */
  declarationArg?: Arg;
  /** Rules appended/inserted into the chain, in kernel order. */
  readonly rules: Rule[];
  /** Rules whose -j/-g names this chain. */
  readonly references: Rule[];
  /** Commands other than jumps that name the chain (-A, -I, -F, -P, -X, -E …). */
  readonly mentions: Rule[];
  /** False once deleted by -X. */
  exists: boolean;
  /**
   * The chain's number in its table: 0, 1, … in the order the chains were first named. A chain
   * stays in its table once there, so checks of the whole table keep per-chain values in arrays
   * of `table.chains.size` by this number rather than in maps.
   */
  readonly ordinal: number;
}

/** No rules: the shared starting value of `Chain.references` (most chains have one or two). */
const NO_RULES: Rule[] = [];

/** The model's chain. */
class ChainRecord implements Chain {
  policy?: string;
  counters?: { packets: bigint; bytes: bigint };
  declaration?: Span;
  declarationArg?: Arg;
  exists = true;
  readonly rules: Rule[] = [];
  /** Shared and empty until the first jump, then the chain's own array (see `addReference`). */
  references: Rule[] = NO_RULES;
  /** Its table's number of chains before it: the caller adds it to `table.chains` right after. */
  readonly ordinal: number;

  constructor(
    readonly name: string,
    readonly table: Table,
    readonly builtin: boolean,
    readonly hook?: Hook,
  ) {
    this.ordinal = table.chains.size;
  }

  /**
   * Commands other than jumps that name the chain, found when asked: the outline needs them for a
   * few builtin chains, and an array per chain cost more than the chain itself on a big dump.
   */
  get mentions(): Rule[] {
    return this.table.commands.filter((r) => r.chainName === this.name);
  }

  /** Records a rule jumping or going to this chain. */
  addReference(rule: Rule): void {
    if (this.references === NO_RULES) this.references = [rule];
    else this.references.push(rule);
  }
}

/** Standard verdicts and target extensions by name, to share one string per name among rules. */
const TARGET_NAMES = new Map<string, string>([...STANDARD_TARGETS, ...TARGET_BY_NAME.keys()].map((n) => [n, n]));

/** One `*table` … COMMIT block. */
export interface Table {
  readonly name: string;
  /** The `*name` line. */
  readonly line: number;
  readonly headerArg: Arg;
  /** The COMMIT line, when present. */
  commitLine?: number;
  readonly chains: Map<string, Chain>;
  /** Every command line of the block, in order. */
  readonly commands: Rule[];
  /** Whether the table name is one the kernel knows. */
  readonly known: boolean;
  /** The address family of the rules (the model's). */
  readonly family: Family;
}

/** The whole model. */
export interface Model {
  readonly family: Family;
  readonly tables: Table[];
  /** Rule lines by 0-based line number, for editor look-ups. */
  readonly ruleByLine: ReadonlyMap<number, Rule>;
  /** Problems found while interpreting rule words (before model-level validation). */
  readonly ruleProblems: RuleProblem[];
  /** Interface names used by -i, -o, --physdev-in and --physdev-out with their number of uses, for completion (counted on first access). */
  readonly interfaces: ReadonlyMap<string, number>;
}

/**
 * Sees every command line while the model is built, with its full interpretation, which is only
 * kept for the duration of the call. Validity checks that need the words of every rule run here,
 * so that a check of a big dump interprets each line once and never holds all interpretations.
 */
export interface ModelObserver {
  /** A `:NAME` line declared a new chain of the table. */
  declared(t: Table, chain: Chain): void;
  /**
   * A command line of the table, before it is applied to the chains; `text` is the line's text
   * (observers that read many alike rules may key on it). `rest`, when given, is the text after
   * the chain name (`text.slice(info.chainArg.end)`), already hashed by the model's own lookup of
   * repeated rules: an observer keying a map on it pays no second hash. The words of `info` other
   * than the chain name may be those of an earlier line with the same words (see reuseRuleInfo):
   * positions taken from them belong on `rule.line`.
   */
  command(t: Table, rule: Rule, info: RuleInfo, text: string, rest?: string): void;
  /** The block of the table ended (COMMIT, another `*table` or the end of the text). */
  tableEnd(t: Table): void;
}

/** How the family was decided; the first that applies wins. */
export interface FamilyHints {
  /** An explicit choice (CLI flag or setting). */
  readonly override?: Family;
  readonly fileName?: string;
}

/** Decides the address family from the first line, the file name, or the addresses used. */
export function detectFamily(text: string, hints: FamilyHints = {}): Family {
  if (hints.override) return hints.override;
  const firstLine = text.slice(0, Math.max(0, text.indexOf('\n')) || text.length);
  if (/^#\s*Generated by ip6tables-(save|nft-save|legacy-save)/.test(firstLine)) return 'ipv6';
  if (/^#\s*Generated by ip(tables)-(save|nft-save|legacy-save)/.test(firstLine)) return 'ipv4';
  if (hints.fileName) {
    const base = hints.fileName.split(/[\\/]/).pop() ?? '';
    if (/ip6tables|rules\.v6$|\.v6$|ipv6/i.test(base)) return 'ipv6';
    if (/rules\.v4$|\.v4$/i.test(base)) return 'ipv4';
  }
  // Look at the first addresses of -s/-d: an IPv6 literal decides for IPv6.
  const re = /(?:^|\s)(?:-s|-d|--source|--destination|--src|--dst)\s+([0-9A-Fa-f:.]+)(?:\/\d+)?/g;
  let m: RegExpExecArray | null;
  let seen = 0;
  while ((m = re.exec(text)) !== null && seen < 200) {
    seen++;
    if (m[1].includes(':') && parseIPv6(m[1]) !== undefined) return 'ipv6';
    if (/^\d+\.\d+\.\d+\.\d+$/.test(m[1])) return 'ipv4';
  }
  return 'ipv4';
}

/** Options of `buildModel`. */
export interface BuildOptions {
  /**
   * Whether a rule repeated in chains whose names have the same length reuses the first reading
   * (see RepeatedRules; true unless given). The model and every finding are the same; false exists
   * to test that they are.
   */
  readonly reuseRepeatedRules?: boolean;
}

/** Builds the model from parsed lines. Model-level validity is checked by `validate`. */
export function buildModel(parsed: ParseResult, family: Family, observer?: ModelObserver, options: BuildOptions = {}): Model {
  const tables: Table[] = [];
  const ruleByLine = new RulesByLine();
  const ruleProblems: RuleProblem[] = [];
  const repeated = options.reuseRepeatedRules === false ? undefined : new RepeatedRules();
  // Interface names as the rules name them, counted only if asked (completion): most checks never do.
  const interfaceNames: string[] = [];
  let current: Table | undefined;
  // The chain and the target name of the last rule (see the 'rule' case).
  let lastChain: Chain | undefined;
  let lastTarget: { readonly table: Table; readonly name: string; readonly chain: Chain | undefined } | undefined;

  const newTable = (name: string, headerArg: Arg, line: number): Table => {
    const known = Object.prototype.hasOwnProperty.call(BUILTIN_CHAINS, name);
    const t: Table = { name, line, headerArg, chains: new Map(), commands: [], known, family };
    for (const hook of known ? BUILTIN_CHAINS[name] : []) {
      const c = new ChainRecord(hook, t, true, hook);
      c.policy = 'ACCEPT';
      t.chains.set(hook, c);
    }
    return t;
  };
  const closeTable = (): void => {
    if (current) observer?.tableEnd(current);
    current = undefined;
  };

  // An indexed loop: this function is too big for V8 to optimise the iterator of a `for … of`
  // away, which then allocated a result object per line.
  const lines = parsed.lines;
  for (let i = 0; i < lines.length; i++) {
    const node = lines[i];
    switch (node.kind) {
      case 'table': {
        closeTable();
        const name = node.header.value.slice(1);
        current = newTable(name, node.header, node.line);
        tables.push(current);
        break;
      }
      case 'chain': {
        if (!current) break;
        const name = node.header.value.slice(1);
        const existing = current.chains.get(name);
        const policyArg = node.rest[0];
        const countersArg = node.rest[1];
        let counters: Chain['counters'];
        const cm = countersArg ? /^\[([0-9]+):([0-9]+)\]$/.exec(countersArg.value) : null;
        if (cm) counters = { packets: BigInt(cm[1]), bytes: BigInt(cm[2]) };
        const span: Span = { line: node.line, start: node.header.start, end: node.header.end };
        if (existing && existing.builtin) {
          if (!existing.declaration) {
            existing.declaration = span;
            existing.declarationArg = node.header;
          }
          if (policyArg && (policyArg.value === 'ACCEPT' || policyArg.value === 'DROP')) existing.policy = policyArg.value;
          if (counters) existing.counters = counters;
        } else if (!existing) {
          const chain = new ChainRecord(name, current, false);
          chain.counters = counters;
          chain.declaration = span;
          chain.declarationArg = node.header;
          current.chains.set(name, chain);
          observer?.declared(current, chain);
        }
        break;
      }
      case 'commit':
        if (current) current.commitLine = node.line;
        closeTable();
        break;
      case 'rule': {
        // A rule already seen in a chain whose name has the same length is not read again.
        let info = repeated?.lookup(node);
        if (!info) {
          const read = interpretRuleLine(node.args, family);
          for (const p of read.problems) ruleProblems.push(p);
          info = read.info;
          if (!info) break;
          if (read.problems.length === 0) repeated?.remember(node, info);
        }
        collectInterfaces(info, interfaceNames);
        if (!current) break;
        const rule = new RuleRecord(node, current);
        rule.setFacts(info);
        // Share one string per chain or target name instead of keeping a slice of the line per rule;
        // the shared strings also make the later lookups by name cheap (their hash is computed once).
        // A dump lists each chain's rules together and repeats a few targets: comparing with the
        // last ones found saves most hash lookups of fresh strings.
        // The chains found are passed on to applyCommand (a chain once in the table stays there);
        // one not found is looked up again after the command (`-N` may have declared it).
        let chain: Chain | undefined;
        let targetChain: Chain | undefined;
        const cn = rule.chainName;
        if (cn !== undefined) {
          if (lastChain?.table !== current || lastChain.name !== cn) lastChain = current.chains.get(cn);
          if (lastChain) rule.chainName = (chain = lastChain).name;
        }
        const tn = rule.targetName;
        if (tn !== undefined) {
          if (lastTarget === undefined || lastTarget.table !== current || lastTarget.name !== tn) {
            const c = rule.targetKind === 'chain' ? current.chains.get(tn) : undefined;
            const shared = c?.name ?? TARGET_NAMES.get(tn);
            lastTarget = shared === undefined ? undefined : { table: current, name: shared, chain: c };
          }
          if (lastTarget) {
            rule.targetName = lastTarget.name;
            targetChain = lastTarget.chain;
          }
        }
        current.commands.push(rule);
        ruleByLine.set(node.line, rule);
        observer?.command(current, rule, info, node.text, repeated?.rest(node, info));
        applyCommand(current, rule, info, chain, targetChain);
        break;
      }
      default:
        break;
    }
  }
  closeTable();
  let interfaces: Map<string, number> | undefined;
  return {
    family,
    tables,
    ruleByLine,
    ruleProblems,
    get interfaces(): ReadonlyMap<string, number> {
      if (!interfaces) {
        interfaces = new Map();
        for (const n of interfaceNames) interfaces.set(n, (interfaces.get(n) ?? 0) + 1);
        interfaceNames.length = 0;
      }
      return interfaces;
    },
  };
}

/**
 * Rules that generated rule sets repeat in thousands of chains (`-A neutron-openvswi-i… -m state
 * --state RELATED,ESTABLISHED … -j RETURN`): a line `-A CHAIN REST` whose REST was seen after a
 * chain name of the same length has the same words in the same columns but for the chain name,
 * so it gets the earlier interpretation with its own chain name (`reuseRuleInfo`) instead of
 * being split and interpreted again. Only interpretations without problems are reused (a problem's
 * message may quote any word), and a REST is interpreted twice before it is reused, so that rules
 * seen once cost one map entry (a slice of the line) rather than a kept interpretation.
 * Measured on the 5,000-port dump: most of its 117,000 rules are repeats.
 */
/** Lookups per window of RepeatedRules, and the share of repeats below which it samples (1 in 16). */
const REPEAT_WINDOW = 1024;
const RARE_REPEATS = 16;
/** In sampling mode, one line in this many is looked up. */
const SAMPLE_EVERY = 16;

class RepeatedRules {
  /** By chain name length, by REST: the interpretation, or null when REST was seen once. */
  private readonly byLength = new Map<number, Map<string, RuleInfo | null>>();
  /**
   * The line just looked up (undefined when it was not), the text after its chain name, where that
   * name ends, and the map of its name length: fields rather than an object per line looked up.
   */
  private lastNode: RuleLineNode | undefined;
  private lastRest = '';
  private lastEnd = 0;
  private lastSeen: Map<string, RuleInfo | null> | undefined;
  /** Lookups and repeats found in the current window of REPEAT_WINDOW lookups. */
  private looked = 0;
  private found = 0;
  /** Whether only one line in SAMPLE_EVERY is looked up (few repeats lately), and the lines passed since the last. */
  private sparse = false;
  private skipped = 0;

  /**
   * The interpretation of a repeated rule with this line's chain name, its other words still on
   * the line first read (see reuseRuleInfo); undefined otherwise.
   *
   * Looking a line up costs a slice and a hash of its text: on a file of rules that do not repeat
   * (a blocklist of one address per rule) that was a quarter of the check. So when a window of
   * lookups finds few repeats, only a sample of the lines is looked up, until a sampled line
   * repeats again (a generated section can follow a hand-written one).
   */
  lookup(node: RuleLineNode): RuleInfo | undefined {
    this.lastNode = undefined;
    if (this.sparse && ++this.skipped < SAMPLE_EVERY) return undefined;
    this.skipped = 0;
    const info = this.find(node);
    if (info) this.found++;
    if (info && this.sparse) {
      this.sparse = false;
      this.looked = this.found = 0;
    } else if (++this.looked === REPEAT_WINDOW) {
      this.sparse = this.found * RARE_REPEATS < REPEAT_WINDOW;
      this.looked = this.found = 0;
    }
    return info;
  }

  private find(node: RuleLineNode): RuleInfo | undefined {
    const text = node.text;
    // `-A` in column 1, one blank, then a plain chain name (no quote, escape or leading - or !,
    // which iptables reads otherwise).
    if (text.charCodeAt(0) !== 45 || text.charCodeAt(1) !== 65 || text.charCodeAt(2) !== 32) return undefined;
    const first = text.charCodeAt(3);
    if (Number.isNaN(first) || first === 32 || first === 9 || first === 45 || first === 33) return undefined;
    let end = 3;
    for (; end < text.length; end++) {
      const c = text.charCodeAt(end);
      if (c === 32 || c === 9) break;
      if (c === 34 || c === 39 || c === 92) return undefined;
    }
    let seen = this.byLength.get(end - 3);
    if (!seen) this.byLength.set(end - 3, (seen = new Map()));
    const rest = text.slice(end);
    const info = seen.get(rest);
    this.lastNode = node;
    this.lastRest = rest;
    this.lastEnd = end;
    this.lastSeen = seen;
    if (info) {
      const name = text.slice(3, end);
      return reuseRuleInfo(info, { value: name, raw: name, line: node.line, start: 3, end, unterminated: false });
    }
    return undefined;
  }

  /**
   * The text after the chain name of the line just looked up, when the interpreter read the same
   * chain name (`text.slice(info.chainArg.end)`, hashed already); undefined otherwise.
   */
  rest(node: RuleLineNode, info: RuleInfo): string | undefined {
    return this.lastNode === node && info.chainArg?.start === 3 && info.chainArg.end === this.lastEnd ? this.lastRest : undefined;
  }

  /** Notes the interpretation of the line just looked up, for later repeats. */
  remember(node: RuleLineNode, info: RuleInfo): void {
    const seen = this.lastSeen;
    if (this.lastNode !== node || !seen) return;
    // The chain name as the interpreter read it must be the word found above.
    if (info.command !== 'A' || info.chainArg?.start !== 3 || info.chainArg.end !== this.lastEnd) return;
    const rest = this.lastRest;
    seen.set(rest, seen.has(rest) ? info : null);
  }
}

/**
 * The model of a version of the text that differs from `model`'s in one `-A` line only, which
 * still appends to the same chain and jumps to the same target (an editor's incremental check,
 * incremental.ts): its rule is replaced where the old one was (its table's commands, its chain's
 * rules, its target's references) and its problems replace the old ones. The tables and chains
 * are updated in place, so `model` must not be used afterwards. Undefined, with nothing changed,
 * for an edit of any other kind.
 */
export function replaceAppend(model: Model, node: RuleLineNode, info: RuleInfo, problems: readonly RuleProblem[]): Model | undefined {
  const old = model.ruleByLine.get(node.line);
  const target = info.target;
  if (!(old instanceof RuleRecord) || old.command !== 'A' || info.command !== 'A' || old.chainName !== info.chainArg?.value) return undefined;
  if (old.targetName !== target?.name || old.targetKind !== target?.kind || old.goto !== (target?.goto ?? false)) return undefined;
  const t = old.table;
  const rule = new RuleRecord(node, t);
  rule.setFacts(info);
  // The shared strings of the names, as buildModel gives them.
  rule.chainName = old.chainName;
  rule.targetName = old.targetName;
  const swap = (list: Rule[]): void => {
    const k = list.indexOf(old);
    if (k >= 0) list[k] = rule;
  };
  swap(t.commands);
  const chain = rule.chainName !== undefined ? t.chains.get(rule.chainName) : undefined;
  if (chain) {
    swap(chain.rules);
    jumpCache.delete(chain);
  }
  if (target?.kind === 'chain') {
    const dest = t.chains.get(target.name);
    if (dest) swap(dest.references);
  }
  (model.ruleByLine as RulesByLine).set(node.line, rule);
  // Problems in line order, as buildModel finds them.
  const ruleProblems: RuleProblem[] = [];
  let placed = false;
  for (const p of model.ruleProblems) {
    if (p.line === node.line) continue;
    if (!placed && p.line > node.line) {
      for (const q of problems) ruleProblems.push(q);
      placed = true;
    }
    ruleProblems.push(p);
  }
  if (!placed) for (const q of problems) ruleProblems.push(q);
  // The interface names counted again for the one rule that changed.
  const interfaces = new Map(model.interfaces);
  const gone: string[] = [];
  const added: string[] = [];
  collectInterfaces(old.info, gone);
  collectInterfaces(info, added);
  for (const n of gone) {
    const k = (interfaces.get(n) ?? 0) - 1;
    if (k > 0) interfaces.set(n, k);
    else interfaces.delete(n);
  }
  for (const n of added) interfaces.set(n, (interfaces.get(n) ?? 0) + 1);
  return { family: model.family, tables: model.tables, ruleByLine: model.ruleByLine, ruleProblems, interfaces };
}

/** Counts the interface names a rule mentions into `out`. */
function collectInterfaces(info: RuleInfo, out: string[]): void {
  for (const o of info.base) if ((o.name === 'i' || o.name === 'o') && o.values[0]) out.push(o.values[0].value);
  for (const m of info.matches) {
    if (m.name !== 'physdev') continue;
    for (const o of m.options) if ((o.name === 'physdev-in' || o.name === 'physdev-out') && o.values[0]) out.push(o.values[0].value);
  }
}

/**
 * Interprets the words of one rule line: a `[packets:bytes]` prefix (iptables-restore takes
 * everything up to the first `]`, even without a blank after it), then the options. A line whose
 * first word is `*`, `:`, `#` or COMMIT after leading blanks is refused as iptables-restore does,
 * and yields no rule. The result depends only on the words and the family, which is what lets
 * editors re-check only the lines that changed.
 */
export function interpretRuleLine(words: readonly Arg[], family: Family): { info?: RuleInfo; problems: RuleProblem[] } {
  let args = words;
  let countersArg: Arg | undefined;
  const head = args[0];
  if (head && head.start > 0 && (/^[*:#]/.test(head.value) || head.value === 'COMMIT')) {
    return { problems: [{ severity: 'error', code: 'syntax-error', message: `'${head.value}' must start in column 1: with blanks before it, iptables-restore reads the line as a rule (Bad argument \`${head.value}')`, line: head.line, start: head.start, end: head.end }] };
  }
  if (head?.value.startsWith('[')) {
    let close = head.value.indexOf(']');
    // iptables-restore looks for the first ']' of the line, blanks or not (measured: `[ 5:2]` and
    // `[5: 2]` are counters): such counters are one word here.
    const k = close < 0 ? args.findIndex((x, i) => i > 0 && x.raw.includes(']')) : -1;
    if (k > 0) {
      const last = args[k];
      const end = last.raw.indexOf(']') + 1;
      const value = `${args.slice(0, k).map((x) => x.raw).join(' ')} ${last.raw.slice(0, end)}`;
      const merged: Arg = { ...head, value, raw: value, end: last.start + end };
      const rest: Arg[] = end < last.raw.length ? [{ ...last, value: last.raw.slice(end), raw: last.raw.slice(end), start: last.start + end }] : [];
      args = [merged, ...rest, ...args.slice(k + 1)];
      close = value.length - 1;
    }
    const first = args[0];
    if (close < 0 || close === first.value.length - 1) {
      countersArg = first;
      args = args.slice(1);
    } else {
      countersArg = { ...first, value: first.value.slice(0, close + 1), raw: first.raw.slice(0, close + 1), end: first.start + close + 1 };
      const restArg: Arg = { ...first, value: first.value.slice(close + 1), raw: first.raw.slice(close + 1), start: first.start + close + 1 };
      args = [restArg, ...args.slice(1)];
    }
  }
  const { rule, problems } = interpretRule(args, family, countersArg);
  return { info: rule, problems };
}

/** Applies one command to the table's chains, in the order iptables-restore would. */
function applyCommand(t: Table, rule: Rule, info: RuleInfo, found?: Chain, foundTarget?: Chain): void {
  // The rule's shared copy of the name when there is one: its hash is already known.
  const name = rule.chainName ?? info.chainArg?.value;
  const chain = found ?? (name !== undefined ? t.chains.get(name) : undefined);
  switch (info.command) {
    case 'A':
      if (chain?.exists) chain.rules.push(rule);
      break;
    case 'I': {
      if (!chain?.exists) break;
      const num = info.ruleNumArg ? Number(info.ruleNumArg.value) : 1;
      const at = Number.isFinite(num) && num >= 1 ? Math.min(num - 1, chain.rules.length) : 0;
      chain.rules.splice(at, 0, rule);
      break;
    }
    case 'R': {
      if (!chain?.exists) break;
      const num = info.ruleNumArg ? Number(info.ruleNumArg.value) : NaN;
      if (Number.isFinite(num) && num >= 1 && num <= chain.rules.length) chain.rules[num - 1] = rule;
      break;
    }
    case 'D': {
      if (!chain?.exists) break;
      if (info.ruleNumArg) {
        const num = Number(info.ruleNumArg.value);
        if (Number.isFinite(num) && num >= 1 && num <= chain.rules.length) chain.rules.splice(num - 1, 1);
      } else {
        const key = ruleKey(rule);
        const k = chain.rules.findIndex((r) => ruleKey(r) === key);
        if (k >= 0) chain.rules.splice(k, 1);
      }
      break;
    }
    case 'F':
      if (chain?.exists) chain.rules.length = 0;
      else if (name === undefined) for (const c of t.chains.values()) c.rules.length = 0;
      break;
    case 'N':
      if (name !== undefined && !chain) {
        const span: Span = { line: rule.line, start: info.chainArg!.start, end: info.chainArg!.end };
        const c = new ChainRecord(name, t, false);
        c.declaration = span;
        c.declarationArg = info.chainArg;
        t.chains.set(name, c);
      } else if (chain && !chain.exists) {
        chain.exists = true;
      }
      break;
    case 'X':
      if (chain && !chain.builtin) chain.exists = false;
      else if (name === undefined) for (const c of t.chains.values()) if (!c.builtin) c.exists = false;
      break;
    case 'E':
      // Renaming is not applied to the model: iptables-nft-restore refuses it (see validate), and
      // keeping the declared name keeps navigation pointing at what the file declares.
      break;
    case 'P':
      if (chain?.builtin && info.policyArg) chain.policy = info.policyArg.value;
      break;
    default:
      break;
  }
  // Record the jump for the reference graph (the target chain may be declared later).
  const target = info.target;
  if (target && target.kind === 'chain' && (info.command === 'A' || info.command === 'I' || info.command === 'R')) {
    const dest = foundTarget ?? t.chains.get(target.name);
    if (dest) (dest as ChainRecord).addReference(rule);
  }
}

/** A canonical text of a rule specification, used to find the rule -D deletes. */
export function ruleKey(rule: Rule): string {
  const words = rule.args.map((a) => a.value);
  // Drop the command and chain (and counters) so that `-A X spec` and `-D X spec` compare equal.
  const start = words.findIndex((w) => /^-[ADIRC]$|^--(append|delete|insert|replace|check)$/.test(w));
  if (start < 0) return words.join(' ');
  // -I and -R name a position after the chain (`-I INPUT 1 -j DROP` is the rule `-j DROP`).
  const numbered = /^-[IR]$|^--(insert|replace)$/.test(words[start]) && /^[0-9]+$/.test(words[start + 2] ?? '');
  return words.slice(start + (numbered ? 3 : 2)).join(' ');
}

/** Memoised jump lists: the model does not change once built, and analyses ask for them often. */
const jumpCache = new WeakMap<Chain, { rule: Rule; to: Chain }[]>();

/** Chains that a chain jumps or goes to, with the rules doing it. */
export function outgoingJumps(chain: Chain): readonly { rule: Rule; to: Chain }[] {
  const hit = jumpCache.get(chain);
  if (hit) return hit;
  const out: { rule: Rule; to: Chain }[] = [];
  for (const r of chain.rules) {
    if (r.targetKind === 'chain' && r.targetName !== undefined) {
      const to = chain.table.chains.get(r.targetName);
      if (to) out.push({ rule: r, to });
    }
  }
  jumpCache.set(chain, out);
  return out;
}

/** The hooks in a fixed order, for the bit masks of reachingHooks. */
const HOOK_BITS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

/** One shared, never changed set per combination of hooks (the bit masks of reachingHooks). */
const HOOK_SETS: readonly ReadonlySet<Hook>[] = Array.from({ length: 1 << HOOK_BITS.length }, (_, m) => new Set(HOOK_BITS.filter((_, k) => (m & (1 << k)) !== 0)));

/**
 * For every chain of a table, the hooks from which it can be reached by jumps and gotos. Chains
 * reached from the same hooks share one set: a dump of thousands of per-port chains reached from
 * one or two hooks made a set per chain, a third of this function's time.
 */
export function reachingHooks(t: Table): ReadonlyMap<Chain, ReadonlySet<Hook>> {
  const masks = new Uint8Array(t.chains.size);
  const stack: Chain[] = [];
  for (const c of t.chains.values()) {
    if (!c.builtin || !c.hook) continue;
    const bit = 1 << HOOK_BITS.indexOf(c.hook);
    stack.push(c);
    while (stack.length) {
      const x = stack.pop()!;
      // A chain already marked with this hook has been visited from it.
      if ((masks[x.ordinal] & bit) !== 0) continue;
      masks[x.ordinal] |= bit;
      for (const { to } of outgoingJumps(x)) if (!to.builtin && (masks[to.ordinal] & bit) === 0) stack.push(to);
    }
  }
  const result = new Map<Chain, ReadonlySet<Hook>>();
  for (const c of t.chains.values()) result.set(c, HOOK_SETS[masks[c.ordinal]]);
  return result;
}
