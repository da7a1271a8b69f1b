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
 * matches do.
 *
 * A user chain reached from several places is analysed once, for the union of what reaches it.
 * What a jump gives back to its caller is taken from a summary of the callee computed for every
 * packet, intersected with what was sent (widened on the fields the callee can rewrite).
 */
import type { Chain, Model, Rule, Table } from '../model.ts';
import type { Diagnostic, RelatedInfo, Range } from '../diagnostics.ts';
import { STANDARD_TARGETS, TARGET_BY_NAME } from '../extensions/extensions.ts';
import { intersect, isEmpty, mapDimension, NOTHING, overlaps, range, subsetOf, subtract, union, volume, widen, universe, type Space } from './packet-space.ts';
import { D, describeCube, hookEntry, markOperation, markTransform, ruleSpace, vocabularyOf, type RuleSpace, type Vocabulary } from './rule-space.ts';

/** Options of the analysis. */
export interface AnalysisOptions {
  /**
   * The most work (cube operations) spent on one table before the analysis of that table is
   * skipped with an information diagnostic; deterministic, unlike a time limit.
   */
  readonly budget?: number;
  /** A wall-clock limit per file in milliseconds, as a last resort. */
  readonly timeLimitMs?: number;
  /** The packets entering builtin chains, per table and hook; by default every packet the hook can see. */
  readonly entry?: (table: string, hook: string, v: Vocabulary) => Space | undefined;
  /** Chains with more rules than this skip the pairwise checks (redundant, correlated, generalisation), saying so. */
  readonly pairwiseLimit?: number;
  /**
   * Lines with error-severity diagnostics: a table holding one is not analysed, since
   * iptables-restore refuses the whole table (the errors already say so).
   */
  readonly errorLines?: ReadonlySet<number>;
}

/** What the analysis found for one rule. */
export interface RuleReach {
  readonly rule: Rule;
  readonly chain: Chain;
  /** The packets the rule matches on some path (empty: unreachable). */
  readonly hit: Space;
  readonly approximated: boolean;
}

/** The analysis of a model: diagnostics and per-rule reachability (for tests and tools). */
export interface AnalysisResult {
  readonly diagnostics: Diagnostic[];
  /** Rules by line whose reachability was decided (tables that were skipped are absent). */
  readonly rules: Map<number, RuleReach>;
}

const DEFAULT_BUDGET = 4_000_000;
const DEFAULT_TIME_MS = 3_000;
const DEFAULT_PAIRWISE = 1000;

/** How a rule's target continues the traversal. */
type Kind = 'terminal' | 'continue' | 'return' | 'jump' | 'goto';

interface Facts {
  readonly rule: Rule;
  readonly rs: RuleSpace;
  readonly kind: Kind;
  readonly callee?: Chain;
  /** What the rule does to the packets that continue (MARK …); undefined: nothing. */
  readonly transform?: (s: Space) => Space;
  /** Dimensions the rule can rewrite. */
  readonly rewrites: readonly number[];
  /** A key comparing actions: the target with its options. */
  readonly action: string;
}

class BudgetExceeded extends Error {}

/** Targets that neither stop the packet nor change a modelled field. */
const PURE_CONTINUE = new Set(['LOG', 'NFLOG', 'ULOG', 'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CONNSECMARK', 'DSCP', 'TOS', 'TTL', 'HL', 'IDLETIMER', 'SET', 'TCPMSS', 'TEE', 'TRACE', 'LED', 'RATEEST', 'SECMARK', 'TCPOPTSTRIP', 'ECN', 'NETMAP']);

/** Runs the analysis over every table of the model. */
export function analyse(model: Model, options: AnalysisOptions = {}): AnalysisResult {
  const diagnostics: Diagnostic[] = [];
  const rules = new Map<number, RuleReach>();
  const started = Date.now();
  for (const t of model.tables) {
    if (!t.known) continue;
    const end = t.commitLine ?? Number.MAX_SAFE_INTEGER;
    // A table with errors is not analysed: iptables-restore refuses it, and its error diagnostics
    // already tell the user what to fix first.
    if (options.errorLines && [...options.errorLines].some((l) => l >= t.line && l <= end)) continue;
    try {
      analyseTable(t, model, options, started, diagnostics, rules);
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) throw e;
      for (const c of t.chains.values()) for (const r of c.rules) rules.delete(r.line);
      diagnostics.push({
        range: lineRange(t.line, 0, t.headerArg.end),
        severity: 'information',
        code: 'analysis-skipped',
        message: `rule-set analysis skipped for table ${t.name}: ${e.message}; no rule of this table is checked for reachability`,
      });
    }
  }
  return { diagnostics, rules };
}

function lineRange(line: number, start: number, end: number): Range {
  return { start: { line, character: start }, end: { line, character: end } };
}

const ruleRange = (r: Rule): Range => lineRange(r.span.line, r.span.start, r.span.end);

function analyseTable(t: Table, model: Model, options: AnalysisOptions, started: number, out: Diagnostic[], rules: Map<number, RuleReach>): void {
  const v = vocabularyOf(t, model.family);
  const chains = [...t.chains.values()].filter((c) => c.exists);
  let work = 0;
  let calls = 0;
  const budget = options.budget ?? DEFAULT_BUDGET;
  const timeLimit = options.timeLimitMs ?? DEFAULT_TIME_MS;
  const spend = (n: number): void => {
    work += n;
    if (work > budget) throw new BudgetExceeded(`it needs more than ${budget.toLocaleString('en')} steps`);
    if ((++calls & 15) === 0 && Date.now() - started > timeLimit) throw new BudgetExceeded(`it takes more than ${timeLimit / 1000} s`);
  };

  // Facts per rule.
  const facts = new Map<Rule, Facts>();
  for (const c of chains) for (const r of c.rules) facts.set(r, factsOf(r, t, v));

  // Callees first: a topological order of the jump graph (loops make the table unanalysable).
  const order: Chain[] = [];
  const state = new Map<Chain, 1 | 2>();
  const visit = (c: Chain): void => {
    const s = state.get(c);
    if (s === 2) return;
    if (s === 1) throw new BudgetExceeded(`its chains jump in a loop (${c.name})`);
    state.set(c, 1);
    for (const r of c.rules) {
      const f = facts.get(r)!;
      if (f.callee) visit(f.callee);
    }
    state.set(c, 2);
    order.push(c);
  };
  for (const c of chains) visit(c);

  // Bottom-up: what each user chain gives back for any packet, and which fields it can rewrite.
  const everything: Space = [universe(v.dims)];
  const summaries = new Map<Chain, { returned: Space; rewrites: Set<number> }>();
  for (const c of order) {
    if (c.builtin) continue;
    const rewrites = new Set<number>();
    for (const r of c.rules) {
      const f = facts.get(r)!;
      for (const d of f.rewrites) rewrites.add(d);
      if (f.callee) for (const d of summaries.get(f.callee)?.rewrites ?? []) rewrites.add(d);
    }
    const { returned } = walk(c, everything, facts, summaries, v, spend);
    summaries.set(c, { returned, rewrites });
  }

  // Top-down: the packets that reach each chain and each rule.
  const inputs = new Map<Chain, Space>();
  const hits = new Map<Rule, Space>();
  for (const c of [...order].reverse()) {
    let input: Space = inputs.get(c) ?? NOTHING;
    if (c.builtin && c.hook) input = options.entry?.(t.name, c.hook, v) ?? hookEntry(v, c.hook);
    inputs.set(c, input);
    if (isEmpty(input)) {
      for (const r of c.rules) hits.set(r, NOTHING);
      continue;
    }
    walk(c, input, facts, summaries, v, spend, (r, hit) => {
      hits.set(r, union(hits.get(r) ?? NOTHING, hit));
      const f = facts.get(r)!;
      if (f.callee && !isEmpty(hit)) inputs.set(f.callee, union(inputs.get(f.callee) ?? NOTHING, hit));
    });
  }

  for (const c of chains) for (const r of c.rules) rules.set(r.line, { rule: r, chain: c, hit: hits.get(r) ?? NOTHING, approximated: facts.get(r)!.rs.approximated });

  // Diagnostics.
  const pairwiseLimit = options.pairwiseLimit ?? DEFAULT_PAIRWISE;
  for (const c of chains) {
    const input = inputs.get(c) ?? NOTHING;
    if (isEmpty(input)) {
      if (!c.builtin && c.declaration && c.references.length > 0) {
        out.push({
          range: lineRange(c.declaration.line, c.declaration.start, c.declaration.end),
          severity: 'warning',
          code: 'unreachable-chain',
          message: `no packet ever reaches chain ${c.name}: every rule that jumps to it (line${c.references.length === 1 ? '' : 's'} ${c.references.map((r) => r.line + 1).join(', ')}) is itself unreachable`,
          related: c.references.map((r) => ({ range: ruleRange(r), message: 'unreachable jump to the chain' })),
          tags: ['unnecessary'],
        });
      }
      for (const r of c.rules) {
        out.push({
          range: ruleRange(r),
          severity: 'warning',
          code: 'unreachable-rule',
          message: c.references.length === 0 && !c.builtin ? `no packet reaches this rule: chain ${c.name} is never jumped to` : `no packet reaches this rule: chain ${c.name} is never reached`,
          tags: ['unnecessary'],
        });
      }
      continue;
    }
    const pairwise = c.rules.length <= pairwiseLimit;
    if (!pairwise && c.declaration) {
      out.push({
        range: lineRange(c.declaration.line, c.declaration.start, c.declaration.end),
        severity: 'information',
        code: 'analysis-skipped',
        message: `chain ${c.name} has ${c.rules.length} rules (more than ${pairwiseLimit}): its rules are checked for reachability, but not for redundancy, correlation or generalisation`,
      });
    }
    c.rules.forEach((r, k) => {
      const f = facts.get(r)!;
      const hit = hits.get(r) ?? NOTHING;
      if (isEmpty(hit)) {
        out.push(unreachableDiagnostic(c, k, input, facts, v, spend));
        return;
      }
      if (f.rs.approximated && f.kind !== 'continue') {
        const window = pairwise ? c.rules.length : Math.min(c.rules.length, k + 50);
        for (let j = k + 1; j < window; j++) {
          spend(1);
          if (overlaps(hit, facts.get(c.rules[j])!.rs.space)) {
            out.push({ range: ruleRange(r), severity: 'information', code: 'approximated-rule', message: `${f.rs.unmodelled.join(', ')} ${f.rs.unmodelled.length === 1 ? 'is' : 'are'} not modelled: the analysis assumes this rule may or may not match, so it hides no later rule (such as line ${c.rules[j].line + 1})` });
            break;
          }
        }
      }
      if (!pairwise) return;
      const red = redundancy(c, k, hit, facts, spend);
      if (red) out.push(red);
      out.push(...correlations(c, k, input, hits, facts, v, spend));
    });
  }
}

/** The facts of one rule: its space, how its target continues, what it rewrites. */
function factsOf(r: Rule, t: Table, v: Vocabulary): Facts {
  const rs = ruleSpace(r, v);
  const target = r.info.target;
  const action = target ? [target.goto ? '-g' : '-j', target.name, ...target.options.map((o) => `${o.negated ? '!' : ''}${o.name}=${o.values.map((x) => x.value).join(' ')}`)].join(' ') : '';
  const base = { rule: r, rs, action };
  if (!target) return { ...base, kind: 'continue', rewrites: [] };
  if (target.name === 'RETURN') return { ...base, kind: 'return', rewrites: [] };
  if ((STANDARD_TARGETS as readonly string[]).includes(target.name)) return { ...base, kind: 'terminal', rewrites: [] };
  const ext = TARGET_BY_NAME.get(target.name);
  if (target.kind !== 'chain' && ext) {
    if (ext.terminating) return { ...base, kind: 'terminal', rewrites: [] };
    if (target.name === 'MARK') {
      const op = markOperation(r);
      const f = op ? markTransform(v, op.mask, op.xor) : undefined;
      const full = range(0n, v.dims.max[D.mark]);
      return { ...base, kind: 'continue', rewrites: [D.mark], transform: (s) => (f ? mapDimension(s, D.mark, f) : widen(s, D.mark, full)) };
    }
    if (target.name === 'CONNMARK') {
      const restores = target.options.some((o) => o.name === 'restore-mark');
      const full = range(0n, v.dims.max[D.mark]);
      return restores ? { ...base, kind: 'continue', rewrites: [D.mark], transform: (s) => widen(s, D.mark, full) } : { ...base, kind: 'continue', rewrites: [] };
    }
    if (target.name === 'CT' || target.name === 'NOTRACK') {
      const full = range(0n, v.dims.max[D.state]);
      return { ...base, kind: 'continue', rewrites: [D.state], transform: (s) => widen(s, D.state, full) };
    }
    if (PURE_CONTINUE.has(target.name)) return { ...base, kind: 'continue', rewrites: [] };
  }
  const callee = t.chains.get(target.name);
  if (target.kind === 'chain' && callee && callee.exists && !callee.builtin) return { ...base, kind: target.goto ? 'goto' : 'jump', callee, rewrites: [] };
  // An unknown target: assume it may do anything to the packet and then let it continue.
  return { ...base, rs: { ...rs, approximated: true, unmodelled: [...rs.unmodelled, `-j ${target.name}`] }, kind: 'continue', rewrites: [D.mark, D.state], transform: (s) => widen(widen(s, D.mark, range(0n, v.dims.max[D.mark])), D.state, range(0n, v.dims.max[D.state])) };
}

/** Follows packets through one chain; calls `record` with every rule's matched packets. Returns the packets that leave the chain to its caller. */
function walk(c: Chain, input: Space, facts: Map<Rule, Facts>, summaries: Map<Chain, { returned: Space; rewrites: Set<number> }>, v: Vocabulary, spend: (n: number) => void, record?: (r: Rule, hit: Space) => void): { returned: Space } {
  let cur = input;
  let returned: Space = NOTHING;
  for (const r of c.rules) {
    if (isEmpty(cur)) {
      record?.(r, NOTHING);
      continue;
    }
    const f = facts.get(r)!;
    spend(cur.length * Math.max(1, f.rs.space.length));
    const hit = intersect(cur, f.rs.space);
    record?.(r, hit);
    if (isEmpty(hit)) continue;
    const rest = (): Space => (f.rs.approximated ? cur : subtract(cur, f.rs.space));
    switch (f.kind) {
      case 'terminal':
        cur = rest();
        break;
      case 'continue': {
        if (!f.transform) break;
        const changed = f.transform(hit);
        // A rewrite that changes nothing here (the field is already unknown) keeps the packets as they are.
        if (!sameSpace(changed, hit)) cur = union(rest(), changed);
        break;
      }
      case 'return':
        returned = union(returned, hit);
        cur = rest();
        break;
      case 'jump':
      case 'goto': {
        const sum = summaries.get(f.callee!);
        let sent = hit;
        for (const d of sum?.rewrites ?? []) sent = widen(sent, d, range(0n, v.dims.max[d]));
        const back = sum ? intersect(sum.returned, sent) : sent;
        spend(back.length + 1);
        if (f.kind === 'jump') cur = union(rest(), back);
        else {
          returned = union(returned, back);
          cur = rest();
        }
        break;
      }
    }
    if (cur.length > 5_000) throw new BudgetExceeded(`the packets reaching chain ${c.name} split into more than 5,000 pieces`);
  }
  return { returned: union(returned, cur) };
}

/** Whether two spaces are written with the same cubes. */
function sameSpace(a: Space, b: Space): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    for (let d = 0; d < a[i].length; d++) {
      const x = a[i][d];
      const y = b[i][d];
      if (x === y) continue;
      if (x.length !== y.length || x.some((iv, k) => iv[0] !== y[k][0] || iv[1] !== y[k][1])) return false;
    }
  }
  return true;
}

const VERBS: Readonly<Record<string, string>> = { ACCEPT: 'accepted', DROP: 'dropped', REJECT: 'rejected', RETURN: 'returned', QUEUE: 'queued', NFQUEUE: 'queued', DNAT: 'translated (DNAT)', SNAT: 'translated (SNAT)', MASQUERADE: 'masqueraded', REDIRECT: 'redirected' };

function verbOf(f: Facts): string {
  const t = f.rule.info.target;
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
function unreachableDiagnostic(c: Chain, k: number, input: Space, facts: Map<Rule, Facts>, v: Vocabulary, spend: (n: number) => void): Diagnostic {
  const r = c.rules[k];
  const f = facts.get(r)!;
  const own = intersect(input, f.rs.space);
  const what = f.rs.space.length === 1 ? describeCube(f.rs.space[0], v) : 'packet this rule matches';
  if (isEmpty(own)) {
    const msg = isEmpty(f.rs.space) ? 'this rule matches no packet at all: its conditions contradict each other' : `no packet reaching chain ${c.name} can match this rule: it matches only packets that never get here`;
    return { range: ruleRange(r), severity: 'warning', code: 'unreachable-rule', message: msg, tags: ['unnecessary'] };
  }
  // Blockers: earlier rules that take packets away from this one.
  const candidates: { rule: Rule; f: Facts; overlap: number }[] = [];
  for (let j = 0; j < k; j++) {
    const q = c.rules[j];
    const fq = facts.get(q)!;
    if (fq.rs.approximated || fq.kind === 'continue') continue;
    spend(own.length);
    const ov = intersect(own, fq.rs.space);
    if (!isEmpty(ov)) candidates.push({ rule: q, f: fq, overlap: volume(ov) });
  }
  // A small covering set, greedily: the blocker overlapping most of what is left, first.
  const cover: { rule: Rule; f: Facts }[] = [];
  let left = own;
  const pool = [...candidates];
  while (!isEmpty(left) && pool.length > 0 && cover.length < 5) {
    let best = -1;
    let bestVol = 0;
    // Jumps only pass part of what they match on, so rules that consume outright come first.
    const direct = pool.some((p) => p.f.kind !== 'jump' && overlaps(left, p.f.rs.space));
    pool.forEach((p, i) => {
      if (direct && p.f.kind === 'jump') return;
      const vol = volume(intersect(left, p.f.rs.space));
      if (vol > bestVol) {
        bestVol = vol;
        best = i;
      }
    });
    if (best < 0) break;
    const [p] = pool.splice(best, 1);
    cover.push(p);
    left = subtract(left, p.f.rs.space);
    spend(left.length + 1);
  }
  const differs = (p: { f: Facts }): boolean => p.f.action !== f.action;
  const related: RelatedInfo[] = cover.map((p) => ({ range: ruleRange(p.rule), message: `${differs(p) ? 'shadowing' : 'covering'} rule (${verbOf(p.f)})` }));
  const largestDiff = [...candidates].sort((a, b) => b.overlap - a.overlap).find((p) => differs(p));
  if (largestDiff && !cover.some((p) => p.rule === largestDiff.rule)) related.push({ range: ruleRange(largestDiff.rule), message: `largest overlapping rule with another action (${verbOf(largestDiff.f)})` });
  // Shadowed: the rules that take all its packets include one with another action.
  const shadowed = isEmpty(left) && cover.some(differs);
  let message: string;
  if (cover.length > 0 && isEmpty(left)) {
    const verbs = [...new Set(cover.map((p) => verbOf(p.f)))];
    message = `every ${what} is already ${verbs.join(' or ')} by ${lines(cover.map((p) => p.rule))}`;
  } else {
    message = `no ${what} reaches this rule: earlier rules${cover.length ? ` (such as ${lines(cover.map((p) => p.rule))})` : ''} and what earlier targets rewrite (MARK, CONNMARK, CT) or chains give back leave no packet it could match, on every path`;
  }
  if (shadowed) message += `, so its ${f.rule.info.target ? `-j ${f.rule.info.target.name}` : 'action'} never applies`;
  return { range: ruleRange(r), severity: 'warning', code: shadowed ? 'shadowed-rule' : 'unreachable-rule', message, related, tags: shadowed ? undefined : ['unnecessary'] };
}

/** The redundant-rule diagnostic when removing rule k changes no verdict. */
function redundancy(c: Chain, k: number, hit: Space, facts: Map<Rule, Facts>, spend: (n: number) => void): Diagnostic | undefined {
  const r = c.rules[k];
  const f = facts.get(r)!;
  const target = r.info.target;
  if (f.kind !== 'terminal' || !target || !(target.name === 'ACCEPT' || target.name === 'DROP' || target.name === 'REJECT')) return undefined;
  let left = hit;
  const by: Rule[] = [];
  for (let j = k + 1; j < c.rules.length && !isEmpty(left); j++) {
    const q = c.rules[j];
    const fq = facts.get(q)!;
    spend(left.length);
    if (!overlaps(left, fq.rs.space)) continue;
    if (fq.kind === 'terminal' && fq.action === f.action) {
      if (!fq.rs.approximated) {
        left = subtract(left, fq.rs.space);
        by.push(q);
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
  if (by.length) parts.push(lines(by.slice(0, 5)));
  if (policy) parts.push(`the ${c.policy} policy of ${c.name}`);
  return {
    range: ruleRange(r),
    severity: 'information',
    code: 'redundant-rule',
    message: `removing this rule changes no verdict: every packet it matches would be ${VERBS[target.name]} anyway by ${parts.join(' and ')}`,
    related: by.slice(0, 5).map((q) => ({ range: ruleRange(q), message: `rule with the same action (${verbOf(facts.get(q)!)})` })),
    tags: ['unnecessary'],
  };
}

/** correlated-rules and generalization diagnostics of rule k against earlier rules of its chain. */
function correlations(c: Chain, k: number, input: Space, hits: Map<Rule, Space>, facts: Map<Rule, Facts>, v: Vocabulary, spend: (n: number) => void): Diagnostic[] {
  const r = c.rules[k];
  const f = facts.get(r)!;
  if (f.kind !== 'terminal' || f.rs.approximated) return [];
  const mine = intersect(input, f.rs.space);
  const general: Rule[] = [];
  const correlated: Rule[] = [];
  for (let j = 0; j < k; j++) {
    const q = c.rules[j];
    const fq = facts.get(q)!;
    if (fq.kind !== 'terminal' || fq.rs.approximated || fq.action === f.action) continue;
    const hq = hits.get(q) ?? NOTHING;
    if (isEmpty(hq)) continue;
    spend(hq.length + mine.length);
    if (!overlaps(hq, f.rs.space)) continue;
    if (subsetOf(intersect(input, fq.rs.space), f.rs.space)) general.push(q);
    else if (!subsetOf(mine, fq.rs.space)) correlated.push(q);
  }
  const out: Diagnostic[] = [];
  const what = f.rs.space.length === 1 ? describeCube(f.rs.space[0], v) : 'packet it matches';
  if (general.length) {
    out.push({
      range: ruleRange(r),
      severity: 'hint',
      code: 'generalization',
      message: `this rule generalises ${lines(general.slice(0, 3))}${general.length > 3 ? ' and others' : ''}: every packet ${general.length === 1 ? 'that rule matches' : 'those rules match'} also matches this one (${what === 'packet' ? 'any packet' : `every ${what}`}), but gets another action there, as an exception`,
      related: general.slice(0, 3).map((q) => ({ range: ruleRange(q), message: `exception with another action (${verbOf(facts.get(q)!)})` })),
    });
  }
  if (correlated.length) {
    out.push({
      range: ruleRange(r),
      severity: 'information',
      code: 'correlated-rules',
      message: `this rule partly overlaps ${lines(correlated.slice(0, 3))}${correlated.length > 3 ? ' and others' : ''} with another action: the packets in both are decided by the earlier rule`,
      related: correlated.slice(0, 3).map((q) => ({ range: ruleRange(q), message: `overlapping rule (${verbOf(facts.get(q)!)})` })),
    });
  }
  return out;
}
