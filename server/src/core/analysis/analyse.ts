/**
 * The rule-set analysis: which packets reach each rule, per table, following netfilter's own
 * traversal (builtin chains per hook, `-j` jumps that return, `-g` gotos whose RETURN goes back
 * to the caller's caller, RETURN, policies, non-terminating targets that continue, MARK changing
 * the mark seen by later rules). From the packets reaching every rule it derives unreachable and
 * shadowed rules, unreachable chains, redundant rules, correlated rules and generalisations.
 *
 * Soundness: packet sets are over-approximated, never under-approximated. A rule whose match is not
 * fully modelled (`approximated`) may or may not match: it never removes packets from what later
 * rules see. So a rule reported unreachable really is unreachable, whatever the unmodelled
 * matches do. When the packets following a chain still split into more pieces than the table's
 * piece limit, the pieces are merged into fewer, larger ones (packet-space.ts `coarsen`): still a
 * superset, so still sound, but rules after that point may be missed; such chains say so with an
 * `analysis-skipped` information diagnostic and skip the checks that need exact sets.
 *
 * A user chain reached from several places is analysed once, for the union of what reaches it.
 * What a jump gives back to its caller is taken from a summary of the callee computed for every
 * packet, intersected with what was sent; the summary stays exact in every field the callee tests.
 * A summary cannot say which packets kept their values through a chain that rewrites some (a MARK
 * for some packets only), so such a chain is walked again at each call with what the call sends
 * (up to a number of walks per table; beyond, what was sent is widened on the rewritten fields).
 * A chain called by a single rule (most chains of generated rule sets) needs no summary: it is
 * walked right at that call, with exactly what the call sends, and gives back what really comes
 * back. So is a long chain called from a few places (FEW_CALLS), at each of them: its summary
 * would have to keep every distinction its rules make, which for a blocklist is a hole per rule.
 *
 * Cost: every rule is walked at most twice (the summary, then the packets that really arrive);
 * rules of chains called once are walked once more per summary walk of a chain calling them, and
 * rules of chains that rewrite packets once more per call (up to CALL_WALKS walks per table), and
 * so are the rules of long chains called from few places (up to as many walks again).
 * What keeps the sets small is relevance.ts: once no later rule (nor chain it calls) tells two
 * packets apart, the walk stops keeping them apart, so the pieces that per-interface or
 * per-address rules cut off merge again. The work is written as generators that pause at safe
 * points: `analyse` runs them to the end at once, `analyseAsync` in slices that leave the event
 * loop free between them and can be abandoned.
 *
 * An editor analyses version after version of one document: with `remember`, a run records each
 * walk's effects, and the next run (`previous`) replays the walks of chains that are as they were
 * with the same packets instead of walking them (memo.ts). The results are exactly a fresh run's.
 */
import type { Chain, Model, ModelObserver, Rule, Table } from '../model.ts';
import type { RuleInfo } from '../rule.ts';
import type { Diagnostic, RelatedInfo, Range } from '../diagnostics.ts';
import type { Family } from '../extensions/value-kinds.ts';
import { STANDARD_TARGETS, TARGET_BY_NAME } from '../extensions/extensions.ts';
import { coarsen, constrainedDims, intersect, isEmpty, simplify, isFull, mapDimension, NOTHING, overlaps, setEquals, subsetOf, subtract, union, volume, widen, universe, type Cube, type Space, type SpaceDims } from './packet-space.ts';
import { D, describeCube, hookEntry, markBitsUnder, markTransform, readRule, readRuleInfo, setLookupBitsOf, spaceOf, VocabularyCollector, type CollectorCall, type RuleReading, type RuleSpace, type TargetReading, type Vocabulary } from './rule-space.ts';
import { distinctionsOf, joinDistinctions, Projector, type Distinctions, type Use } from './relevance.ts';
import { drain, type Steps } from './steps.ts';
import { OverlapIndex, split } from './overlap-index.ts';
import { budgetsAllow, sameVocabulary, tableKey, type AnalysisMemo, type ChainMemo, type SummaryRecord, type TableMemo, type VisitRecord, type WalkEffects, type WalkEvent } from './memo.ts';

/** Options of the analysis. */
export interface AnalysisOptions {
  /**
   * The most work (cube operations) spent on one table before the analysis of that table is
   * skipped with an information diagnostic; deterministic, unlike a time limit.
   */
  readonly budget?: number;
  /** A limit on the analysis's own running time per model in milliseconds, as a last resort. */
  readonly timeLimitMs?: number;
  /** The packets entering builtin chains, per table and hook; by default every packet the hook can see. */
  readonly entry?: (table: string, hook: string, v: Vocabulary) => Space | undefined;
  /**
   * Chains with more rules than this skip the pairwise checks (redundant, correlated,
   * generalisation), saying so, unless the rules that may overlap make at most its square of pairs
   * (overlap-index.ts): a long list of rules for one address each is compared in full.
   */
  readonly pairwiseLimit?: number;
  /**
   * The most cubes a set of packets may have before it is merged into fewer, larger ones (an
   * over-approximation, reported). By default it shrinks as tables grow, so that the work per
   * table stays bounded: 2,000,000 divided by the number of rules, between 32 and 4,096.
   */
  readonly pieceLimit?: number;
  /**
   * Chains with at most this many rules, and sets of at most this many cubes, are walked without
   * projecting onto what later rules tell apart (relevance.ts), which would not pay there; 8
   * unless given. Tests set 0 to exercise the projection on small rule sets.
   */
  readonly projectionThreshold?: number;
  /**
   * Multiplies the default work budget, time limit, pairwise limit and piece limit (1 unless
   * given): the one knob users turn when a message says a limit was reached.
   */
  readonly effort?: number;
  /**
   * How the user raises the effort where the analysis runs (a setting, a command-line option),
   * appended to every message about a limit; by default the messages name the `effort` option.
   */
  readonly raiseHint?: string;
  /**
   * Whether the result lists every rule's reachability (`rules`, true unless false): the packets
   * of every rule are then kept until the end, which costs memory on big files; diagnostics
   * alone need them one chain at a time.
   */
  readonly reachability?: boolean;
  /** The rules as read while the model was built (see `RuleReader`); otherwise they are read here. */
  readonly readings?: RuleReader;
  /**
   * Lines with error-severity diagnostics: a table holding one is not analysed, since
   * iptables-restore refuses the whole table; an information diagnostic on its header says so.
   */
  readonly errorLines?: ReadonlySet<number>;
  /**
   * Whether a chain called by a single rule is walked at that call instead of being summarised
   * (true unless given). The results are the same; false exists to test that they are.
   */
  readonly inlineSingleCalls?: boolean;
  /**
   * The tables to analyse (by their index in `model.tables`); the others are left out, with no
   * diagnostic at all. Tables are analysed independently, so an editor can keep the findings of
   * tables an edit did not touch. All unless given.
   */
  readonly onlyTables?: ReadonlySet<number>;
  /**
   * Whether the pairwise checks of long chains compare a rule only with the rules that may overlap
   * it (overlap-index.ts; true unless given). The results are the same; false exists to test that
   * they are.
   */
  readonly overlapIndex?: boolean;
  /**
   * Chains called from at most four places are walked at each call instead of being summarised
   * when they have more rules than this (64 unless given; see FEW_CALLS). The results are the
   * same; tests set 0 to exercise it on small rule sets and a huge number to turn it off.
   */
  readonly fewCallsLongerThan?: number;
  /**
   * What the analysis of an earlier version of the document left (`AnalysisResult.memo`, made
   * with `remember`): chains whose rules, callees and incoming packets are as they were replay
   * that analysis instead of being walked again (memo.ts). The result is the same. Used only with
   * `lines`, without `entry` and with `reachability` false.
   */
  readonly previous?: AnalysisMemo;
  /** Whether to leave a memo for the analysis of the next version (`AnalysisResult.memo`); needs `lines`. */
  readonly remember?: boolean;
  /** The document's lines: the memos compare rules with them. */
  readonly lines?: readonly string[];
}

/** Options of `analyseAsync`: those of `analyse`, plus how to share the thread and when to stop. */
export interface AsyncAnalysisOptions extends AnalysisOptions {
  /** Aborting stops the analysis at its next pause; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The longest stretch of work between two pauses, in milliseconds (10 unless given). */
  readonly yieldEveryMs?: number;
}

/**
 * Reads every rule for the analysis while the model is built (pass it to `buildModel` as, or
 * along with, its observer), so that a rule is interpreted once for validity and analysis: on a
 * big dump the model recomputes an interpretation on every later access. Give it to `analyse` as
 * the `readings` option; `analyse` takes the readings out, so they are held no longer than needed.
 *
 * With `keep`, the reader keeps its readings (`take` lends them) and what each told the
 * table's vocabulary collector, so that `edited` can make the readings of a version that differs
 * in one rule without reading the others again (an editor's incremental check, incremental.ts).
 */
export class RuleReader implements ModelObserver {
  private readonly tables = new Map<Table, TableReadings>();
  private readonly keep: boolean;

  constructor(
    private readonly family: Family,
    options: { readonly keep?: boolean } = {},
  ) {
    this.keep = options.keep === true;
  }

  declared(): void {}

  tableEnd(): void {}

  command(t: Table, rule: Rule, info: RuleInfo, text: string, rest?: string): void {
    // Only commands that put a rule in a chain; the others leave nothing for the analysis.
    if (info.command !== 'A' && info.command !== 'I' && info.command !== 'R') return;
    let x = this.tables.get(t);
    if (!x) this.tables.set(t, (x = { collect: new VocabularyCollector(this.family), firstLine: rule.line, readings: [], byText: new Map(), told: this.keep ? new Map() : undefined }));
    // A reading depends only on the text after the chain name (and the family): generated rule
    // sets repeat the same rules in thousands of chains, which then share one reading, and so one
    // packet space. What a repeated rule names is already in the vocabulary. The texts are looked
    // up in a map: hashing a text reads it once, whereas comparing it with the last 64 distinct
    // texts (as this did before) took twice as long on dumps whose rules differ only in a port id
    // and so have the same length (measured: 95 against 40 ms per check of the 5,000-port dump).
    const key = info.chainArg ? (rest ?? text.slice(info.chainArg.end)) : undefined;
    let reading = key !== undefined ? x.byText.get(key) : undefined;
    if (!reading) {
      if (x.told) {
        x.collect.record();
        reading = readRuleInfo(info, x.collect);
        x.told.set(reading, { text: key, calls: x.collect.recorded(), uses: 0 });
      } else reading = readRuleInfo(info, x.collect);
      if (key !== undefined) x.byText.set(key, reading);
    }
    if (x.told) x.told.get(reading)!.uses++;
    x.readings[rule.line - x.firstLine] = reading;
  }

  /**
   * The readings of a table and what they named, handed over once; with `keep`, lent (marked
   * `kept`, which the analysis leaves as they are) and still here for `edited`. Copying them
   * instead held the server's thread for about 15 ms on the 5,000-port dump, between two pauses.
   */
  take(t: Table): TableReadings | undefined {
    const x = this.tables.get(t);
    if (!this.keep) this.tables.delete(t);
    return x;
  }

  /**
   * The readings of a version of the text that differs from this reader's in the `-A` rule at
   * `line` of table `t` only (the tables and chains are the same objects; see model.ts
   * `replaceAppend`): that rule is read from `info`, whose text after the chain name is `rest`.
   * When a reading is no longer used, the table's vocabulary is collected again from what the
   * others told (what a vocabulary holds does not depend on the order it was told). This reader
   * is taken over: it must not be used afterwards. Undefined, with nothing changed, without
   * `keep` or when the line held no reading.
   */
  edited(t: Table, line: number, info: RuleInfo, rest: string): RuleReader | undefined {
    const x = this.tables.get(t);
    const told = x?.told;
    const k = x ? line - x.firstLine : -1;
    const old = x?.readings[k];
    if (!this.keep || !x || !told || !old) return undefined;
    let reading = x.byText.get(rest);
    let added: readonly CollectorCall[] | undefined;
    if (!reading) {
      const scratch = new VocabularyCollector(this.family);
      scratch.record();
      reading = readRuleInfo(info, scratch);
      added = scratch.recorded();
      told.set(reading, { text: rest, calls: added, uses: 0 });
      x.byText.set(rest, reading);
    }
    x.readings[k] = reading;
    told.get(reading)!.uses++;
    const was = told.get(old)!;
    const collect = x.collect;
    if (added) collect.replay(added);
    if (--was.uses === 0) {
      told.delete(old);
      if (was.text !== undefined) x.byText.delete(was.text);
      // What only the old reading named is gone (collecting the whole table again took 15 ms of
      // each such edit of the 5,000-port dump).
      collect.forget(was.calls);
    }
    const next = new RuleReader(this.family, { keep: true });
    for (const [u, y] of this.tables) next.tables.set(u, u === t ? { ...y, collect } : y);
    this.tables.clear();
    return next;
  }
}

/** What a distinct reading told its table's vocabulary collector, for `RuleReader.edited`. */
interface Told {
  /** The rule text (after the chain name) it was read from, when it has one. */
  readonly text: string | undefined;
  readonly calls: readonly CollectorCall[];
  /** How many rules of the table have it. */
  uses: number;
}

/** The readings of one table's rules (alike rules share one), and what they named. */
interface TableReadings {
  readonly collect: VocabularyCollector;
  /** The line of the table's first rule. */
  readonly firstLine: number;
  /**
   * By line number from `firstLine` on (a dense array: no hashing of rule objects, which a big
   * dump has by the hundred thousand).
   */
  readonly readings: (RuleReading | undefined)[];
  /** The reading of each distinct rule text (after the chain name); emptied when the analysis takes the readings (unless kept). */
  readonly byText: Map<string, RuleReading>;
  /** With `keep`: what each distinct reading told `collect`, and its rules (see `RuleReader.edited`); the analysis then leaves the readings as they are. */
  readonly told: Map<RuleReading, Told> | undefined;
}

/** What the analysis found for one rule. */
export interface RuleReach {
  readonly rule: Rule;
  readonly chain: Chain;
  /**
   * The packets the rule matches on some path (empty: unreachable). Exact in every field that
   * this rule, the rules after it and the chains they call tell apart; fields no later test
   * looks at may be widened (relevance.ts).
   */
  readonly hit: Space;
  readonly approximated: boolean;
  /** False when `hit` was merged into larger pieces on the way (a superset of the exact set). */
  readonly exact: boolean;
}

/** The analysis of a model: diagnostics and per-rule reachability (for tests and tools). */
export interface AnalysisResult {
  readonly diagnostics: Diagnostic[];
  /**
   * Rules by line whose reachability was decided (tables that were skipped are absent; empty
   * when the `reachability` option is false).
   */
  readonly rules: Map<number, RuleReach>;
  /**
   * The work spent, in the steps the `budget` counts, summed over the tables analysed: a
   * deterministic measure of cost (tests use it to check that the analysis grows linearly).
   */
  readonly work: number;
  /** What the next analysis of an edited version may reuse (with the `remember` option). */
  readonly memo?: AnalysisMemo;
  /** With a memo used or kept: how many walks were made or replayed, and how many of them replayed (`previous`). */
  readonly walks?: { readonly total: number; readonly replayed: number };
}

const DEFAULT_BUDGET = 20_000_000;
const DEFAULT_TIME_MS = 10_000;
const DEFAULT_PAIRWISE = 1000;
/** The work the default piece limit aims at per table: the limit is this divided by the rules. */
const PIECE_WORK = 2_000_000;
const MIN_PIECES = 32;
const MAX_PIECES = 4096;
/** Rules after an approximated rule that are compared with it in chains too long for pairwise checks. */
const APPROXIMATION_WINDOW = 50;
/** Chains (and sets) up to this size are walked without projection (relevance.ts) by default: it would not pay. */
const SMALL_CHAIN = 8;
/**
 * The deepest nesting of inlined walks (a chain called once, within a chain called once, …):
 * deeper chains are summarised like chains called from several places, which gives the same
 * results, so that the walks' nesting (and the call stack) stays bounded.
 */
const MAX_INLINE_DEPTH = 64;
/**
 * Walks per table (times the effort) of chains that rewrite packets, at their calls (see
 * `TableContext.walkAtCall`); beyond, their summaries are used, which may keep unreachable rules
 * after such calls unreported (never report a reachable one).
 */
const CALL_WALKS = 4096;

/**
 * A long chain (more than LONG_CHAIN rules) called from at most FEW_CALLS places is walked at each
 * call rather than summarised. A summary is computed for every packet and must stay exact in
 * every field the chain tests: for a blocklist jumped to from INPUT and FORWARD, that is every
 * address it drops, a hole per rule in one set, which made its walk quadratic (100,000 addresses
 * ran past the time limit). Walked at a call, the chain only keeps apart what its caller tests
 * after it, so the holes merge again as the walk passes them.
 */
const FEW_CALLS = 4;
const LONG_CHAIN = 64;
/** Dimensions in which rules often name single values (interfaces, addresses): relevance.ts indexes them. */
const INDEX_DIMS = [D.in, D.out, D.physIn, D.physOut, D.src, D.dst];

/** How a rule's target continues the traversal. */
type Kind = 'terminal' | 'continue' | 'return' | 'jump' | 'goto';

/**
 * What the analysis knows of one rule. A class with every field set in one order, so that the
 * many loops over rules see one object shape.
 */
class Facts {
  constructor(
    readonly rule: Rule,
    readonly rs: RuleSpace,
    readonly kind: Kind,
    /** The chain a jump or goto calls. */
    readonly callee: ChainState | undefined,
    /** What the rule does to the packets that continue (MARK …); undefined: nothing. */
    readonly transform: ((s: Space) => Space) | undefined,
    /** Dimensions the rule can rewrite. */
    readonly rewrites: readonly number[],
    /** A key comparing actions: the target with its options. */
    readonly action: string,
    /** The rule's target, as read once. */
    readonly target: TargetReading | undefined,
    /** The dimensions the rule tests (a bit each), as `readsOf` would tell. */
    readonly tests: number,
    /** What `readsOf` and `describedOf` worked out, shared by the rules that share a reading. */
    readonly reads: { distinctions?: Distinctions; described?: string },
    /** The dimensions each cube of `rs.space` constrains (`constrainedDims`): the only ones that cut packets. */
    readonly spaceDims: SpaceDims,
  ) {}
}

/** What the analysis knows of one chain of the table being analysed. */
class ChainState {
  /** The facts of its rules, in order. */
  facts: Facts[] = [];
  /** 1 while the jump graph is searched below it, 2 once done. */
  visit: 0 | 1 | 2 = 0;
  /** Whether any packet can come back from it to its caller. */
  canReturn = true;
  /** The dimensions its rules and the chains they call test (a bit each). */
  reachDims = 0;
  /** The dimensions its callers test once it gives packets back. */
  afterReturn = 0;
  /** What it gives back for any packet (user chains, once computed). */
  summary: Summary | undefined = undefined;
  /** The distinctions its rules and the chains they call make (built when a projector needs them). */
  reach: Distinctions | undefined = undefined;
  /** Set while a caller's reach gathers its callees (see reachOf). */
  gathering = false;
  /** What the rest of the chain tells apart at each position (built on first use). */
  projector: Projector | undefined = undefined;
  /** The packets entering it, gathered from its callers during the top-down pass. */
  input: Packets = NO_PACKETS;
  /** How many rules of the table jump or go to it. */
  calls = 0;
  /** Walked at its single call rather than summarised (see the module comment). */
  inlined = false;
  /** How many inlined walks its walk is nested in (0 unless inlined). */
  inlineDepth = 0;
  /** The fields it or the chains it calls can rewrite (user chains, once known). */
  rewrites: ReadonlySet<number> = NO_REWRITES;
  /**
   * Walked at each of its few calls with what the call sends, instead of being summarised for
   * every packet (see FEW_CALLS); it gets a summary only if the table runs out of such walks.
   */
  walkedAtCalls = false;
  /** Whether the top-down pass has walked it and given its diagnostics. */
  done = false;
  /** The lines it depends on (`shapeOf`), when memos are used or kept. */
  shape: Int32Array | undefined = undefined;
  /** The last analysis's memo of the chain, when the chain and all it calls are as they were then. */
  memo: ChainMemo | undefined = undefined;
  /** The lines of the rules calling it (`referencesOf`), when memos are used or kept. */
  references: Int32Array | undefined = undefined;
  /** Whether those are as they were too: its recorded walks may then be replayed, findings included. */
  sameReferences = false;
  /** Its summary walk, as recorded (or replayed) for the next memo. */
  summaryRecord: SummaryRecord | undefined = undefined;
  constructor(readonly chain: Chain) {}
}

/** What a user chain gives back to its caller for any packet. */
interface Summary {
  readonly returned: Space;
  readonly rewrites: ReadonlySet<number>;
  /** False when the chain's walk merged pieces: `returned` is then a superset. */
  readonly exact: boolean;
}

/** The packets entering a chain or matched by a rule, and whether they are exact. */
interface Packets {
  readonly space: Space;
  readonly exact: boolean;
}

const NO_PACKETS: Packets = { space: NOTHING, exact: true };
const NO_PACKETS_INEXACT: Packets = { space: NOTHING, exact: false };
/**
 * Marks for "some packets" where only that matters (see visitChain): a space that is not empty but
 * stands for no particular packets, never to be intersected with anything.
 */
const SOME: Space = [[]];
const SOME_PACKETS: Packets = { space: SOME, exact: true };
const SOME_PACKETS_INEXACT: Packets = { space: SOME, exact: false };

/** A reason to skip a whole table, with the message saying why. */
class Skip extends Error {}

/** Work that pauses at safe points: each `yield` is a chance to let others run or to stop. */

/** Decides when the analysis pauses, and measures its own running time (not the pauses). */
class Clock {
  private sliceStart = performance.now();
  private active = 0;
  private ticks = 0;
  constructor(private readonly sliceMs: number) {}
  /** Whether the current slice is used up; cheap enough for inner loops (it reads the time rarely). */
  due(): boolean {
    return (++this.ticks & 15) === 0 && performance.now() - this.sliceStart >= this.sliceMs;
  }
  /** Running time so far, pauses excluded. */
  elapsed(): number {
    return this.active + performance.now() - this.sliceStart;
  }
  pause(): void {
    this.active += performance.now() - this.sliceStart;
  }
  resume(): void {
    this.sliceStart = performance.now();
  }
}

/** Targets that neither stop the packet nor change a modelled field. */
const PURE_CONTINUE = new Set(['LOG', 'NFLOG', 'ULOG', 'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CONNSECMARK', 'DSCP', 'TOS', 'TTL', 'HL', 'IDLETIMER', 'TCPMSS', 'TEE', 'TRACE', 'LED', 'RATEEST', 'SECMARK', 'TCPOPTSTRIP', 'ECN', 'NETMAP']);

/** The tags of findings about dead rules (readonly and shared: a big dump has thousands). */
const UNNECESSARY: readonly 'unnecessary'[] = ['unnecessary'];

/** No dimension: shared by the many rules that rewrite nothing. */
const NO_DIMS: readonly number[] = [];

/** Runs the analysis over every table of the model, at once. */
export function analyse(model: Model, options: AnalysisOptions = {}): AnalysisResult {
  return drain(analysisSteps(model, options, new Clock(Number.POSITIVE_INFINITY)));
}

/**
 * Runs the analysis in slices of about `yieldEveryMs`, giving the event loop back between them
 * (through `setImmediate`, so pending I/O such as an editor's next edit is handled first). The
 * result is the same as `analyse`'s; the time limit counts only the analysis's own slices. When
 * the signal aborts, the work stops at the next pause and the promise rejects with its reason.
 */
export async function analyseAsync(model: Model, options: AsyncAnalysisOptions = {}): Promise<AnalysisResult> {
  const clock = new Clock(options.yieldEveryMs ?? 10);
  const steps = analysisSteps(model, options, clock);
  const signal = options.signal;
  try {
    for (;;) {
      // Pause first too: what the caller does right after starting the analysis (the language
      // server sends the version's validity diagnostics) then goes out before the first slice.
      await new Promise<void>((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      clock.resume();
      const r = steps.next();
      clock.pause();
      if (r.done) return r.value;
    }
  } finally {
    // An abandoned analysis releases what its generator holds.
    steps.return(undefined as never);
  }
}

/** The limits of one run, after the effort multiplier. */
interface Limits {
  readonly budget: number;
  readonly timeLimit: number;
  readonly pairwise: number;
  readonly pieces: number | undefined;
  readonly effort: number;
  /** Appended to messages about limits. */
  readonly hint: string;
}

function limitsOf(options: AnalysisOptions): Limits {
  const effort = options.effort !== undefined && options.effort > 0 ? options.effort : 1;
  return {
    budget: options.budget ?? DEFAULT_BUDGET * effort,
    timeLimit: options.timeLimitMs ?? DEFAULT_TIME_MS * effort,
    pairwise: options.pairwiseLimit ?? Math.round(DEFAULT_PAIRWISE * effort),
    pieces: options.pieceLimit,
    effort,
    hint: options.raiseHint ?? 'raise the analysis effort (the `effort` option) to go further',
  };
}

/**
 * The last line of table i as the analysis sees it: its COMMIT, or without one the next table's
 * header (where the missing COMMIT is reported), or the end of the file. The table's error lines
 * up to there decide whether it is analysed; its findings all lie up to there.
 */
export function tableEnd(model: Model, i: number): number {
  return model.tables[i].commitLine ?? model.tables[i + 1]?.line ?? Number.MAX_SAFE_INTEGER;
}

function* analysisSteps(model: Model, options: AnalysisOptions, clock: Clock): Steps<AnalysisResult> {
  const diagnostics: Diagnostic[] = [];
  const rules = new Map<number, RuleReach>();
  const limits = limitsOf(options);
  const errorLines = options.errorLines ? [...options.errorLines].sort((a, b) => a - b) : [];
  let work = 0;
  // Memos need the text to compare rules with, and are not kept for results they cannot replay
  // (every rule's packets, entry packets given as a function).
  // A copy: the memo compares the next version's lines with these, and the caller may change its array.
  const memoLines = options.lines !== undefined && (options.remember || options.previous) && options.reachability === false && options.entry === undefined ? options.lines.slice() : undefined;
  const previous = memoLines ? options.previous : undefined;
  const memos = memoLines && options.remember ? new Map<string, TableMemo>() : undefined;
  const walks = { total: 0, replayed: 0 };
  for (let i = 0; i < model.tables.length; i++) {
    const t = model.tables[i];
    const key = tableKey(i, t.name);
    if (!t.known) continue;
    if (options.onlyTables && !options.onlyTables.has(i)) {
      // A table left out keeps its memo: each memo compares rules with its own version's lines.
      const kept = previous?.tables.get(key);
      if (kept && memos) memos.set(key, kept);
      continue;
    }
    const end = tableEnd(model, i);
    const header = lineRange(t.line, 0, t.headerArg.end);
    // A table with errors is not analysed: iptables-restore refuses it, and its error diagnostics
    // already tell the user what to fix first. One note on the header says why nothing is checked.
    const firstError = errorLines.find((l) => l >= t.line && l <= end);
    if (firstError !== undefined) {
      diagnostics.push({
        range: header,
        severity: 'information',
        code: 'analysis-skipped',
        message: `rule-set analysis skipped for table ${t.name}: the table has errors (the first on line ${firstError + 1}), and iptables-restore refuses a table with errors as a whole; its rules are checked for reachability once the errors are fixed`,
      });
      continue;
    }
    const found: Diagnostic[] = [];
    const reached = new Map<number, RuleReach>();
    try {
      const memo = memoLines ? { previous: previous?.tables.get(key), lines: memoLines, keep: memos ? (m: TableMemo) => memos.set(key, m) : undefined, walks } : undefined;
      work += yield* analyseTable(t, model, options, limits, clock, found, reached, memo);
      // Not push(...found): spreading overflows the stack past about 150,000 findings. Indexed
      // loops and forEach: in a generator, `for … of` allocates a result object (and for a map an
      // entry array) per element.
      for (let i = 0; i < found.length; i++) diagnostics.push(found[i]);
      reached.forEach((r, k) => rules.set(k, r));
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      diagnostics.push({
        range: header,
        severity: 'information',
        code: 'analysis-skipped',
        message: `rule-set analysis skipped for table ${t.name}: ${e.message}; no rule of this table is checked for reachability`,
      });
    }
  }
  // Chains are analysed callers first; report in document order (stable for one position).
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { diagnostics, rules, work, memo: memos ? { tables: memos } : undefined, walks: memoLines ? walks : undefined };
}

function lineRange(line: number, start: number, end: number): Range {
  return { start: { line, character: start }, end: { line, character: end } };
}

const ruleRange = (r: Rule): Range => {
  // A rule's span is computed on each access: read it once.
  const sp = r.span;
  return lineRange(sp.line, sp.start, sp.end);
};

/** The state shared by the walks of one table. */
interface TableContext {
  readonly v: Vocabulary;
  readonly clock: Clock;
  readonly spend: (n: number) => void;
  readonly pieceLimit: number;
  /** See `AnalysisOptions.projectionThreshold`. */
  readonly small: number;
  /** Chains whose packets had to be merged into larger pieces, with the number of pieces seen. */
  readonly coarsened: Map<Chain, number>;
  /**
   * Walks a chain with what one call sends it, without recording anything, and gives back what it
   * returns (set once the table's walks are defined). Used at the calls of summarised chains that
   * rewrite packets: their summary cannot tell which packets kept their values.
   */
  walkAtCall?: (x: ChainState, sent: Space, exact: boolean) => Steps<Packets>;
  /** How many more such walks the table may make before falling back to the summaries (sound, less exact). */
  callWalks: number;
  /** How many more walks at the calls of chains called from few places (then their summaries are used). */
  fewCallWalks: number;
  /** How many such walks the current one is nested in. */
  atCallDepth: number;
  /** The summary of a chain, computed on first need (set once the table's walks are defined). */
  summaryOf?: (x: ChainState) => Steps<Summary>;
  /** What walks do, in order, for the memos (memo.ts); undefined when no memo is used or kept. */
  readonly log: WalkLog | undefined;
}

/** The effects of walks, in the order they happen, for the memos: a record keeps a slice. */
interface WalkLog {
  readonly events: WalkEvent[];
  /** The summaries of chains walked at their calls used as they were (see WalkEffects.needs). */
  readonly needs: string[];
  /** The walks with incoming packets, each once it ends (so a walk within a walk comes first). */
  readonly visits: [string, VisitRecord][];
}

/** The memos of one table: what the last analysis left, and where to leave this one's. */
interface TableMemoIO {
  readonly previous: TableMemo | undefined;
  readonly lines: readonly string[];
  readonly keep: ((m: TableMemo) => void) | undefined;
  /** Walks (summaries and visits) made or replayed, and replayed. */
  readonly walks: { total: number; replayed: number };
}

/** Keeps a space within the piece limit, noting the chain where it had to be merged. */
function bounded(ctx: TableContext, c: Chain, s: Space, logged = true): { space: Space; coarsened: boolean } {
  if (s.length <= ctx.pieceLimit) return { space: s, coarsened: false };
  ctx.spend(s.length * 4);
  if (!ctx.coarsened.has(c)) ctx.coarsened.set(c, s.length);
  // Walks log it for their memos; the joins of what callers send are redone when a memo is replayed.
  if (logged) ctx.log?.events.push({ merged: c.name, pieces: s.length });
  return coarsen(s, ctx.pieceLimit);
}

/** Whether a rule matches every packet for sure (no condition, or none that narrows anything). */
function unconditional(f: Facts, v: Vocabulary): boolean {
  if (f.rs.approximated || f.rs.space.length !== 1) return false;
  return f.rs.space[0].every((x, d) => isFull(x, v.dims.max[d]));
}

/**
 * The distinctions a rule itself makes between packets: the bounds of its match, and every mark
 * value when a MARK maps marks (rather than setting them outright). Computed when a projector first
 * needs them, then kept once for all the rules that share the reading.
 */
function readsOf(f: Facts, v: Vocabulary): Distinctions {
  // Alike rules share a reading (RuleReader), and so its distinctions.
  let d = f.reads.distinctions;
  if (!d) f.reads.distinctions = d = distinctionsOf(f.rs.space, v.dims, targetReads(f.target, v));
  return d;
}

/**
 * The dimensions whose every value a rule's target reads: a rewrite that keeps part of the value
 * (a MARK or CONNMARK operation keeps the bits outside its mask, a SET target the lookups of
 * other sets) needs the values told apart up to it.
 */
function targetReads(t: TargetReading | undefined, v: Vocabulary): number {
  if ((t?.name === 'MARK' && t.mark !== undefined) || t?.ctMark !== undefined || t?.copiesMark !== undefined) return 1 << D.mark;
  if (t?.name === 'SET' && setLookupBitsOf(v, t.changesSets ?? []) !== 0) return 1 << D.sets;
  return 0;
}

/** The words for the packets of a one-cube rule ("TCP packet to port 22 …"), worked out once per reading. */
function describedOf(f: Facts, v: Vocabulary): string {
  return (f.reads.described ??= describeCube(f.rs.space[0], v));
}

/**
 * The distinctions a chain and the chains it calls make, computed once per chain: callees first,
 * with an explicit stack (a line of thousands of chains must not overflow the call stack).
 */
function reachOf(s: ChainState, v: Vocabulary): Distinctions {
  return drain(reachSteps(s, v, undefined));
}

/**
 * `reachOf`, pausing when `clock` says so: the first reach asked for in a big table works out the
 * reach of most of its chains (182 ms on the 5,000-port dump, which held the server's requests).
 */
function* reachSteps(s: ChainState, v: Vocabulary, clock: Clock | undefined): Steps<Distinctions> {
  const stack: ChainState[] = [s];
  while (stack.length > 0) {
    if (clock?.due()) yield;
    const x = stack[stack.length - 1];
    if (x.reach) {
      stack.pop();
      continue;
    }
    // Each callee once (marked while this chain's callees are gathered).
    // Indexed loops (see analysisSteps).
    const callees: ChainState[] = [];
    const fs = x.facts;
    for (let i = 0; i < fs.length; i++) {
      const y = fs[i].callee;
      if (y && !y.gathering) {
        y.gathering = true;
        callees.push(y);
      }
    }
    for (let i = 0; i < callees.length; i++) callees[i].gathering = false;
    const waiting = callees.filter((y) => !y.reach);
    if (waiting.length > 0) {
      for (let i = 0; i < waiting.length; i++) stack.push(waiting[i]);
      continue;
    }
    stack.pop();
    const parts: Distinctions[] = [];
    for (let i = 0; i < fs.length; i++) parts.push(readsOf(fs[i], v));
    for (let i = 0; i < callees.length; i++) parts.push(callees[i].reach!);
    x.reach = joinDistinctions(parts, v.dims.max.length);
  }
  return s.reach!;
}

/**
 * The projector of a chain, built on first use: each rule uses its own distinctions, for the
 * packets it matches; a called chain uses its whole reach, at the last call, for the packets the
 * calls send it. Pauses between called chains (a big chain calls thousands).
 */
function* projectorSteps(ctx: TableContext, s: ChainState): Steps<Projector> {
  if (s.projector) return s.projector;
  const uses: Use[] = [];
  const sites = new Map<ChainState, { at: number; scope: Cube[]; calls: { at: number; scope: Space }[] }>();
  s.facts.forEach((f, k) => {
    uses.push({ at: k, distinctions: readsOf(f, ctx.v), scope: f.rs.space });
    if (!f.callee) return;
    const site = sites.get(f.callee);
    if (site) {
      site.at = k;
      for (const x of f.rs.space) site.scope.push(x);
      site.calls.push({ at: k, scope: f.rs.space });
    } else sites.set(f.callee, { at: k, scope: [...f.rs.space], calls: [{ at: k, scope: f.rs.space }] });
  });
  for (const [callee, site] of sites) {
    uses.push({ at: site.at, distinctions: yield* reachSteps(callee, ctx.v, ctx.clock), scope: site.scope, calls: site.calls });
    if (ctx.clock.due()) yield;
  }
  // Not counted as work: a projector is built once per walk at most, and whether a chain's
  // projector is already built depends on which walks a memo replayed (memo.ts).
  s.projector = yield* Projector.steps(ctx.v.dims, uses, INDEX_DIMS, () => ctx.clock.due());
  return s.projector;
}

/** `projectorSteps` at once, where pausing is not possible. */
function projectorOf(ctx: TableContext, s: ChainState): Projector {
  return drain(projectorSteps(ctx, s));
}

function* analyseTable(t: Table, model: Model, options: AnalysisOptions, limits: Limits, clock: Clock, out: Diagnostic[], rules: Map<number, RuleReach>, memo: TableMemoIO | undefined): Steps<number> {
  const chains = [...t.chains.values()].filter((c) => c.exists);
  let ruleCount = 0;
  for (const c of chains) ruleCount += c.rules.length;
  let work = 0;
  let calls = 0;
  const spend = (n: number): void => {
    work += n;
    if (work > limits.budget) throw new Skip(`it needs more than ${limits.budget.toLocaleString('en')} steps, the analysis's work limit per table (${limits.hint})`);
    // Reading the clock costs more than a step: do it now and then.
    if ((++calls & 255) === 0 && clock.elapsed() > limits.timeLimit) throw new Skip(`it runs longer than ${limits.timeLimit / 1000} s, the analysis's time limit (${limits.hint})`);
  };
  const pieceLimit = limits.pieces ?? Math.min(MAX_PIECES, Math.max(MIN_PIECES, Math.floor((PIECE_WORK * limits.effort) / Math.max(1, ruleCount))));

  // Every rule is read once (its interpretation may be recomputed on each access on big files),
  // which also tells what the vocabulary must distinguish; the model's observer may have done it.
  const given = options.readings?.take(t);
  const collect = given?.collect ?? new VocabularyCollector(model.family);
  const readings: RuleReading[][] = [];
  // Indexed loops here and below: in a generator, `for … of` allocates a result object per
  // element (the iterator is not optimised away as in plain functions), a few per rule in all.
  for (let i = 0; i < chains.length; i++) {
    const rules = chains[i].rules;
    const rs: RuleReading[] = [];
    for (let k = 0; k < rules.length; k++) {
      const r = rules[k];
      rs.push(given?.readings[r.line - given.firstLine] ?? readRule(r, collect));
      if (clock.due()) yield;
    }
    readings.push(rs);
  }
  if (given && !given.told) given.readings.length = 0;
  const small = options.projectionThreshold ?? SMALL_CHAIN;
  // What the walks depend on besides the rules and the vocabulary: a memo made under other limits is not used.
  const params = `${pieceLimit}|${small}|${limits.pairwise}|${limits.budget}|${options.inlineSingleCalls !== false}|${options.overlapIndex !== false}|${options.fewCallsLongerThan ?? LONG_CHAIN}`;
  const built = collect.build();
  const reuse = memo?.previous && memo.previous.params === params && sameVocabulary(memo.previous.vocabulary, built) ? memo.previous : undefined;
  // The old vocabulary itself, when it is the same: what is cached per vocabulary stays valid.
  const v = reuse?.vocabulary ?? built;
  // The packet spaces of the rule texts the memo knows, and of the others once worked out.
  const spaces = memo && given ? new Map<RuleReading, RuleSpace>() : undefined;
  if (spaces && reuse && given) {
    for (const [text, reading] of given.byText) {
      const rs = reuse.spaces.get(text);
      if (rs) spaces.set(reading, rs);
    }
  }

  // Facts per rule, per chain.
  const states = new Map<Chain, ChainState>();
  // The same in the order of `chains`, for loops that may pause.
  const stateList: ChainState[] = [];
  for (let i = 0; i < chains.length; i++) {
    const st = new ChainState(chains[i]);
    states.set(chains[i], st);
    stateList.push(st);
  }
  // Rules that share a reading share its space and what follows from it.
  const shared = new Map<RuleReading, Facts>();
  for (let i = 0; i < chains.length; i++) {
    const c = chains[i];
    const rs = readings[i];
    const fs: Facts[] = [];
    for (let k = 0; k < c.rules.length; k++) {
      fs.push(factsOf(c.rules[k], rs[k], t, v, states, shared, spaces));
      if (clock.due()) yield;
    }
    stateList[i].facts = fs;
    readings[i] = [];
  }
  const textSpaces = new Map<string, RuleSpace>();
  if (given) {
    if (spaces && memo?.keep) {
      for (const [text, reading] of given.byText) {
        const rs = spaces.get(reading);
        if (rs) textSpaces.set(text, rs);
      }
    }
    if (!given.told) given.byText.clear();
  }
  // Chains called by a single rule are walked at that call (see the module comment).
  for (let i = 0; i < stateList.length; i++) {
    const fs = stateList[i].facts;
    for (let k = 0; k < fs.length; k++) {
      const callee = fs[k].callee;
      if (callee) callee.calls++;
    }
    if (clock.due()) yield;
  }
  if (options.inlineSingleCalls !== false) for (let i = 0; i < stateList.length; i++) stateList[i].inlined = stateList[i].calls === 1;
  const log: WalkLog | undefined = memo ? { events: [], needs: [], visits: [] } : undefined;
  const ctx: TableContext = { v, clock, spend, pieceLimit, small, coarsened: new Map(), callWalks: Math.ceil(CALL_WALKS * limits.effort), fewCallWalks: Math.ceil(CALL_WALKS * limits.effort), atCallDepth: 0, log };

  // Callees first: a topological order of the jump graph (loops make the table unanalysable).
  // A depth-first search with its own stack: a line of thousands of chains, each jumping to the
  // next, must not overflow the call stack.
  const order: ChainState[] = [];
  for (let i = 0; i < stateList.length; i++) {
    const root = stateList[i];
    if (root.visit !== 0) continue;
    const path: { s: ChainState; k: number; last: ChainState | undefined }[] = [{ s: root, k: 0, last: undefined }];
    root.visit = 1;
    while (path.length > 0) {
      const top = path[path.length - 1];
      const fs = top.s.facts;
      let next: ChainState | undefined;
      while (top.k < fs.length && !next) {
        // Consecutive calls of one chain are common (Neutron's per-port jumps): look once.
        const x = fs[top.k++].callee;
        if (!x || x === top.last) continue;
        top.last = x;
        if (x.visit === 1) {
          const names = path.map((p) => p.s);
          throw new Skip(`its chains jump in a loop (${[...names.slice(names.indexOf(x)), x].map((y) => y.chain.name).join(' → ')}), which the kernel refuses`);
        }
        if (x.visit === 0) next = x;
      }
      if (next) {
        next.visit = 1;
        path.push({ s: next, k: 0, last: undefined });
        continue;
      }
      path.pop();
      top.s.visit = 2;
      order.push(top.s);
      if (clock.due()) yield;
    }
  }
  // Chains inlined within chains inlined within … are walked within one another: beyond a depth,
  // they are summarised instead, so that the nesting of walks stays bounded (callers come first).
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i];
    const fs = s.facts;
    for (let k = 0; k < fs.length; k++) {
      const x = fs[k].callee;
      if (!x || !x.inlined) continue;
      x.inlineDepth = s.inlineDepth + 1;
      if (x.inlineDepth > MAX_INLINE_DEPTH) {
        x.inlined = false;
        x.inlineDepth = 0;
      }
    }
  }

  // Bottom-up: the fields each chain and its callees test, and whether the chain can give any
  // packet back to its caller (a RETURN, a goto, or a last rule that does not stop every packet).
  for (let i = 0; i < order.length; i++) {
    const s = order[i];
    const fs = s.facts;
    let dims = 0;
    let returns = false;
    for (let k = 0; k < fs.length; k++) {
      const f = fs[k];
      dims |= f.tests;
      if (f.callee) dims |= f.callee.reachDims;
      if (f.kind === 'return' || f.kind === 'goto') returns = true;
    }
    s.reachDims = dims;
    const last = fs[fs.length - 1];
    const stopsAll = last !== undefined && unconditional(last, v) && (last.kind === 'terminal' || (last.kind === 'jump' && !last.callee!.canReturn));
    s.canReturn = returns || !stopsAll;
    if (clock.due()) yield;
  }

  // Top-down: the fields a caller still tests once a chain gives packets back; a summary keeps
  // those exact and may forget the rest, except the fields the summarised chain tests itself: a
  // call intersects what it sends with the summary, so a summary widened in a field the chain
  // tests would give back packets the chain drops. The chains a summarised chain calls keep them
  // too, since what they give back makes up the summary.
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i];
    const fs = s.facts;
    const mine = s.chain.builtin ? 0 : s.afterReturn | (s.inlined ? 0 : s.reachDims);
    // The fields tested after each position, by the chain's rules and the chains they call.
    let after = 0;
    for (let k = fs.length - 1; k >= 0; k--) {
      const f = fs[k];
      if (f.callee) f.callee.afterReturn |= f.kind === 'goto' ? mine : after | (s.canReturn ? mine : 0);
      after |= f.tests | (f.callee ? f.callee.reachDims : 0);
    }
  }

  // Bottom-up: what each user chain gives back for any packet, and which fields it can rewrite.
  // Chains called once are walked at their call instead, with what it sends.
  const everything: Space = [universe(v.dims)];
  const inlineForSummary = function* (x: ChainState, sent: Space, exact: boolean): Steps<Packets> {
    if (!x.canReturn) return NO_PACKETS;
    const r = yield* walk(ctx, x, sent, exact, x.afterReturn, undefined, inlineForSummary);
    return { space: r.returned, exact: r.exact };
  };
  ctx.walkAtCall = inlineForSummary;

  // The memos (memo.ts): where the work, the budgets and the logs stood when a walk began, what
  // the walk did since, and how a recorded walk's effects are replayed. Some work is not counted
  // in the records of the walks it happens within (see WalkEffects): the joins of sent packets,
  // and the summaries worked out on the way, with the walks at calls they used.
  let contributionWork = 0;
  const inSummaries = { work: 0, callWalks: 0, fewCallWalks: 0, count: 0 };
  const markOf = (l: WalkLog) => ({
    work,
    contributionWork,
    summaryWork: inSummaries.work,
    summaryCallWalks: inSummaries.callWalks,
    summaryFewCallWalks: inSummaries.fewCallWalks,
    summaries: inSummaries.count,
    callWalks: ctx.callWalks,
    fewCallWalks: ctx.fewCallWalks,
    events: l.events.length,
    needs: l.needs.length,
    visits: l.visits.length,
    out: out.length,
  });
  type Mark = ReturnType<typeof markOf>;
  const effectsSince = (m: Mark, l: WalkLog): WalkEffects => {
    const allCallWalks = m.callWalks - ctx.callWalks;
    const allFewCallWalks = m.fewCallWalks - ctx.fewCallWalks;
    return {
      work: work - m.work - (contributionWork - m.contributionWork) - (inSummaries.work - m.summaryWork),
      budgets: {
        callWalks: m.callWalks,
        fewCallWalks: m.fewCallWalks,
        usedCallWalks: allCallWalks - (inSummaries.callWalks - m.summaryCallWalks),
        usedFewCallWalks: allFewCallWalks - (inSummaries.fewCallWalks - m.summaryFewCallWalks),
        allCallWalks,
        allFewCallWalks,
        lazy: inSummaries.count !== m.summaries,
      },
      events: l.events.slice(m.events),
      needs: l.needs.slice(m.needs),
    };
  };
  // What a walk sends a chain walked on its own joins what the chain's other callers send.
  const contribute = (callee: ChainState, hit: Space, exact: boolean): void => {
    const w = work;
    const before = callee.input;
    // Hits of consecutive calls are steps of one set ("to port k, from any port but 1 … k-1"): let them fold up.
    let joined = union(before.space, hit, true);
    // What enters a chain from many places differs in ways the chain may not test: forget those.
    // So too when the pieces are few but hold many intervals in a field the chain does not test:
    // the interfaces of a dispatch chain's calls gather in one cube, one interval each when they
    // do not come in the vocabulary's order, and every later join went through them again.
    if (joined.length > small || manyUntested(joined, reachOf(callee, v))) joined = projectorOf(ctx, callee).projectEntry(joined);
    const kept = bounded(ctx, callee.chain, joined, false);
    callee.input = { space: kept.space, exact: before.exact && exact && !kept.coarsened };
    if (log) {
      log.events.push({ sent: callee.chain.name, hit, exact });
      contributionWork += work - w;
    }
  };
  const stateNamed = (name: string): ChainState | undefined => {
    const c = t.chains.get(name);
    return c && states.get(c);
  };
  // A recorded walk takes the same decisions again if the budgets allow and the summaries it used are known.
  const replayable = (e: WalkEffects): boolean => {
    if (!budgetsAllow(e.budgets, ctx.callWalks, ctx.fewCallWalks)) return false;
    for (const name of e.needs) if (!stateNamed(name)?.summary) return false;
    return true;
  };
  const replayEffects = function* (e: WalkEffects, l: WalkLog): Steps<void> {
    spend(e.work);
    ctx.callWalks -= e.budgets.usedCallWalks;
    ctx.fewCallWalks -= e.budgets.usedFewCallWalks;
    // In their order: the first merge of a chain names its number of pieces.
    for (const x of e.events) {
      if ('merged' in x) {
        const chain = t.chains.get(x.merged);
        if (chain && !ctx.coarsened.has(chain)) ctx.coarsened.set(chain, x.pieces);
        l.events.push(x);
      } else if ('sent' in x) {
        const callee = stateNamed(x.sent);
        if (callee) contribute(callee, x.hit, x.exact);
      } else {
        // Worked out here unless a walk before needed it already (summaryOf logs the event).
        const y = stateNamed(x.summarised);
        if (y) yield* ctx.summaryOf!(y);
      }
    }
  };

  ctx.summaryOf = function* (x: ChainState): Steps<Summary> {
    if (x.summary) return x.summary;
    const m = log && markOf(log);
    const rec = x.memo?.summary;
    if (memo) memo.walks.total++;
    if (rec && log && replayable(rec)) {
      memo!.walks.replayed++;
      yield* replayEffects(rec, log);
      x.summary = { returned: rec.returned, rewrites: x.rewrites, exact: rec.exact };
      x.summaryRecord = rec;
    } else {
      const { returned, exact } = yield* walk(ctx, x, everything, true, x.afterReturn | x.reachDims, undefined, inlineForSummary);
      x.summary = { returned, rewrites: x.rewrites, exact };
      if (m && log) x.summaryRecord = { ...effectsSince(m, log), returned, exact };
      // Small chains' projectors are rebuilt when needed rather than held until the next phase.
      if (x.facts.length <= small) x.projector = undefined;
    }
    if (m && log) {
      // The walks this one happens within record the summary as one event, not its effects: a
      // replay of theirs works it out again only if no walk before needed it (WalkEffects).
      inSummaries.work = m.summaryWork + (work - m.work) - (contributionWork - m.contributionWork);
      inSummaries.callWalks = m.summaryCallWalks + (m.callWalks - ctx.callWalks);
      inSummaries.fewCallWalks = m.summaryFewCallWalks + (m.fewCallWalks - ctx.fewCallWalks);
      inSummaries.count = m.summaries + 1;
      log.events.length = m.events;
      log.needs.length = m.needs;
      log.events.push({ summarised: x.chain.name });
    }
    return x.summary;
  };
  // A chain is as it was in the last analysis when its lines, its flags and all it calls are.
  const flags = new Map<ChainState, string>();
  // A chain that changed leaves its callers' walks as they were when it is walked on its own
  // (neither within them nor at each of their calls) and its summary, reach and flags are as they
  // were: that is all those walks see of it (an edit that adds no distinction to a dispatched chain
  // leaves the chains dispatching to it alone).
  const sameFromOutside = (x: ChainState): boolean => {
    if (x.memo) return true;
    if (x.inlined || x.walkedAtCalls || (x.rewrites.size > 0 && x.canReturn)) return false;
    const p = reuse?.chains.get(x.chain.name);
    if (!p?.reach || p.flags !== flags.get(x)) return false;
    if (x.canReturn) {
      const was = p.summary;
      const now = x.summary;
      if (!was || !now || was.exact !== now.exact || !sameSpace(was.returned, now.returned)) return false;
    }
    return sameDistinctions(p.reach, reachOf(x, v));
  };
  const unchanged = (s: ChainState, f: string): ChainMemo | undefined => {
    const p = reuse?.chains.get(s.chain.name);
    if (!p || !memo || p.flags !== f || !sameLines(p.shape, s.shape!, reuse!.lines, memo.lines)) return undefined;
    for (const x of s.facts) if (x.callee && !sameFromOutside(x.callee)) return undefined;
    if (p.reach) s.reach = p.reach;
    s.sameReferences = sameLines(p.references, s.references!, reuse!.lines, memo.lines);
    return p;
  };
  const fewCallsLongerThan = options.fewCallsLongerThan ?? LONG_CHAIN;
  for (let i = 0; i < order.length; i++) {
    const s = order[i];
    if (!s.chain.builtin) {
      let rewrites: Set<number> | undefined;
      const fs = s.facts;
      for (let k = 0; k < fs.length; k++) {
        const f = fs[k];
        if (f.rewrites.length > 0) for (const d of f.rewrites) (rewrites ??= new Set()).add(d);
        if (f.callee && f.callee.rewrites.size > 0) for (const d of f.callee.rewrites) (rewrites ??= new Set()).add(d);
      }
      s.rewrites = rewrites ?? NO_REWRITES;
      // A long chain called from few places is walked at each call (see FEW_CALLS).
      if (!s.inlined && s.canReturn && s.calls <= FEW_CALLS && s.facts.length > fewCallsLongerThan) s.walkedAtCalls = true;
    }
    if (memo) {
      s.shape = shapeOf(s.chain);
      s.references = referencesOf(s.chain);
      const f = flagsOf(s);
      flags.set(s, f);
      s.memo = unchanged(s, f);
    }
    if (s.chain.builtin || s.inlined || s.walkedAtCalls) continue;
    if (!s.canReturn) {
      // Nothing comes back from a chain that stops every packet: no walk needed.
      s.summary = { returned: NOTHING, rewrites: s.rewrites, exact: true };
      continue;
    }
    yield* ctx.summaryOf(s);
  }

  // A recorded walk of an unchanged chain with the same packets: its effects, without the walk.
  const replayVisit = function* (s: ChainState, rec: VisitRecord, l: WalkLog): Steps<void> {
    yield* replayEffects(rec, l);
    for (const d of rec.diagnostics) out.push(d);
    for (const [name, r] of rec.nested) {
      const x = stateNamed(name);
      if (x) x.done = true;
      l.visits.push([name, r]);
    }
    l.visits.push([s.chain.name, rec]);
  };
  // Top-down: the packets that reach each chain and each rule, callers first; each chain's
  // diagnostics right after its walk, so that only the hits of the chains being walked are held.
  // A chain called once is walked at its call, within its caller's walk.
  const visitChain = function* (s: ChainState, given: Packets, keep: number): Steps<Packets> {
    s.done = true;
    const c = s.chain;
    const fs = s.facts;
    let input = given;
    if (c.builtin && c.hook) input = { space: options.entry?.(t.name, c.hook, v) ?? hookEntry(v, c.hook, t.name), exact: true };
    if (memo) memo.walks.total++;
    if (s.memo && s.sameReferences && log) {
      for (const rec of s.memo.visits) {
        if (rec.keep === keep && rec.inputExact === input.exact && replayable(rec) && sameSpace(rec.input, input.space)) {
          memo!.walks.replayed++;
          yield* replayVisit(s, rec, log);
          // A caller tells by identity whether a chain gave back all it was sent (see walk).
          return { space: rec.returnsInput ? input.space : rec.returned, exact: rec.exact };
        }
      }
    }
    const m = log && markOf(log);
    const hits: (Packets | undefined)[] = new Array<Packets | undefined>(fs.length);
    // Built when first needed: chains no packet reaches need none.
    let planned: PairwisePlan | undefined;
    const plan = (): PairwisePlan => (planned ??= pairwisePlan(ctx, s, limits, options.overlapIndex !== false));
    // The diagnostics need of most hits only whether they are empty: the packets themselves only
    // for the rules their checks start from (see chainDiagnostics), terminal rules only where the
    // chain is compared pairwise. Keeping a shared mark for the others keeps big chains' walks
    // from holding thousands of sets (garbage collection took twice as long with them on the
    // 5,000-port Neutron dump), unless the caller asked for every rule's packets.
    const every = options.reachability !== false;
    // A long chain's plan indexes its rules: worked out here, where the walk may pause.
    if (!(every || c.rules.length <= limits.pairwise || isEmpty(input.space))) planned = yield* pairwisePlanSteps(ctx, s, limits, options.overlapIndex !== false, true);
    const terminalHits = every || c.rules.length <= limits.pairwise || isEmpty(input.space) || plan().pairwise;
    const keeps = (f: Facts): boolean => every || (f.rs.approximated && f.kind !== 'continue') || (terminalHits && f.kind === 'terminal');
    let back = NO_PACKETS;
    if (!isEmpty(input.space)) {
      const r = yield* walk(
        ctx,
        s,
        input.space,
        input.exact,
        keep,
        (k, hit, exact) => {
          const f = fs[k];
          hits[k] = keeps(f) ? { space: hit, exact } : isEmpty(hit) ? (exact ? NO_PACKETS : NO_PACKETS_INEXACT) : exact ? SOME_PACKETS : SOME_PACKETS_INEXACT;
          const callee = f.callee;
          if (callee && !callee.inlined && !isEmpty(hit)) contribute(callee, hit, exact);
        },
        inlineForVisit,
      );
      back = { space: r.returned, exact: r.exact };
    }
    s.projector = undefined;
    if (options.reachability !== false) {
      c.rules.forEach((r, k) => {
        const h = hits[k] ?? { space: NOTHING, exact: input.exact };
        rules.set(r.line, { rule: r, chain: c, hit: h.space, approximated: fs[k].rs.approximated, exact: h.exact });
      });
    }
    yield* chainDiagnostics(ctx, s, input, hits, limits, plan, out);
    if (m && log) {
      const rec: VisitRecord = { ...effectsSince(m, log), input: input.space, inputExact: input.exact, keep, returned: back.space, returnsInput: back.space === input.space, exact: back.exact, diagnostics: out.slice(m.out), nested: log.visits.slice(m.visits) };
      log.visits.push([c.name, rec]);
    }
    return back;
  };
  const inlineForVisit = (x: ChainState, sent: Space, exact: boolean): Steps<Packets> => visitChain(x, { space: sent, exact }, x.afterReturn);
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i];
    // A chain called once was walked within its caller, unless no packet reached the call.
    if (s.done) continue;
    const input = s.input;
    s.input = NO_PACKETS;
    yield* visitChain(s, input, 0);
  }

  if (memo?.keep && log) {
    const visits = new Map<string, VisitRecord[]>();
    for (const [name, rec] of log.visits) {
      const list = visits.get(name);
      if (list) list.push(rec);
      else visits.set(name, [rec]);
    }
    const chainMemos = new Map<string, ChainMemo>();
    for (const s of states.values()) {
      // A chain in a loop stops the analysis before this; every chain has its shape and flags.
      chainMemos.set(s.chain.name, { shape: s.shape ?? shapeOf(s.chain), references: s.references ?? referencesOf(s.chain), flags: flags.get(s) ?? flagsOf(s), reach: s.reach, summary: s.summaryRecord, visits: visits.get(s.chain.name) ?? [] });
    }
    memo.keep({ lines: memo.lines, vocabulary: v, params, spaces: textSpaces, chains: chainMemos });
  }

  // Where pieces had to be merged, say so once per chain.
  for (const [c, pieces] of ctx.coarsened) {
    const at = c.declaration ? lineRange(c.declaration.line, c.declaration.start, c.declaration.end) : c.rules[0] ? ruleRange(c.rules[0]) : lineRange(t.line, 0, t.headerArg.end);
    out.push({
      range: at,
      severity: 'information',
      code: 'analysis-skipped',
      message: `the packets following chain ${c.name} split into ${pieces.toLocaleString('en')} pieces, more than the ${pieceLimit.toLocaleString('en')} the analysis tracks exactly in this table: it merges them into fewer, larger ones, so some unreachable rules in this chain and the chains it reaches may go unreported (no reachable rule is reported), and correlations there are not checked (${limits.hint})`,
    });
  }
  return work;
}

/** The lines of a chain's declaration (-1 without one) and of its rules: what its walks depend on. */
function shapeOf(c: Chain): Int32Array {
  const n = c.rules.length;
  const a = new Int32Array(1 + n);
  a[0] = c.declaration ? c.declaration.line : -1;
  for (let k = 0; k < n; k++) a[1 + k] = c.rules[k].line;
  return a;
}

/**
 * The lines of the rules that jump or go to a chain: its own findings name them when no packet
 * reaches it (unreachable-chain), but what it does for its callers does not depend on them.
 */
function referencesOf(c: Chain): Int32Array {
  const a = new Int32Array(c.references.length);
  for (let k = 0; k < a.length; k++) a[k] = c.references[k].line;
  return a;
}

/** Whether two sets of distinctions make the same cuts and read the same dimensions whole. */
function sameDistinctions(a: Distinctions, b: Distinctions): boolean {
  if (a === b) return true;
  if (a.whole !== b.whole || a.cuts.length !== b.cuts.length) return false;
  for (let d = 0; d < a.cuts.length; d++) {
    const x = a.cuts[d];
    const y = b.cuts[d];
    if (x === y) continue;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** Whether two lists of lines name the same lines, with the same text in both versions. */
function sameLines(a: Int32Array, b: Int32Array, oldLines: readonly string[], newLines: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] || (a[i] >= 0 && oldLines[a[i]] !== newLines[a[i]])) return false;
  return true;
}

/**
 * What the analysis derived for a chain from the whole table (how it is called, walked and
 * summarised, and its rules' kinds, which depend on the chains they name existing): a chain
 * whose lines are unchanged but whose callers changed these is walked again.
 */
function flagsOf(s: ChainState): string {
  let kinds = '';
  for (const f of s.facts) kinds += f.kind[0];
  return `${+s.inlined}${+s.walkedAtCalls}${+s.canReturn}|${s.afterReturn}|${s.reachDims}|${s.calls}|${[...s.rewrites].join(',')}|${kinds}`;
}

/** No rewritten dimension: shared by the many chains that rewrite nothing. */
const NO_REWRITES: ReadonlySet<number> = new Set();

/** Chains with more rules than this get an overlap index for their pairwise checks. */
const INDEXED_CHAIN = 64;

/** How a chain's rules are compared pairwise: whether at all, and which pairs may overlap. */
interface PairwisePlan {
  readonly pairwise: boolean;
  readonly index: OverlapIndex;
  /** An upper bound of the pairs the checks would compare (counted for chains past the pairwise limit only). */
  readonly pairs: number;
}

/**
 * The pairwise plan of a chain: chains up to the pairwise limit are compared in full; longer ones
 * too when the rules that may overlap make at most the limit's square of pairs (the work of
 * comparing every pair of a chain at the limit), counted over the rules the checks start from.
 */
function pairwisePlan(ctx: TableContext, s: ChainState, limits: Limits, indexed: boolean): PairwisePlan {
  return drain(pairwisePlanSteps(ctx, s, limits, indexed, false));
}

/** `pairwisePlan`, pausing (with `pause`) while it indexes a long chain. */
function* pairwisePlanSteps(ctx: TableContext, s: ChainState, limits: Limits, indexed: boolean, pause: boolean): Steps<PairwisePlan> {
  const fs = s.facts;
  const spaces = fs.map((f) => f.rs.space);
  const index = yield* OverlapIndex.steps(spaces, ctx.v.dims, INDEXED_CHAIN, pause ? () => ctx.clock.due() : () => false);
  // Without the index (for tests), the same chains are compared, every rule with every rule.
  const used = indexed ? index : OverlapIndex.none(spaces);
  if (fs.length <= limits.pairwise) return { pairwise: true, index: used, pairs: 0 };
  const pairs = index.pairs((k) => fs[k].kind === 'terminal' || (fs[k].rs.approximated && fs[k].kind !== 'continue'));
  return { pairwise: pairs <= limits.pairwise * limits.pairwise, index: used, pairs };
}

/** The diagnostics of one chain, from the packets entering it and those each rule matches. */
function* chainDiagnostics(ctx: TableContext, s: ChainState, input: Packets, hits: readonly (Packets | undefined)[], limits: Limits, planOf: () => PairwisePlan, out: Diagnostic[]): Steps<void> {
  const { v, spend, clock } = ctx;
  const c = s.chain;
  const fs = s.facts;
  if (isEmpty(input.space)) {
    if (!c.builtin && c.declaration && c.references.length > 0) {
      out.push({
        range: lineRange(c.declaration.line, c.declaration.start, c.declaration.end),
        severity: 'warning',
        code: 'unreachable-chain',
        message: `no packet ever reaches chain ${c.name}: every rule that jumps to it (line${c.references.length === 1 ? '' : 's'} ${c.references.map((r) => r.line + 1).join(', ')}) is itself unreachable`,
        related: c.references.map((r) => ({ range: ruleRange(r), message: 'unreachable jump to the chain' })),
        tags: UNNECESSARY,
      });
    }
    for (const r of c.rules) {
      out.push({
        range: ruleRange(r),
        severity: 'warning',
        code: 'unreachable-rule',
        message: c.references.length === 0 && !c.builtin ? `no packet reaches this rule: chain ${c.name} is never jumped to` : `no packet reaches this rule: chain ${c.name} is never reached`,
        tags: UNNECESSARY,
      });
    }
    return;
  }
  const plan = planOf();
  const pairwise = plan.pairwise;
  if (!pairwise && c.declaration) {
    out.push({
      range: lineRange(c.declaration.line, c.declaration.start, c.declaration.end),
      severity: 'information',
      code: 'analysis-skipped',
      message: `chain ${c.name} has ${c.rules.length.toLocaleString('en')} rules, more than the ${limits.pairwise.toLocaleString('en')} the analysis compares pairwise, and they may overlap in up to ${plan.pairs.toLocaleString('en')} pairs, more than the ${(limits.pairwise * limits.pairwise).toLocaleString('en')} it compares in one chain: its rules are checked for reachability, but not for redundancy, correlation or generalisation, and a rule with unmodelled matches is compared with the next ${APPROXIMATION_WINDOW} rules only (${limits.hint})`,
    });
  }
  for (let k = 0; k < fs.length; k++) {
    if (clock.due()) yield;
    const f = fs[k];
    const h = hits[k] ?? NO_PACKETS;
    const hit = h.space;
    // Rules that cannot overlap this one are left out of its comparisons (they would find nothing).
    if (isEmpty(hit)) {
      out.push(unreachableDiagnostic(c, fs, k, split(plan.index.near(k), k).before, input.space, v, spend));
      continue;
    }
    const approximated = f.rs.approximated && f.kind !== 'continue';
    // The other checks start only from these rules.
    if (!approximated && f.kind !== 'terminal') continue;
    const { before, after } = split(plan.index.near(k), k);
    if (approximated) {
      const window = pairwise ? fs.length : Math.min(fs.length, k + 1 + APPROXIMATION_WINDOW);
      for (const j of after) {
        if (j >= window) break;
        spend(1);
        if (overlaps(hit, fs[j].rs.space, fs[j].spaceDims)) {
          out.push({ range: ruleRange(f.rule), severity: 'information', code: 'approximated-rule', message: `${f.rs.unmodelled.join(', ')} ${f.rs.unmodelled.length === 1 ? 'is' : 'are'} not modelled: the analysis assumes this rule may or may not match, so it hides no later rule (such as line ${fs[j].rule.line + 1})` });
          break;
        }
      }
    }
    if (!pairwise) continue;
    const red = redundancy(c, fs, k, after, hit, spend);
    if (red) out.push(red);
    // Correlations compare hits: merged (larger) pieces could make them claim an overlap that is not there.
    if (input.exact && h.exact) out.push(...correlations(fs, k, before, input.space, hits, v, spend));
  }
}

/** The facts of one rule: its space, how its target continues, what it rewrites. */
function factsOf(r: Rule, reading: RuleReading, t: Table, v: Vocabulary, states: ReadonlyMap<Chain, ChainState>, shared: Map<RuleReading, Facts>, spaces: Map<RuleReading, RuleSpace> | undefined): Facts {
  // Rules that share a reading (RuleReader) differ only in the rule itself: work the rest out once.
  let x = shared.get(reading);
  if (!x) {
    let rs = spaces?.get(reading);
    if (!rs) {
      rs = spaceOf(reading, v);
      spaces?.set(reading, rs);
    }
    shared.set(reading, (x = factsOfReading(r, reading, rs, t, v, states)));
  }
  return x.rule === r ? x : new Facts(r, x.rs, x.kind, x.callee, x.transform, x.rewrites, x.action, x.target, x.tests, x.reads, x.spaceDims);
}

/** `factsOf` for the first rule with a given reading. */
function factsOfReading(r: Rule, reading: RuleReading, rs: RuleSpace, t: Table, v: Vocabulary, states: ReadonlyMap<Chain, ChainState>): Facts {
  const target = reading.target;
  let tests = targetReads(target, v);
  const spaceDims = rs.space.map((c) => constrainedDims(c, v.dims));
  for (const ds of spaceDims) for (const d of ds) tests |= 1 << d;
  const action = target?.action ?? '';
  const make = (kind: Kind, rewrites: readonly number[] = NO_DIMS, transform?: (s: Space) => Space, callee?: ChainState, space: RuleSpace = rs): Facts => new Facts(r, space, kind, callee, transform, rewrites, action, target, tests, {}, spaceDims);
  if (!target) return make('continue');
  if (target.name === 'RETURN') return make('return');
  if ((STANDARD_TARGETS as readonly string[]).includes(target.name)) return make('terminal');
  const ext = TARGET_BY_NAME.get(target.name);
  if (!target.chain && ext) {
    if (ext.terminating) return make('terminal');
    if (target.name === 'MARK') {
      const op = target.mark;
      const f = op ? markTransform(v, op.mask, op.xor) : undefined;
      const full = universe(v.dims)[D.mark];
      return make('continue', [D.mark], (s) => (f ? mapDimension(s, D.mark, f) : widen(s, D.mark, full)));
    }
    if (target.name === 'CONNMARK') {
      // An operation on the connection's mark is exact; a copy from one mark into the other may
      // give the variables of the destination it reaches any value (a packet without a connection
      // keeps its marks, which is one of those values).
      const op = target.ctMark;
      if (op) return make('continue', [D.mark], (s) => mapDimension(s, D.mark, markTransform(v, op.mask, op.xor, true)));
      const copy = target.copiesMark;
      if (copy) {
        const bits = markBitsUnder(v, copy.nfmask | copy.ctmask, copy.to === 'connection');
        return bits === 0 ? make('continue') : make('continue', [D.mark], (s) => forgetBits(s, D.mark, bits));
      }
      const full = universe(v.dims)[D.mark];
      return make('continue', [D.mark], (s) => widen(s, D.mark, full));
    }
    if (target.name === 'DNPT' || target.name === 'SNPT') {
      // The address changes (to another prefix, with one word adjusted for the checksum): later
      // rules may see any address in that field.
      const d = target.name === 'DNPT' ? D.dst : D.src;
      const full = universe(v.dims)[d];
      return make('continue', [d], (s) => widen(s, d, full));
    }
    if (target.name === 'SET') {
      // Adding or deleting may fail (a full set, an entry covered by a wider one), so afterwards
      // a lookup of the set may answer either way; mapping an entry's mark sets the mark.
      const bits = setLookupBitsOf(v, target.changesSets ?? []);
      const rewrites = [...(bits !== 0 ? [D.sets] : []), ...(target.mapsMark ? [D.mark] : [])];
      if (rewrites.length === 0) return make('continue');
      const fullMark = universe(v.dims)[D.mark];
      return make('continue', rewrites, (s) => {
        const out = bits !== 0 ? forgetBits(s, D.sets, bits) : s;
        return target.mapsMark ? widen(out, D.mark, fullMark) : out;
      });
    }
    if (target.name === 'CT' || target.name === 'NOTRACK') {
      const full = universe(v.dims)[D.state];
      return make('continue', [D.state], (s) => widen(s, D.state, full));
    }
    if (PURE_CONTINUE.has(target.name)) return make('continue');
  }
  const callee = t.chains.get(target.name);
  if (target.chain && callee && callee.exists && !callee.builtin) return make(target.goto ? 'goto' : 'jump', NO_DIMS, undefined, states.get(callee));
  // An unknown target: assume it may do anything to the packet and then let it continue.
  const widened = (s: Space): Space => widen(widen(s, D.mark, universe(v.dims)[D.mark]), D.state, universe(v.dims)[D.state]);
  return make('continue', [D.mark, D.state], widened, undefined, { ...rs, approximated: true, unmodelled: [...rs.unmodelled, `-j ${target.name}`] });
}

/**
 * Follows packets through one chain; calls `record` with every rule's matched packets (and
 * whether they are exact). Returns the packets that leave the chain to its caller. As the walk
 * passes the last rule that tells some packets apart, those packets are no longer kept apart
 * (relevance.ts), except in the fields `keep` names: those its callers test after it returns.
 */
function* walk(
  ctx: TableContext,
  s: ChainState,
  input: Space,
  inputExact: boolean,
  keep: number,
  record: ((k: number, hit: Space, exact: boolean) => void) | undefined,
  inline: (x: ChainState, sent: Space, exact: boolean) => Steps<Packets>,
): Steps<{ returned: Space; exact: boolean }> {
  const { v, spend, clock } = ctx;
  const c = s.chain;
  const fs = s.facts;
  let cur = input;
  let exact = inputExact;
  let returned: Space = NOTHING;
  // The projector is used only for walks where it pays: a long chain, or many pieces.
  let proj: Projector | undefined;
  let projected = cur;
  // What a jump gave back, appended to the packets left rather than merged with them, while a
  // projector is at work (see the 'jump' case); undefined otherwise.
  let appended: { left: Space; back: Space } | undefined;
  for (let k = -1; k < fs.length; k++) {
    if (k >= 0) {
      if (clock.due()) yield;
      if (isEmpty(cur)) {
        record?.(k, NOTHING, exact);
        continue;
      }
      const f = fs[k];
      const space = f.rs.space;
      spend(cur.length * (space.length || 1));
      const hit = intersect(cur, space, f.spaceDims);
      record?.(k, hit, exact);
      if (isEmpty(hit)) continue;
      // Packets an approximated rule might not match go on as they were.
      const rest = f.rs.approximated ? cur : undefined;
      switch (f.kind) {
        case 'terminal':
          cur = rest ?? subtract(cur, space, f.spaceDims);
          break;
        case 'continue': {
          if (!f.transform) break;
          const changed = f.transform(hit);
          // A rewrite that changes nothing here (the field is already unknown) keeps the packets as they are.
          if (!sameSpace(changed, hit)) cur = union(rest ?? subtract(cur, space, f.spaceDims), changed);
          break;
        }
        case 'return': {
          const b = bounded(ctx, c, union(returned, hit));
          if (b.coarsened) exact = false;
          returned = b.space;
          cur = rest ?? subtract(cur, space, f.spaceDims);
          break;
        }
        case 'jump':
        case 'goto': {
          const x = f.callee!;
          let back: Space;
          if (x.inlined) {
            // Called here only: walk it with what this call sends.
            // Hits are not simplified (see packet-space.ts intersect); what enters a chain is.
            const r = yield* inline(x, simplify(hit), exact);
            back = r.space;
            if (!r.exact) exact = false;
          } else if (x.walkedAtCalls && ctx.walkAtCall && ctx.fewCallWalks > 0 && ctx.atCallDepth < MAX_INLINE_DEPTH) {
            // Called from few places: walked with what this call sends (see FEW_CALLS), nested
            // no deeper than inlined chains are.
            ctx.fewCallWalks--;
            ctx.atCallDepth++;
            const r = yield* ctx.walkAtCall(x, simplify(hit), exact);
            ctx.atCallDepth--;
            back = r.space;
            if (!r.exact) exact = false;
          } else if (x.rewrites.size > 0 && x.canReturn && ctx.walkAtCall && ctx.callWalks > 0) {
            // A summary says which packets come back, but not which kept their values (the mark
            // a MARK rule of the chain did not set): walked with what this call sends, the chain
            // gives back exactly what it would.
            ctx.callWalks--;
            const r = yield* ctx.walkAtCall(x, simplify(hit), exact);
            back = r.space;
            if (!r.exact) exact = false;
          } else {
            // A summary a walk at a call would otherwise give: a replay needs it known (WalkEffects.needs).
            if (x.walkedAtCalls && x.summary) ctx.log?.needs.push(x.chain.name);
            const sum = x.summary ?? (ctx.summaryOf ? yield* ctx.summaryOf(x) : undefined);
            let sent = hit;
            if (sum) for (const d of sum.rewrites) sent = widen(sent, d, universe(v.dims)[d]);
            back = sum ? intersect(sent, sum.returned) : sent;
            if (sum && !sum.exact) exact = false;
          }
          spend(back.length + 1);
          if (f.kind === 'jump') {
            // A callee that gives back all it was sent leaves the packets as they were.
            if (back !== hit) {
              const left = rest ?? subtract(cur, space, f.spaceDims);
              // With a projector, the projection after this rule simplifies whatever it widens,
              // and in a dispatch chain it widens what came back nearly every time (the callee's
              // value is no longer told apart): the pieces are appended now and merged once,
              // there, instead of each being compared with every piece left here as well. When
              // the projection widens nothing, they are merged as before.
              if (proj) {
                cur = left.concat(back);
                appended = { left, back };
              } else cur = union(left, back);
            }
          } else {
            const b = bounded(ctx, c, union(returned, back));
            if (b.coarsened) exact = false;
            returned = b.space;
            cur = rest ?? subtract(cur, space, f.spaceDims);
          }
          break;
        }
      }
    }
    // Forget what the rest of the chain no longer tells apart (small chains and sets: not worth it).
    // A set of one or two cubes is worth it when they hold many intervals: a blocklist leaves a
    // hole per address it drops, which only projection merges again (without it, each rule of a
    // 30,000-address blocklist compared its address with thousands of intervals).
    if (!proj && (fs.length > ctx.small || cur.length > ctx.small) && (cur.length > Math.min(2, ctx.small) || intervalCount(cur) > MANY_INTERVALS)) {
      proj = yield* projectorSteps(ctx, s);
      proj.start(keep);
      projected = NOTHING;
    }
    if (proj && (proj.passed(k) || cur !== projected)) {
      spend(cur.length);
      const before = cur;
      cur = proj.project(cur, projected);
      if (cur === before && appended) cur = union(appended.left, appended.back);
      projected = cur;
    }
    appended = undefined;
    if (cur.length > ctx.pieceLimit) {
      const b = bounded(ctx, c, cur);
      if (b.coarsened) exact = false;
      cur = b.space;
    }
  }
  const b = bounded(ctx, c, union(returned, cur));
  return { returned: b.space, exact: exact && !b.coarsened };
}

/** Whether a cube of the space holds more than MANY_INTERVALS intervals in a field the distinctions make no cut in. */
function manyUntested(s: Space, d: Distinctions): boolean {
  for (const c of s) for (let i = 0; i < c.length; i++) if (c[i].length > 2 * MANY_INTERVALS && d.cuts[i].length === 0 && (d.whole & (1 << i)) === 0) return true;
  return false;
}

/** A walk builds its chain's projector once the packets it follows hold more intervals than this. */
const MANY_INTERVALS = 64;

/** The number of intervals in a space, over its cubes and dimensions. */
function intervalCount(s: Space): number {
  let n = 0;
  for (const c of s) for (const x of c) n += x.length >> 1;
  return n;
}

/**
 * The packets of `s` with the given bits of dimension `dim`'s values free: each may be either
 * (a rewrite that may or may not change them).
 */
function forgetBits(s: Space, dim: number, bits: number): Space {
  let out = s;
  for (let j = 0; j < 31; j++) {
    const bit = 1 << j;
    if ((bits & bit) !== 0) out = union(mapDimension(out, dim, (x) => x & ~bit), mapDimension(out, dim, (x) => x | bit));
  }
  return out;
}

/** Whether two spaces are written with the same cubes. */
function sameSpace(a: Space, b: Space): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    for (let d = 0; d < a[i].length; d++) if (!setEquals(a[i][d], b[i][d])) return false;
  }
  return true;
}

const VERBS: Readonly<Record<string, string>> = { ACCEPT: 'accepted', DROP: 'dropped', REJECT: 'rejected', RETURN: 'returned', QUEUE: 'queued', NFQUEUE: 'queued', DNAT: 'translated (DNAT)', SNAT: 'translated (SNAT)', MASQUERADE: 'masqueraded', REDIRECT: 'redirected' };

function verbOf(f: Facts): string {
  const t = f.target;
  if (!t) return 'handled';
  if (f.kind === 'jump') return `sent to chain ${t.name}`;
  if (f.kind === 'goto') return `sent (goto) to chain ${t.name}`;
  return VERBS[t.name] ?? `handled (${t.name})`;
}

function lines(xs: readonly Rule[]): string {
  const ns = xs.map((r) => r.line + 1);
  if (ns.length === 1) return `line ${ns[0]}`;
  return `lines ${ns.slice(0, -1).join(', ')} and ${ns[ns.length - 1]}`;
}

/** The unreachable-rule or shadowed-rule diagnostic of rule k of chain c (which nothing reaches). */
function unreachableDiagnostic(c: Chain, fs: readonly Facts[], k: number, before: Int32Array, input: Space, v: Vocabulary, spend: (n: number) => void): Diagnostic {
  const f = fs[k];
  const r = f.rule;
  const own = intersect(input, f.rs.space, f.spaceDims);
  const what = f.rs.space.length === 1 ? describedOf(f, v) : 'packet this rule matches';
  if (isEmpty(own)) {
    // In the nat table, what it never sees is the usual reason: say so.
    const why = c.table.name === 'nat' ? natReasons(f, c) : '';
    const msg = isEmpty(f.rs.space) ? 'this rule matches no packet at all: its conditions contradict each other' : `no packet reaching chain ${c.name} can match this rule: it matches only packets that never get here${why}`;
    return { range: ruleRange(r), severity: 'warning', code: 'unreachable-rule', message: msg, tags: UNNECESSARY };
  }
  // Blockers: earlier rules that take packets away from this one.
  const candidates: { f: Facts; overlap: number }[] = [];
  for (const j of before) {
    const fq = fs[j];
    if (fq.rs.approximated || fq.kind === 'continue') continue;
    spend(own.length);
    if (!overlaps(own, fq.rs.space, fq.spaceDims)) continue;
    candidates.push({ f: fq, overlap: volume(intersect(own, fq.rs.space, fq.spaceDims), v.dims) });
  }
  // A small covering set, greedily: the blocker overlapping most of what is left, first.
  const cover: Facts[] = [];
  let left = own;
  const pool = [...candidates];
  while (!isEmpty(left) && pool.length > 0 && cover.length < 5) {
    let best = -1;
    let bestVol = 0;
    // Jumps only pass part of what they match on, so rules that consume outright come first.
    // In the first round every candidate overlaps what is left, by the volume measured above.
    const first = left === own;
    const direct = pool.some((p) => p.f.kind !== 'jump' && (first || overlaps(left, p.f.rs.space, p.f.spaceDims)));
    pool.forEach((p, i) => {
      if (direct && p.f.kind === 'jump') return;
      const vol = first ? p.overlap : volume(intersect(left, p.f.rs.space, p.f.spaceDims), v.dims);
      if (vol > bestVol) {
        bestVol = vol;
        best = i;
      }
    });
    if (best < 0) break;
    const [p] = pool.splice(best, 1);
    cover.push(p.f);
    left = subtract(left, p.f.rs.space, p.f.spaceDims);
    spend(left.length + 1);
  }
  const differs = (p: Facts): boolean => p.action !== f.action;
  const related: RelatedInfo[] = cover.map((p) => ({ range: ruleRange(p.rule), message: `${differs(p) ? 'shadowing' : 'covering'} rule (${verbOf(p)})` }));
  const largestDiff = [...candidates].sort((a, b) => b.overlap - a.overlap).find((p) => differs(p.f));
  if (largestDiff && !cover.includes(largestDiff.f)) related.push({ range: ruleRange(largestDiff.f.rule), message: `largest overlapping rule with another action (${verbOf(largestDiff.f)})` });
  // Shadowed: the rules that take all its packets include one with another action.
  const shadowed = isEmpty(left) && cover.some(differs);
  let message: string;
  if (cover.length > 0 && isEmpty(left)) {
    const verbs = [...new Set(cover.map(verbOf))];
    message = `every ${what} is already ${verbs.join(' or ')} by ${lines(cover.map((p) => p.rule))}`;
  } else {
    message = `no ${what} reaches this rule: earlier rules${cover.length ? ` (such as ${lines(cover.map((p) => p.rule))})` : ''} and what earlier targets rewrite (MARK, CONNMARK, CT, SET) or chains give back leave no packet it could match, on every path`;
  }
  if (shadowed) message += `, so its ${f.target ? `-j ${f.target.name}` : 'action'} never applies`;
  return { range: ruleRange(r), severity: 'warning', code: shadowed ? 'shadowed-rule' : 'unreachable-rule', message, related, tags: shadowed ? undefined : UNNECESSARY };
}

/** Why a rule of chain c of the nat table may match nothing that reaches it, from the fields it tests ('' for none of these). */
function natReasons(f: Facts, c: Chain): string {
  const reasons: string[] = [];
  if ((f.tests & (1 << D.state)) !== 0) reasons.push('the nat table sees only the first packet of a connection: NEW, or RELATED');
  // Only said in the builtin chains it concerns (a user chain may be called from elsewhere).
  if ((f.tests & (1 << D.in)) !== 0 && (c.hook === 'PREROUTING' || c.hook === 'INPUT')) reasons.push('a packet in on the loopback device had its NAT set up on its way out, so nat PREROUTING and INPUT never see it');
  return reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
}

/** The redundant-rule diagnostic when removing rule k changes no verdict. */
function redundancy(c: Chain, fs: readonly Facts[], k: number, after: Int32Array, hit: Space, spend: (n: number) => void): Diagnostic | undefined {
  const f = fs[k];
  const target = f.target;
  if (f.kind !== 'terminal' || !target || !(target.name === 'ACCEPT' || target.name === 'DROP' || target.name === 'REJECT')) return undefined;
  let left = hit;
  const by: Facts[] = [];
  for (const j of after) {
    if (isEmpty(left)) break;
    const fq = fs[j];
    spend(left.length);
    if (!overlaps(left, fq.rs.space, fq.spaceDims)) continue;
    if (fq.kind === 'terminal' && fq.action === f.action) {
      if (!fq.rs.approximated) {
        left = subtract(left, fq.rs.space, fq.spaceDims);
        by.push(fq);
      }
      continue;
    }
    if (fq.kind === 'continue' && !fq.transform) continue;
    return undefined;
  }
  let policy = false;
  if (!isEmpty(left)) {
    if (!(c.builtin && c.policy === target.name && f.action === `-j ${target.name}`)) return undefined;
    policy = true;
  }
  const parts: string[] = [];
  if (by.length) parts.push(lines(by.slice(0, 5).map((q) => q.rule)));
  if (policy) parts.push(`the ${c.policy} policy of ${c.name}`);
  return {
    range: ruleRange(f.rule),
    severity: 'information',
    code: 'redundant-rule',
    message: `removing this rule changes no verdict: every packet it matches would be ${VERBS[target.name]} anyway by ${parts.join(' and ')}`,
    related: by.slice(0, 5).map((q) => ({ range: ruleRange(q.rule), message: `rule with the same action (${verbOf(q)})` })),
    tags: UNNECESSARY,
  };
}

/** correlated-rules and generalization diagnostics of rule k against earlier rules of its chain. */
function correlations(fs: readonly Facts[], k: number, before: Int32Array, input: Space, hits: readonly (Packets | undefined)[], v: Vocabulary, spend: (n: number) => void): Diagnostic[] {
  const f = fs[k];
  if (f.kind !== 'terminal' || f.rs.approximated) return [];
  // Worked out when first needed: most rules have no earlier rule with another action to compare.
  let mine: Space | undefined;
  const general: Facts[] = [];
  const correlated: Facts[] = [];
  for (const j of before) {
    const fq = fs[j];
    if (fq.kind !== 'terminal' || fq.rs.approximated || fq.action === f.action) continue;
    const hq = hits[j];
    if (!hq || isEmpty(hq.space) || !hq.exact) continue;
    mine ??= intersect(input, f.rs.space, f.spaceDims);
    spend(hq.space.length + mine.length);
    if (!overlaps(hq.space, f.rs.space, f.spaceDims)) continue;
    if (subsetOf(intersect(input, fq.rs.space, fq.spaceDims), f.rs.space, f.spaceDims)) general.push(fq);
    else if (!subsetOf(mine, fq.rs.space, fq.spaceDims)) correlated.push(fq);
  }
  const out: Diagnostic[] = [];
  if (general.length) {
    // Described only for a finding: describing every rule's packets took 0.3 s of the blocklist's analysis.
    const what = f.rs.space.length === 1 ? describedOf(f, v) : 'packet it matches';
    out.push({
      range: ruleRange(f.rule),
      severity: 'hint',
      code: 'generalization',
      message: `this rule generalises ${lines(general.slice(0, 3).map((q) => q.rule))}${general.length > 3 ? ' and others' : ''}: every packet ${general.length === 1 ? 'that rule matches' : 'those rules match'} also matches this one (${what === 'packet' ? 'any packet' : `every ${what}`}), but gets another action there, as an exception`,
      related: general.slice(0, 3).map((q) => ({ range: ruleRange(q.rule), message: `exception with another action (${verbOf(q)})` })),
    });
  }
  if (correlated.length) {
    out.push({
      range: ruleRange(f.rule),
      severity: 'information',
      code: 'correlated-rules',
      message: `this rule partly overlaps ${lines(correlated.slice(0, 3).map((q) => q.rule))}${correlated.length > 3 ? ' and others' : ''} with another action: the packets in both are decided by the earlier rule`,
      related: correlated.slice(0, 3).map((q) => ({ range: ruleRange(q.rule), message: `overlapping rule (${verbOf(q)})` })),
    });
  }
  return out;
}
