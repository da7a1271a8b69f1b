/**
 * What one analysis of a document leaves for the next analysis of an edited version, so that an
 * editor re-analyses only what an edit can change (analyse.ts, options `previous` and `remember`).
 *
 * The unit of reuse is a chain's walk. A walk's result depends on the chain's rules, on the
 * chains it calls (their rules, summaries and how they are walked), on the table's vocabulary
 * and limits, and on the packets it is given; its effects are the diagnostics it gives, the
 * packets it sends to the chains it calls, the pieces it merges and the work and walks it spends.
 * A chain whose rules and flags are as before (checked line by line against the earlier version's
 * text), whose callees are too (or, for a callee walked on its own, whose summary, reach and flags
 * are: all a caller's walk sees of it), walked with the same packets, replays the recorded effects
 * instead of walking: the result is the one a fresh analysis gives (a test compares the two over
 * random edits). Everything else is walked again, and recorded for the next time.
 *
 * Spaces are written in the vocabulary's classes, so nothing is reused unless the new vocabulary
 * is the old one (an edit of a port keeps it; a new address or interface name usually not).
 */
import type { Diagnostic } from '../diagnostics.ts';
import type { Space } from './packet-space.ts';
import type { Distinctions } from './relevance.ts';
import type { RuleSpace, Vocabulary } from './rule-space.ts';

/** What an analysis leaves for the next one: per table (by its index and name). */
export interface AnalysisMemo {
  readonly tables: ReadonlyMap<string, TableMemo>;
}

/** The key of a table in a memo: its place in the model and its name. */
export function tableKey(index: number, name: string): string {
  return `${index}:${name}`;
}

/** What one table's analysis leaves. */
export interface TableMemo {
  /** The lines of the version analysed: the rules of the next one are compared with them. */
  readonly lines: readonly string[];
  readonly vocabulary: Vocabulary;
  /** The limits and options the walks depended on (piece limit, thresholds …), as one string. */
  readonly params: string;
  /** The packet space of every distinct rule text (after the chain name). */
  readonly spaces: ReadonlyMap<string, RuleSpace>;
  /** Per chain name. */
  readonly chains: ReadonlyMap<string, ChainMemo>;
}

/** What is remembered of one chain. */
export interface ChainMemo {
  /** The lines of its declaration and its rules (analyse.ts `shapeOf`). */
  readonly shape: Int32Array;
  /** The lines of the rules that call it (analyse.ts `referencesOf`): its own findings name them. */
  readonly references: Int32Array;
  /** Its flags as the analysis derived them from the whole table (see analyse.ts `flagsOf`). */
  readonly flags: string;
  /** The distinctions of the chain and everything it calls, if they were computed. */
  readonly reach: Distinctions | undefined;
  /** Its summary walk, if it had one. */
  readonly summary: SummaryRecord | undefined;
  /** Its walks with the packets that really reach it (usually one). */
  readonly visits: readonly VisitRecord[];
}

/**
 * The budgets of walks at calls: what they were before a recorded walk, how much of them it used
 * itself, and how much with the summaries it worked out on the way (`lazy`: whether it did).
 */
export interface Budgets {
  readonly callWalks: number;
  readonly fewCallWalks: number;
  readonly usedCallWalks: number;
  readonly usedFewCallWalks: number;
  readonly allCallWalks: number;
  readonly allFewCallWalks: number;
  readonly lazy: boolean;
}

/**
 * What a recorded walk did that a replay must do again, in order: a chain's packets merged into
 * larger pieces (the first merge of a chain names its number of pieces); packets sent to a chain
 * walked on its own (joined into that chain's input, which may merge pieces too); a chain's
 * summary worked out when a walk first needed it (later walks use it as it is).
 */
export type WalkEvent =
  | { readonly merged: string; readonly pieces: number }
  | { readonly sent: string; readonly hit: Space; readonly exact: boolean }
  | { readonly summarised: string };

/**
 * The effects shared by recorded walks. The work, the budgets used and the events are the walk's
 * own: a summary it worked out on the way is a `summarised` event, replayed (or walked) only if
 * it is not known yet, and the packets it sent are joined again on replay, with their own work.
 */
export interface WalkEffects {
  readonly work: number;
  readonly budgets: Budgets;
  readonly events: readonly WalkEvent[];
  /**
   * The chains walked at their few calls whose summaries the walk used, known before it began
   * (when the walks at calls ran out): a walk without them would work them out, so a replay needs
   * them known again.
   */
  readonly needs: readonly string[];
}

/** A summary walk: what the chain gives back for any packet. */
export interface SummaryRecord extends WalkEffects {
  readonly returned: Space;
  readonly exact: boolean;
}

/** A walk of a chain with the packets that reach it, and the walks of chains called once within it. */
export interface VisitRecord extends WalkEffects {
  readonly input: Space;
  readonly inputExact: boolean;
  readonly keep: number;
  readonly returned: Space;
  /** Whether `returned` was the input itself (callers compare by identity). */
  readonly returnsInput: boolean;
  readonly exact: boolean;
  /** Every diagnostic it gave, with those of the walks within it, in order. */
  readonly diagnostics: readonly Diagnostic[];
  /** The walks within it (chains called once), innermost first, with their chains' names. */
  readonly nested: readonly (readonly [string, VisitRecord])[];
}

/** Whether two budgets allow a recorded walk to take the same decisions again. */
export function budgetsAllow(recorded: Budgets, callWalks: number, fewCallWalks: number): boolean {
  // A walk decides by whether a budget is above zero: the same decisions are taken if the budget
  // is what it was (unless a summary it worked out, which may be known already now, used some of
  // it), or if it never ran out, then or now.
  const ok = (before: number, used: number, now: number): boolean => (now === before && !recorded.lazy) || (before - used > 0 && now - used > 0);
  return ok(recorded.callWalks, recorded.allCallWalks, callWalks) && ok(recorded.fewCallWalks, recorded.allFewCallWalks, fewCallWalks);
}

/** Whether two vocabularies make the same classes (spaces of one are spaces of the other). */
export function sameVocabulary(a: Vocabulary, b: Vocabulary): boolean {
  if (a === b) return true;
  if (a.family !== b.family || a.markOpaque !== b.markOpaque) return false;
  if (!sameList(a.dims.max, b.dims.max, (x, y) => x === y)) return false;
  if (!sameList(a.addressStarts, b.addressStarts, (x, y) => x === y)) return false;
  if (!sameList(a.ifaces, b.ifaces, (x, y) => x.kind === y.kind && x.text === y.text && x.underPrefix === y.underPrefix)) return false;
  if (!sameList(a.markBits, b.markBits, (x, y) => x.mask === y.mask && x.ct === y.ct)) return false;
  return sameList(a.setLookups, b.setLookups, (x, y) => x === y) && sameList(a.macs, b.macs, (x, y) => x === y);
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
  return true;
}
