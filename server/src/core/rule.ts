/**
 * The rule interpreter: gives meaning to the words of one rule line exactly as iptables' option
 * parser (getopt_long over the base options merged with the options of every loaded extension)
 * does, driven only by the extension table. It never throws; every problem becomes a finding on
 * the word it concerns, and the rule is still returned so that navigation and analyses keep working.
 */
import type { Arg } from './syntax.ts';
import { MATCH_BY_NAME, TARGET_BY_NAME, STANDARD_TARGETS, specForFamily, type ExtensionSpec, type OptionSpec } from './extensions/extensions.ts';
import { U64_MAX, VALIDATORS, protocolNumberOf, resolveRejectWith, type Family, type ValueContext } from './extensions/value-kinds.ts';

/** A problem found in a rule line, located on a word. */
export interface RuleProblem {
  readonly severity: 'error' | 'warning' | 'information';
  readonly code: string;
  readonly message: string;
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

/** The commands of the iptables language. */
export type CommandKind = 'A' | 'I' | 'D' | 'R' | 'C' | 'N' | 'X' | 'P' | 'F' | 'Z' | 'E' | 'L' | 'S';

/** An option as written in the rule, resolved against the extension table. */
export interface OptionUse {
  /** Canonical long name (without dashes), or the short letter for base options. */
  readonly name: string;
  /** The spec, when the option is known. */
  readonly spec?: OptionSpec;
  /** The word naming the option. */
  readonly nameArg: Arg;
  /** Its values, in order. */
  readonly values: readonly Arg[];
  readonly negated: boolean;
  /** The `!` word, when negated. */
  readonly negation?: Arg;
}

/** A `-m` module (or the protocol match loaded implicitly by `-p tcp --dport …`). */
export interface MatchUse {
  readonly name: string;
  /** Undefined for an unknown module: kept as an opaque match. */
  readonly spec?: ExtensionSpec;
  /** The module name word; absent for implicitly loaded protocol matches. */
  readonly nameArg?: Arg;
  readonly options: OptionUse[];
}

/** The rule's `-j`/`-g`. */
export interface TargetUse {
  readonly name: string;
  readonly nameArg: Arg;
  /** `standard` for ACCEPT/DROP/RETURN/QUEUE, `extension` for a target module, `chain` otherwise. */
  readonly kind: 'standard' | 'extension' | 'chain';
  readonly spec?: ExtensionSpec;
  /** True for `-g` (goto). */
  readonly goto: boolean;
  readonly options: OptionUse[];
}

/** The meaning of one rule line. */
export interface RuleInfo {
  readonly command?: CommandKind;
  readonly commandArg?: Arg;
  /** The chain the command applies to. */
  readonly chainArg?: Arg;
  /** Second chain name: the new name of -E. */
  readonly newNameArg?: Arg;
  /** Rule number of -I/-D/-R. */
  readonly ruleNumArg?: Arg;
  /** The policy of -P. */
  readonly policyArg?: Arg;
  /** `[packets:bytes]` prefix or `-c packets bytes`. */
  readonly counters?: { readonly packets: bigint; readonly bytes: bigint; readonly args: readonly Arg[] };
  /** -s -d -p -i -o -f, in order of appearance. */
  readonly base: OptionUse[];
  readonly matches: MatchUse[];
  readonly target?: TargetUse;
  /** Lower-case protocol of `-p`, if given. */
  readonly protocol?: string;
  readonly protocolNegated: boolean;
}

/** Base options: short letter → long names, whether they take a value, and whether `!` is allowed. */
interface BaseOpt {
  readonly letter: string;
  readonly longs: readonly string[];
  readonly arg: 'none' | 'required' | 'optional';
  readonly invert: boolean;
  readonly command?: CommandKind;
}

const BASE_OPTS: readonly BaseOpt[] = [
  { letter: 'A', longs: ['append'], arg: 'required', invert: false, command: 'A' },
  { letter: 'C', longs: ['check'], arg: 'required', invert: false, command: 'C' },
  { letter: 'D', longs: ['delete'], arg: 'required', invert: false, command: 'D' },
  { letter: 'R', longs: ['replace'], arg: 'required', invert: false, command: 'R' },
  { letter: 'I', longs: ['insert'], arg: 'required', invert: false, command: 'I' },
  { letter: 'L', longs: ['list'], arg: 'optional', invert: false, command: 'L' },
  { letter: 'S', longs: ['list-rules'], arg: 'optional', invert: false, command: 'S' },
  { letter: 'F', longs: ['flush'], arg: 'optional', invert: false, command: 'F' },
  { letter: 'Z', longs: ['zero'], arg: 'optional', invert: false, command: 'Z' },
  { letter: 'N', longs: ['new-chain'], arg: 'required', invert: false, command: 'N' },
  { letter: 'X', longs: ['delete-chain'], arg: 'optional', invert: false, command: 'X' },
  { letter: 'E', longs: ['rename-chain'], arg: 'required', invert: false, command: 'E' },
  { letter: 'P', longs: ['policy'], arg: 'required', invert: false, command: 'P' },
  { letter: 's', longs: ['source', 'src'], arg: 'required', invert: true },
  { letter: 'd', longs: ['destination', 'dst'], arg: 'required', invert: true },
  { letter: 'p', longs: ['protocol'], arg: 'required', invert: true },
  { letter: 'i', longs: ['in-interface'], arg: 'required', invert: true },
  { letter: 'o', longs: ['out-interface'], arg: 'required', invert: true },
  { letter: 'j', longs: ['jump'], arg: 'required', invert: false },
  { letter: 'g', longs: ['goto'], arg: 'required', invert: false },
  { letter: 'm', longs: ['match'], arg: 'required', invert: false },
  { letter: 't', longs: ['table'], arg: 'required', invert: false },
  { letter: 'f', longs: ['fragments'], arg: 'none', invert: true },
  { letter: 'c', longs: ['set-counters'], arg: 'required', invert: false },
  { letter: 'n', longs: ['numeric'], arg: 'none', invert: false },
  { letter: 'v', longs: ['verbose'], arg: 'none', invert: false },
  { letter: 'x', longs: ['exact'], arg: 'none', invert: false },
  { letter: 'w', longs: ['wait'], arg: 'optional', invert: false },
  { letter: 'W', longs: ['wait-interval'], arg: 'optional', invert: false },
  { letter: '0', longs: ['line-numbers'], arg: 'none', invert: false },
  { letter: 'M', longs: ['modprobe'], arg: 'required', invert: false },
  { letter: '4', longs: ['ipv4'], arg: 'none', invert: false },
  { letter: '6', longs: ['ipv6'], arg: 'none', invert: false },
  { letter: 'V', longs: ['version'], arg: 'none', invert: false },
  { letter: 'h', longs: ['help'], arg: 'optional', invert: false },
];
const NO_PARAMS = {};
/** The values of an option that takes none (shared: option values are never modified). */
const NO_VALUES: Arg[] = [];

/**
 * MATCH_BY_NAME and TARGET_BY_NAME lookups for the words of rules, remembering the last few names
 * found: a dump repeats a handful of match and target names, and comparing a fresh word with a
 * known name is cheaper than hashing it for a map lookup. Only the map's own key strings are
 * remembered (a word may be a slice of a whole document, which must not be kept alive).
 */
function lastNamesLookup<T>(map: ReadonlyMap<string, T>): (name: string) => T | undefined {
  const entries = new Map<string, readonly [string, T]>([...map].map(([k, v]) => [k, [k, v] as const]));
  const recent: (readonly [string, T])[] = [];
  let next = 0;
  return (name) => {
    for (let k = 0; k < recent.length; k++) if (recent[k][0] === name) return recent[k][1];
    const e = entries.get(name);
    if (e === undefined) return undefined;
    recent[next] = e;
    next = (next + 1) & 3;
    return e[1];
  };
}
const matchNamed = lastNamesLookup(MATCH_BY_NAME);
const targetNamed = lastNamesLookup(TARGET_BY_NAME);

/** Options whose attached value iptables takes from the whole word (a quirk of its parser). */
const WHOLE_WORD_VALUE = new Set(['s', 'd', 'p', 'i', 'o', 'j']);
const BASE_BY_LETTER = new Map(BASE_OPTS.map((b) => [b.letter, b]));
/** BASE_BY_LETTER indexed by character code (letters are ASCII): no string hashing per word. */
const BASE_BY_CODE: (BaseOpt | undefined)[] = Array.from({ length: 128 }, (_, c) => BASE_BY_LETTER.get(String.fromCharCode(c)));
const BASE_BY_LONG = new Map<string, BaseOpt>();
const BASE_BY_DASHED_LONG = new Map<string, BaseOpt>();
for (const b of BASE_OPTS) {
  for (const l of b.longs) {
    BASE_BY_LONG.set(l, b);
    BASE_BY_DASHED_LONG.set(`--${l}`, b);
  }
}
/** 1 where some base option written `--NAME` has this length (mod 64) and first letter of NAME (index: length · 128 + code). */
const BASE_LONG_SHAPES = new Uint8Array(64 * 128);
for (const w of BASE_BY_DASHED_LONG.keys()) BASE_LONG_SHAPES[((w.length & 63) << 7) | (w.charCodeAt(2) & 127)] = 1;

/** The protocol match iptables loads implicitly for `-p PROTO` followed by an unknown option. */
const IMPLICIT_PROTO_MATCH: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp6', 132: 'sctp', 33: 'dccp', 136: 'udplite', 51: 'ah', 50: 'esp', 135: 'mh' };

/** Options of one extension by every accepted spelling. */
const optionIndex = new WeakMap<ExtensionSpec, Map<string, OptionSpec>>();
function optionsOf(ext: ExtensionSpec): Map<string, OptionSpec> {
  let m = optionIndex.get(ext);
  if (!m) {
    m = new Map();
    // Also keyed by the word as written (`--dport`), so that the common case needs no slicing.
    for (const o of ext.options) {
      m.set(o.name, o);
      m.set(`--${o.name}`, o);
      for (const a of o.aliases ?? []) {
        m.set(a, o);
        m.set(`--${a}`, o);
      }
    }
    optionIndex.set(ext, m);
  }
  return m;
}

/** Whether a word could be the optional argument of an option (iptables' xs_has_arg). */
const hasArg = (a: Arg | undefined): boolean => a !== undefined && !a.value.startsWith('-') && !a.value.startsWith('!');

function spanOf(a: Arg): { line: number; start: number; end: number } {
  return { line: a.line, start: a.start, end: a.end };
}

/** Resolves `-p` to a protocol number, if known. */
export function protocolNumber(p: string | undefined): number | undefined {
  if (p === undefined) return undefined;
  return protocolNumberOf(p);
}

/**
 * The state of one `interpretRule` call that its helpers share. It is one object per call (the
 * helpers are module functions, not closures: a rule line used to allocate seven closures and
 * their context, a large part of the garbage of checking a 100k-line dump).
 */
interface InterpretState {
  readonly problems: RuleProblem[];
  readonly family: Family;
  /** Lower-case protocol of `-p`, once read. */
  protocol: string | undefined;
  /** The validation context; it changes only when -p is read, so one object is shared until then. */
  ctxCache: ValueContext;
  /** Extensions in load order; the newest one's options win, as in getopt's merged option table. */
  readonly loaded: { ext: ExtensionSpec; owner: MatchUse | TargetUse }[];
  readonly matches: MatchUse[];
  command: CommandKind | undefined;
  commandArg: Arg | undefined;
}

/** Records a problem on a word. */
function report(st: InterpretState, a: Arg, code: string, message: string, severity: RuleProblem['severity'] = 'error'): void {
  st.problems.push({ severity, code, message, line: a.line, start: a.start, end: a.end });
}

/** The validation context for the protocol read so far. */
function ctxOf(st: InterpretState): ValueContext {
  return st.ctxCache.protocol === st.protocol ? st.ctxCache : (st.ctxCache = { family: st.family, protocol: st.protocol });
}

/** Runs the value validators of an option and records problems on the values. */
function checkValues(st: InterpretState, spec: OptionSpec, values: readonly Arg[]): void {
  for (let k = 0; k < spec.args.length; k++) {
    const v = values[k];
    if (!v) continue;
    const as = spec.args[k];
    const fn = VALIDATORS[as.kind];
    const p = fn ? fn(v.value, ctxOf(st), as.params ?? NO_PARAMS) : undefined;
    if (p) report(st, v, p.code, `--${spec.name}: ${p.message}`, p.severity);
  }
}

/** Finds an extension option by its exact name (with or without dashes), newest extension first. */
function findExtOption(st: InterpretState, name: string): { spec: OptionSpec; owner: MatchUse | TargetUse; ext: ExtensionSpec } | undefined {
  const loaded = st.loaded;
  for (let k = loaded.length - 1; k >= 0; k--) {
    const spec = optionsOf(loaded[k].ext).get(name);
    if (spec) return { spec, owner: loaded[k].owner, ext: loaded[k].ext };
  }
  return undefined;
}

/** getopt_long's abbreviation rule over base and loaded extension options. */
function findByPrefix(st: InterpretState, prefix: string): { base?: BaseOpt; ext?: { spec: OptionSpec; owner: MatchUse | TargetUse; ext: ExtensionSpec }; ambiguous?: string[] } {
  const loaded = st.loaded;
  const candidates = new Map<object, { label: string; base?: BaseOpt; ext?: { spec: OptionSpec; owner: MatchUse | TargetUse; ext: ExtensionSpec } }>();
  for (const [long, b] of BASE_BY_LONG) if (long.startsWith(prefix) && !candidates.has(b)) candidates.set(b, { label: long, base: b });
  for (let k = loaded.length - 1; k >= 0; k--) {
    for (const [n, spec] of optionsOf(loaded[k].ext)) {
      // Options are indexed with and without their dashes; prefixes are matched on the bare names.
      if (n.startsWith('--')) continue;
      // The same option reached through two loaded instances of one module is still one option to getopt only
      // if it is the same table entry; distinct instances are distinct entries, so key by owner too.
      const key = `${k}:${spec.name}`;
      if (n.startsWith(prefix) && ![...candidates.values()].some((c) => c.ext && c.ext.owner === loaded[k].owner && c.ext.spec === spec)) {
        candidates.set({ key }, { label: n, ext: { spec, owner: loaded[k].owner, ext: loaded[k].ext } });
      }
    }
  }
  const list = [...candidates.values()];
  if (list.length === 1) return list[0];
  if (list.length > 1) return { ambiguous: list.map((c) => '--' + c.label) };
  return {};
}

/** Records the line's command; a second one is an error. */
function setCommand(st: InterpretState, kind: CommandKind, a: Arg): void {
  if (st.command !== undefined) {
    report(st, a, 'multiple-commands', `-${kind} cannot be combined with -${st.command} in one line: each line takes one command`);
    return;
  }
  st.command = kind;
  st.commandArg = a;
}

/** Loads a match module (explicitly with -m, or implicitly for -p). */
function loadMatch(st: InterpretState, name: string, nameArg: Arg | undefined): MatchUse {
  const found = MATCH_BY_NAME.get(name);
  const spec = found && specForFamily(found, st.family);
  const mu: MatchUse = { name, spec, nameArg, options: [] };
  st.matches.push(mu);
  if (spec) st.loaded.push({ ext: spec, owner: mu });
  return mu;
}

/**
 * Interprets the words of one rule line (after any `[p:b]` prefix, which the caller passes as
 * `countersArg`). `family` decides which modules exist and how addresses are read.
 */
export function interpretRule(args: readonly Arg[], family: Family, countersArg?: Arg): { rule: RuleInfo; problems: RuleProblem[] } {
  const st: InterpretState = { problems: [], family, protocol: undefined, ctxCache: { family, protocol: undefined }, loaded: [], matches: [], command: undefined, commandArg: undefined };
  let chainArg: Arg | undefined;
  let newNameArg: Arg | undefined;
  let ruleNumArg: Arg | undefined;
  let policyArg: Arg | undefined;
  let counters: RuleInfo['counters'];
  const base: OptionUse[] = [];
  let target: TargetUse | undefined;
  let protocolNegated = false;
  let protoMatchLoaded = false;
  // Base options seen so far, as a string of letters (cheaper than a Set per rule).
  let seenBase = '';
  let invert: Arg | undefined;

  if (countersArg) {
    // iptables-restore reads `[P:B]` from the whole line with strtok (measured: `[5:]` and
    // `[5::2]` pass, `[:2]` and `[5]` do not), and hands both parts to -c only when run with
    // --counters, which reads them as sscanf's %llu does: `[ 5:2]` and `[5x:2]` are 5 and 2.
    const v = countersArg.value;
    const read = readRestoreCounters([countersArg, ...args].map((x) => x.raw).join(' '));
    if (read.problem) report(st, countersArg, 'invalid-counters', `bad counters '${v}': a rule's counters are [PACKETS:BYTES] (Bad line: ${read.problem})`);
    else if (read.packets !== undefined && read.bytes !== undefined) counters = { packets: read.packets, bytes: read.bytes, args: [countersArg] };
    else report(st, countersArg, 'suspicious-counters', `malformed counters '${v}': expected [PACKETS:BYTES]; iptables-restore ignores them, and refuses the rule when run with --counters (-c ${read.packets === undefined ? 'packet' : 'byte'} counter not numeric)`, 'warning');
  }







  for (const a of args) {
    // iptables takes the rest of the line into the argument; it is legal but rarely meant.
    if (a.value.length >= 1024) report(st, a, 'line-too-long', `an argument of ${a.value.length} characters: iptables refuses 1024 or more (Parameter too long!)`);
    if (a.unterminated) report(st, a, 'unterminated-quote', `the quote in ${a.raw.length > 30 ? a.raw.slice(0, 30) + '…' : a.raw} is never closed: iptables takes the rest of the line into this argument; close it with "`, 'warning');
  }
  let i = 0;
  const n = args.length;
  while (i < n) {
    const a = args[i];
    const v = a.value;
    if (v === '!') {
      if (invert) report(st, a, 'syntax-error', 'multiple ! flags not allowed: write a single ! before the option');
      invert = a;
      i++;
      continue;
    }
    const negation = invert;
    invert = undefined;

    // Determine which option this word is.
    let baseOpt: BaseOpt | undefined;
    let extHit: { spec: OptionSpec; owner: MatchUse | TargetUse; ext: ExtensionSpec } | undefined;
    let attached: string | undefined;
    let shortCluster: string | undefined;
    if (v.startsWith('--') && v.length > 2) {
      const eq = v.indexOf('=');
      if (eq >= 0) attached = v.slice(eq + 1);
      // The option as written without any `=value`; looked up with its dashes, so that the
      // common case of a full option name allocates nothing.
      const word = eq >= 0 ? v.slice(0, eq) : v;
      // Most long options belong to matches: skip the base lookup (which hashes the word) when no
      // base option has this length and first letter.
      baseOpt = BASE_LONG_SHAPES[((word.length & 63) << 7) | (word.charCodeAt(2) & 127)] === 1 ? BASE_BY_DASHED_LONG.get(word) : undefined;
      if (baseOpt && eq >= 0 && WHOLE_WORD_VALUE.has(baseOpt.letter)) attached = v;
      if (!baseOpt) {
        extHit = findExtOption(st, word);
        if (!extHit) {
          const name = word.slice(2);
          let pre = findByPrefix(st, name);
          if (!pre.base && !pre.ext && !pre.ambiguous && st.protocol !== undefined && !protoMatchLoaded) {
            // Like iptables, `-p tcp --dport 22` loads the tcp match on the first unknown option.
            const num = protocolNumber(st.protocol);
            const mname = num !== undefined ? IMPLICIT_PROTO_MATCH[num] : undefined;
            protoMatchLoaded = true;
            if (mname && (!MATCH_BY_NAME.get(mname)?.family || MATCH_BY_NAME.get(mname)?.family === family)) {
              loadMatch(st, mname, undefined);
              extHit = findExtOption(st, name);
              if (!extHit) pre = findByPrefix(st, name);
            }
          }
          if (!extHit) {
            if (pre.ambiguous) {
              report(st, a, 'ambiguous-option', `option '${v}' is ambiguous: it abbreviates ${pre.ambiguous.join(', ')}`);
              i++;
              continue;
            }
            baseOpt = pre.base;
            extHit = pre.ext;
          }
        }
      }
      if (!baseOpt && !extHit) {
        const hint = unknownOptionHint(word.slice(2), st.matches, target, st.protocol);
        report(st, a, 'unknown-option', `unknown option '${v}'${hint}`);
        i++;
        // Skip a following value word so that it is not reported a second time as a stray argument.
        if (i < n && !args[i].value.startsWith('-') && args[i].value !== '!') i++;
        continue;
      }
    } else if (v.startsWith('-') && v.length > 1) {
      const letter = v[1];
      baseOpt = BASE_BY_CODE[v.charCodeAt(1)];
      if (!baseOpt) {
        report(st, a, 'unknown-option', `unknown option '-${letter}'`);
        i++;
        continue;
      }
      if (v.length > 2) {
        if (baseOpt.arg === 'none') shortCluster = v.slice(2);
        // iptables reads the value of -s -d -p -i -o -j from the whole word when it is attached
        // (`-ptcp` is the protocol "-ptcp"), so we do the same to agree on the verdict.
        else attached = WHOLE_WORD_VALUE.has(baseOpt.letter) ? v : v.slice(2);
      }
    } else {
      report(st, a, 'unexpected-argument', `unexpected argument '${v}': it is neither an option nor the value of one`);
      i++;
      continue;
    }
    i++;

    if (extHit) {
      const { spec, owner } = extHit;
      // Arrays are created at their final size where possible: an array grown by push reserves
      // room for 16 more elements, which for a 100k-rule dump is most of the garbage made here.
      let values: Arg[];
      if (spec.args.length === 0) values = NO_VALUES;
      else if (spec.args.length === 1 && attached === undefined && i < n) values = [args[i++]];
      else values = [];
      if (spec.args.length > 0) {
        if (attached !== undefined) values.push({ ...a, value: attached });
        while (values.length < spec.args.length && i < n) values.push(args[i++]);
        if (values.length < spec.args.length) {
          report(st, a, 'missing-value', `--${spec.name} requires ${spec.args.length === 1 ? 'a value' : `${spec.args.length} values`}${spec.args[0].label ? ` (${spec.args.map((x) => x.label ?? x.kind).join(' ')})` : ''}`);
        }
      }
      if (negation && !spec.invert) report(st, negation, 'not-invertible', `--${spec.name} cannot be negated: remove the '!'`);
      // The pre-1.4.3 negation after the option name (`--dport ! 22`).
      if (values.length > 0 && values[0].value === '!' && spec.invert) {
        report(st, values[0], 'deprecated-negation', `'--${spec.name} ! VALUE' is the pre-1.4.3 negation form, which iptables 1.8 rejects: write '! --${spec.name} ${i < n ? args[i].value : 'VALUE'}'`);
        if (i < n && !args[i].value.startsWith('-')) i++;
        owner.options.push({ name: spec.name, spec, nameArg: a, values, negated: true, negation: values[0] });
        continue;
      }
      const dup = owner.options.find((o) => o.spec === spec);
      if (dup && !spec.multi) report(st, a, 'duplicate-option', `--${spec.name} can only be used once per ${'kind' in owner ? 'target' : `'-m ${owner.name}'`}`);
      owner.options.push({ name: spec.name, spec, nameArg: a, values, negated: negation !== undefined, negation });
      checkValues(st, spec, values);
      continue;
    }

    const b = baseOpt!;
    if (negation && !b.invert) report(st, negation, 'not-invertible', `'!' cannot be used before -${b.letter}`);
    let value: Arg | undefined;
    if (b.arg === 'required') {
      if (attached !== undefined) value = { ...a, value: attached };
      else if (i < n) value = args[i++];
      else {
        report(st, a, 'missing-value', `option ${v} requires a value`);
      }
    } else if (b.arg === 'optional') {
      if (attached !== undefined) value = { ...a, value: attached };
      else if (hasArg(args[i])) value = args[i++];
    }
    if (shortCluster) {
      for (const ch of shortCluster) {
        const o = BASE_BY_LETTER.get(ch);
        if (!o || o.arg === 'required') report(st, a, 'unknown-option', `'${v}': cannot combine -${b.letter} with '${ch}' in one word; write them as separate options`);
      }
    }

    if (b.command) {
      setCommand(st, b.command, a);
      if (b.command === 'L' || b.command === 'S') {
        report(st, a, 'unsupported-command', `-${b.command} only lists rules (to standard output) and changes nothing; it does not belong in a rules file`, 'warning');
      } else if (b.command === 'E') {
        report(st, a, 'unsupported-command', '-E fails with iptables-nft-restore (CHAIN_RENAME failed) for chains of the same restore: declare the chain under its final name instead');
      } else if (b.command === 'R') {
        report(st, a, 'unsupported-command', '-R crashes iptables-nft-restore 1.8.9 when the rule exists: delete with -D and insert with -I instead');
      }
      if (value) {
        if (b.command === 'P') policyArg = undefined;
        chainArg = value;
      }
      // Second words taken by some commands, as iptables reads them from argv directly.
      switch (b.command) {
        case 'I':
        case 'D':
        case 'Z':
          if (value && hasArg(args[i]) && /^[0-9]/.test(args[i].value)) ruleNumArg = args[i++];
          else if (b.command === 'I' && value && hasArg(args[i])) ruleNumArg = args[i++];
          break;
        case 'R':
          if (value && hasArg(args[i])) ruleNumArg = args[i++];
          else if (value) report(st, a, 'missing-value', '-R requires a chain and a rule number');
          break;
        case 'E':
          if (value && hasArg(args[i])) newNameArg = args[i++];
          else if (value) report(st, a, 'missing-value', '-E requires the old and the new chain name');
          break;
        case 'P':
          if (value && hasArg(args[i])) policyArg = args[i++];
          else if (value) report(st, a, 'missing-value', '-P requires a chain and a policy (ACCEPT or DROP)');
          break;
        default:
          break;
      }
      if (ruleNumArg) {
        const num = Number(ruleNumArg.value);
        if (!/^[0-9]+$/.test(ruleNumArg.value) || num < 1) report(st, ruleNumArg, 'invalid-value', `invalid rule number '${ruleNumArg.value}': rule numbers start at 1`);
      }
      continue;
    }

    switch (b.letter) {
      case 's':
      case 'd':
      case 'p':
      case 'i':
      case 'o':
      case 'f': {
        if (seenBase.includes(b.letter)) report(st, a, 'duplicate-option', `multiple -${b.letter} options are not allowed in one rule`);
        seenBase += b.letter;
        const use: OptionUse = { name: b.letter, nameArg: a, values: value ? [value] : [], negated: negation !== undefined, negation };
        base.push(use);
        if (b.letter === 'f' && family === 'ipv6') report(st, a, 'family-mismatch', "-f (fragments) is not supported in IPv6: use -m frag");
        if (!value) break;
        // `-i !` followed by another option names an interface '!', which iptables accepts.
        const bangInterface = (b.letter === 'i' || b.letter === 'o') && (i >= n || args[i].value.startsWith('-'));
        if (value.value === '!' && !bangInterface) {
          const next = i < n ? args[i].value : 'VALUE';
          report(st, value, 'deprecated-negation', `'-${b.letter} ! ${next}' is the pre-1.4.3 negation form, which iptables 1.8 rejects (Bad argument '${next}'): write '! -${b.letter} ${next}'`);
          if (i < n && !args[i].value.startsWith('-')) i++;
          break;
        }
        if (b.letter === 'p') {
          st.protocol = value.value.toLowerCase();
          protocolNegated = negation !== undefined;
          const p = VALIDATORS.protocol(value.value, ctxOf(st), {});
          if (p) report(st, value, p.code, p.message, p.severity);
        } else if (b.letter === 's' || b.letter === 'd') {
          if (negation && value.value.split(',').some((x) => /\/(0+|0\.0\.0\.0|::)$/.test(x))) report(st, value, 'invalid-address', `'! -${b.letter} ${value.value}' negates a /0 prefix, which matches nothing: iptables-nft-restore rejects it (RULE_APPEND failed)`);
          if (negation && value.value.includes(',')) report(st, value, 'invalid-address', `'! -${b.letter}' cannot negate a list of addresses (${value.value}): iptables expands a list into one rule per address`);
          const p = VALIDATORS['address-list'](value.value, ctxOf(st), {});
          if (p) report(st, value, p.code, `-${b.letter}: ${p.message}`, p.severity);
        } else if (b.letter === 'i' || b.letter === 'o') {
          const p = VALIDATORS.interface(value.value, ctxOf(st), {});
          if (p) report(st, value, p.code, p.message, p.severity);
        }
        break;
      }
      case 'm': {
        if (!value) break;
        const name = value.value;
        const spec = matchNamed(name);
        if (!spec) {
          report(st, value, 'unknown-module', `unknown match module '${name}' (Couldn't load match): check the name${suggest(name, [...MATCH_BY_NAME.keys()])}`);
        } else if (spec.unavailable) {
          report(st, value, 'unavailable-extension', `the ${name} match cannot be loaded: ${spec.unavailable}`);
        } else if (spec.family && spec.family !== family) {
          report(st, value, 'family-mismatch', `the ${name} match exists only in ${spec.family === 'ipv4' ? 'iptables (IPv4)' : 'ip6tables (IPv6)'}${name === 'icmp' ? '; use -m icmp6 --icmpv6-type' : name === 'icmp6' ? '; use -m icmp --icmp-type' : ''}`);
        }
        loadMatch(st, name, value);
        break;
      }
      case 'j':
      case 'g': {
        if (!value) break;
        if (target) {
          report(st, a, 'duplicate-option', `multiple -j/-g options are not allowed in one rule (already ${target.goto ? '-g' : '-j'} ${target.name})`);
          break;
        }
        const name = value.value;
        const ext = targetNamed(name);
        const isStd = (STANDARD_TARGETS as readonly string[]).includes(name);
        if (b.letter === 'g') {
          if (isStd || ext) report(st, value, 'invalid-value', `-g needs a user-defined chain, not the target ${name}: use -j ${name}`);
          target = { name, nameArg: value, kind: 'chain', goto: true, options: [] };
        } else if (isStd) {
          target = { name, nameArg: value, kind: 'standard', goto: false, options: [] };
        } else if (ext) {
          target = { name, nameArg: value, kind: 'extension', spec: ext, goto: false, options: [] };
          if (ext.unavailable) report(st, value, 'unavailable-extension', `the ${name} target cannot be loaded: ${ext.unavailable}`);
          else if (ext.family && ext.family !== family) report(st, value, 'family-mismatch', `the ${name} target exists only in ${ext.family === 'ipv4' ? 'iptables (IPv4)' : 'ip6tables (IPv6)'}`);
          st.loaded.push({ ext, owner: target });
        } else {
          target = { name, nameArg: value, kind: 'chain', goto: false, options: [] };
        }
        break;
      }
      case 'c': {
        // As iptables reads them: `-c P,B` in one word, or `-c P B`; each number as sscanf's %llu
        // does (blanks, a sign and trailing characters allowed: `-1` is 2^64 - 1, `0x10` is 0).
        const comma = value ? value.value.indexOf(',', 1) : -1;
        const p2 = comma >= 0 ? undefined : hasArg(args[i]) ? args[i++] : undefined;
        if (!value || (comma < 0 && !p2)) {
          report(st, a, 'missing-value', '-c requires two values: packets and bytes');
          break;
        }
        const packets = readScanfU64(value.value);
        const bytes = readScanfU64(comma >= 0 ? value.value.slice(comma + 1) : p2!.value);
        if (packets === undefined) report(st, value, 'invalid-counters', `-c ${value.value}: the packet counter is not a number (-c packet counter not numeric)`);
        else if (bytes === undefined) report(st, p2 ?? value, 'invalid-counters', `-c ${comma >= 0 ? value.value : `${value.value} ${p2!.value}`}: the byte counter is not a number (-c byte counter not numeric)`);
        else counters = { packets, bytes, args: p2 ? [value, p2] : [value] };
        break;
      }
      case 't':
        report(st, a, 'unexpected-argument', `-t cannot be used inside an iptables-restore file: rules belong to the table of the enclosing '*${value?.value ?? 'table'}' block`);
        break;
      case '4':
        if (family === 'ipv6') report(st, a, 'ignored-rule', '-4 in an IPv6 rule set: ip6tables-restore silently skips this rule', 'warning');
        break;
      case '6':
        if (family === 'ipv4') report(st, a, 'ignored-rule', '-6 in an IPv4 rule set: iptables-restore silently skips this rule', 'warning');
        break;
      case 'n':
      case 'x':
      case '0':
        report(st, a, 'unexpected-argument', `${v} is a listing option (Illegal option with this command): remove it`);
        break;
      case 'w':
      case 'W':
        report(st, a, 'unexpected-argument', `${v} cannot be used in a restore file (iptables-restore has its own -w): remove it`);
        break;
      default:
        // -n -v -x -w -W --line-numbers --modprobe -V -h: accepted by the parser and without effect on the rules.
        break;
    }
  }
  if (invert) report(st, invert, 'syntax-error', "'!' at the end of the line: it must stand before the option it negates");

  const rule: RuleInfo = { command: st.command, commandArg: st.commandArg, chainArg, newNameArg, ruleNumArg, policyArg, counters, base, matches: st.matches, target, protocol: st.protocol, protocolNegated };
  finalChecks(rule, family, args, st.problems);
  return { rule, problems: st.problems };
}

/** Commands that need a chain name. */
const COMMANDS_WITH_CHAIN: ReadonlySet<CommandKind> = new Set<CommandKind>(['A', 'I', 'D', 'R', 'N', 'E', 'P', 'C']);

/** The checks iptables does once the whole line is read: commands, requirements, conflicts. */
function finalChecks(rule: RuleInfo, family: Family, args: readonly Arg[], problems: RuleProblem[]): void {
  const report = (a: Arg, code: string, message: string): void => {
    problems.push({ severity: 'error', code, message, ...spanOf(a) });
  };
  const first = args[0];
  if (!rule.command) {
    if (first) report(first, 'missing-command', 'no command in this line: a rule line starts with -A CHAIN (or -I, -D, -N, -X, -P, -F, -Z, -E)');
    return;
  }
  const isRuleCommand = rule.command === 'A' || rule.command === 'I' || rule.command === 'R' || rule.command === 'C' || (rule.command === 'D' && !rule.ruleNumArg);
  if (!isRuleCommand) {
    const extra = rule.base[0]?.nameArg ?? rule.matches[0]?.nameArg ?? rule.target?.nameArg;
    if (extra) report(extra, 'unexpected-argument', `-${rule.command} takes no rule specification: remove the options after the chain name`);
  }
  if (!rule.chainArg && rule.commandArg && COMMANDS_WITH_CHAIN.has(rule.command)) {
    report(rule.commandArg, 'missing-value', `-${rule.command} requires a chain name`);
  }
  // iptables expands address lists into several rules and refuses '!' on either address then.
  let listed: OptionUse | undefined;
  let negated: OptionUse | undefined;
  for (const b of rule.base) {
    if (b.name !== 's' && b.name !== 'd') continue;
    if (!listed && b.values[0]?.value.includes(',')) listed = b;
    if (!negated && b.negated) negated = b;
  }
  if (listed && negated && listed !== negated) {
    report(negated.negation ?? negated.nameArg, 'invalid-address', `'!' is not allowed when -${listed.name} lists several addresses (${listed.values[0].value}): iptables expands the list into one rule per address`);
  }
  /** A module, target or option that needs the rule's own `-p` (not negated) to be one of `protocols`. */
  const requireProtocol = (protocols: readonly string[], where: Arg | undefined, what: string): void => {
    const p = rule.protocol;
    const num = protocolNumber(p);
    if (!where || (p !== undefined && !rule.protocolNegated && protocols.some((q) => q === p || protocolNumber(q) === num))) return;
    const want = protocols.filter((q) => !/^[0-9]+$/.test(q)).map((q) => `-p ${q}`).join("', '");
    const why = p === undefined ? 'the rule has no -p' : rule.protocolNegated ? `the protocol is negated (! -p ${p})` : `the rule says -p ${p}`;
    report(where, 'protocol-required', `${what} needs '${want}', but ${why}`);
  };
  const checkExt = (ext: ExtensionSpec, owner: { options: OptionUse[] }, where: Arg | undefined, kind: 'match' | 'target'): void => {
    if (!where) return;
    for (const group of ext.requireOneOf ?? []) {
      if (!owner.options.some((o) => o.spec && group.includes(o.spec.name))) {
        report(where, 'missing-option', `the ${ext.name} ${kind} needs ${group.length === 1 ? `--${group[0]}` : `one of ${group.map((g) => '--' + g).join(', ')}`}`);
      }
    }
    for (const [x, y] of ext.requires ?? []) {
      const ox = owner.options.find((o) => o.spec?.name === x);
      if (ox && !owner.options.some((o) => o.spec?.name === y)) report(ox.nameArg, 'missing-option', `--${x} also requires --${y} in the ${ext.name} ${kind}`);
    }
    for (const [x, y, why] of ext.conflicts ?? []) {
      const ox = owner.options.find((o) => o.spec?.name === x);
      const oy = owner.options.find((o) => o.spec?.name === y);
      if (!ox || !oy) continue;
      // Reported where iptables stops: at whichever of the two comes second.
      const [a, b] = ox.nameArg.start <= oy.nameArg.start ? [x, oy] : [y, ox];
      report(b.nameArg, 'conflicting-options', `--${b.spec!.name} cannot be combined with --${a} in the ${ext.name} ${kind}${why ? `: ${why}` : ''}`);
    }
    if (ext.protocols) requireProtocol(ext.protocols, where, `the ${ext.name} ${kind}`);
    for (const o of owner.options) if (o.spec?.protocols) requireProtocol(o.spec.protocols, o.nameArg, `--${o.spec.name} of the ${ext.name} ${kind}`);
  };
  for (const m of rule.matches) if (m.spec) checkExt(m.spec, m, m.nameArg ?? m.options[0]?.nameArg, 'match');
  if (rule.target?.spec) checkExt(rule.target.spec, rule.target, rule.target.nameArg, 'target');
  // A negated "any protocol" matches nothing; iptables refuses it.
  if (rule.protocolNegated && rule.protocol !== undefined && protocolNumber(rule.protocol) === 0) {
    const pArg = rule.base.find((b) => b.name === 'p');
    if (pArg) report(pArg.negation ?? pArg.nameArg, 'invalid-protocol', `'! -p ${rule.protocol}' matches no packet: iptables refuses it (rule would never match protocol)`);
  }
  // NAT ports need a protocol that has them (libxt_DNAT and friends; any negated -p will do).
  const t = rule.target;
  if (t && (t.name === 'DNAT' || t.name === 'SNAT' || t.name === 'REDIRECT' || t.name === 'MASQUERADE') && rule.protocol !== undefined && !rule.protocolNegated) {
    const num = protocolNumber(rule.protocol);
    const portful = num === 6 || num === 17 || num === 132 || num === 33 || (num === 1 && family !== 'ipv6');
    if (!portful) {
      for (const o of t.options) {
        const v = o.values[0];
        const hasPort = o.name === 'to-ports' || ((o.name === 'to-destination' || o.name === 'to-source') && v !== undefined && (family === 'ipv6' ? /^\[.*\]:/.test(v.value) : v.value.includes(':')));
        if (hasPort && v) report(v, 'protocol-required', `a port in ${t.name} --${o.name} ${v.value} needs -p tcp, udp, sctp or dccp${family === 'ipv6' ? '' : ' (or icmp)'}, but the rule says -p ${rule.protocol} (Need TCP, UDP, SCTP or DCCP with port specification)`);
      }
    }
  }
  // REJECT --reject-with tcp-reset only makes sense for TCP; the kernel refuses it otherwise.
 const rw = rule.target?.options.find((o) => o.name === 'reject-with');
  if (rw && rw.values[0] && resolveRejectWith(rw.values[0].value, family) === 'tcp-reset' && (rule.protocol === undefined || protocolNumber(rule.protocol) !== 6 || rule.protocolNegated)) {
    report(rw.values[0], 'protocol-required', `--reject-with ${rw.values[0].value} needs -p tcp`);
  }
}

/** A hint for an unknown option: which module would provide it. */
function unknownOptionHint(name: string, matches: readonly MatchUse[], target: TargetUse | undefined, protocol: string | undefined): string {
  for (const [mname, spec] of MATCH_BY_NAME) {
    if (spec.options.some((o) => o.name === name || o.aliases?.includes(name))) {
      if (['sport', 'dport', 'source-port', 'destination-port', 'tcp-flags', 'syn'].includes(name)) {
        if (!protocol) return `: it belongs to the tcp/udp matches, which need '-p tcp' or '-p udp' first`;
        // A protocol without ports (gre, icmp …), or a number that is not the one it looks like
        // (`-p 017` is 15): no match is loaded for it.
        const num = protocolNumber(protocol);
        if (num === undefined || IMPLICIT_PROTO_MATCH[num] === undefined) return `: -p ${protocol}${num !== undefined && /^[0-9]/.test(protocol) && String(num) !== protocol ? ` (protocol ${num})` : ''} has no ports; port options need -p tcp, udp, udplite, sctp or dccp`;
      }
      if (matches.some((m) => m.name === mname)) continue;
      return `: it belongs to the ${mname} match; add '-m ${mname}' before it`;
    }
  }
  for (const [tname, spec] of TARGET_BY_NAME) {
    if (spec.options.some((o) => o.name === name)) {
      if (target?.name === tname) continue;
      return `: it is an option of the ${tname} target${target ? ` (this rule's target is ${target.name})` : ''}`;
    }
  }
  return '';
}

/** " (did you mean X?)" for a close spelling, else an empty string. */
export function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/**
 * The interpretation of the same words on another line, with the chain name replaced by
 * `chainArg` (same columns, the other line). buildModel uses it for rules it has already
 * interpreted elsewhere (generated rule sets repeat the same rule in thousands of chains whose
 * names have the same length). The other words are shared, not copied: they keep the line where
 * they were first read, so whoever takes a position from them must take the line from the rule
 * (validate.ts does, see `wordsOn`). Copying every word to its new line cost a twelfth of a check
 * of the 5,000-port dump, mostly in garbage collection.
 */
export function reuseRuleInfo(info: RuleInfo, chainArg: Arg): RuleInfo {
  return { ...info, chainArg };
}


/**
 * A number as sscanf's %llu reads it (iptables' -c): blanks, an optional sign, then decimal digits,
 * and anything after them ignored; a negative number wraps around 2^64 and a number too large is
 * 2^64 - 1. Undefined without a digit.
 */
export function readScanfU64(s: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[2]);
  if (v > U64_MAX) return U64_MAX;
  return m[1] === '-' && v !== 0n ? U64_MAX + 1n - v : v;
}

/**
 * The `[PACKETS:BYTES]` prefix of a line as iptables-restore reads it: the line needs a `]`; then
 * strtok takes the packets up to the next `:` (leading colons skipped) and the bytes from there
 * up to a `]` (leading `]` skipped), over the rest of the line. `problem` is iptables-restore's
 * complaint when that fails; the numbers are read as -c reads them (undefined: not a number).
 */
export function readRestoreCounters(line: string): { problem?: 'need ]' | 'need :'; packets?: bigint; bytes?: bigint } {
  if (!line.includes(']')) return { problem: 'need ]' };
  let i = 1;
  while (i < line.length && line[i] === ':') i++;
  if (i >= line.length) return { problem: 'need :' };
  const colon = line.indexOf(':', i);
  if (colon < 0) return { problem: 'need ]' };
  let j = colon + 1;
  while (j < line.length && line[j] === ']') j++;
  if (j >= line.length) return { problem: 'need ]' };
  const close = line.indexOf(']', j);
  return { packets: readScanfU64(line.slice(i, colon)), bytes: readScanfU64(line.slice(j, close < 0 ? line.length : close)) };
}
