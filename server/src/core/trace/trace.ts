/**
 * The packet tracer: follows a packet through the tables and chains of a model in netfilter's
 * order, rule by rule, as the kernel would, and records every step. Conditions that cannot be
 * decided from the packet description split the trace: both branches are followed, so the result
 * is a tree of outcomes (listed as leaves, each with the assumptions that lead to it). A verdict is
 * only called decided when every branch agrees.
 */
import type { Chain, Model, Rule, Table } from '../model.ts';
import type { OptionUse } from '../rule.ts';
import type { Hook } from '../extensions/extensions.ts';
import { evalBase, evalMatch, knownBits, parseNet, UNKNOWN_BITS, xmark, parseMarkValue, type Bits, type CondResult, type EvalState } from './matches.ts';
import { formatAddress, parseAddress, type CtState, type Packet } from './packet.ts';

/** The paths a packet can take through one host. */
export type TracePath = 'input' | 'forward' | 'output';

/** The hooks of each path, in order. */
export const PATH_HOOKS: Readonly<Record<TracePath, readonly Hook[]>> = {
  input: ['PREROUTING', 'INPUT'],
  forward: ['PREROUTING', 'FORWARD', 'POSTROUTING'],
  output: ['OUTPUT', 'POSTROUTING'],
};

/** The tables consulted at each hook, in priority order. */
export const HOOK_TABLES: Readonly<Record<Hook, readonly string[]>> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'security', 'nat'],
  FORWARD: ['mangle', 'filter', 'security'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
  POSTROUTING: ['mangle', 'nat'],
};

/** A rule or a chain's policy, located in the file (1-based line; null for a policy never declared). */
export interface RuleRef {
  readonly line: number | null;
  readonly table: string;
  readonly chain: string;
}

/** One step of a trace. */
export interface TraceStep {
  readonly kind: 'table' | 'skip-table' | 'rule' | 'return' | 'policy' | 'stop';
  readonly hook: Hook;
  readonly table: string;
  readonly chain?: string;
  /** 1-based line of the rule (or of the chain declaration for a policy). */
  readonly line?: number | null;
  /** Whether the rule's conditions held; 'undecided' when this branch had to assume. */
  readonly matched?: boolean | 'undecided';
  /** For an undecided rule: what this branch assumed. */
  readonly assumed?: boolean;
  /** The condition that failed (or could not be decided), with the reason. */
  readonly failed?: string;
  /** What happened, in words: "jump to X", "ACCEPT", "MARK set 0x1", … */
  readonly action?: string;
}

/** A chain policy that was applied. */
export interface PolicyUse {
  readonly table: string;
  readonly chain: string;
  readonly policy: string;
}

/** One leaf of the trace tree. */
export interface TraceOutcome {
  /** ACCEPT, DROP, REJECT, QUEUE, NFQUEUE, … or UNDECIDED when a branch could not be finished. */
  readonly verdict: string;
  /** True when the deciding step was a chain policy. */
  readonly policy: boolean;
  /** The rule or policy that decided the verdict (for ACCEPT: the filter table's last decision). */
  readonly decidedBy?: RuleRef;
  /** Every rule whose conditions held, in order: the rules whose kernel counters would increase. */
  readonly matched: readonly RuleRef[];
  /** Every policy applied, in order (their counters increase too). */
  readonly policies: readonly PolicyUse[];
  readonly steps: readonly TraceStep[];
  /** What targets changed or recorded: dst, dport (DNAT), src, sport (SNAT), mark, connmark, notrack, … */
  readonly rewrites: Readonly<Record<string, string>>;
  /** The assumptions made at undecided rules, in words. Empty for a fully decided trace. */
  readonly assumptions: readonly string[];
}

/** The whole trace. */
export interface TraceResult {
  readonly packet: Packet;
  readonly hooks: readonly Hook[];
  /** The leaves of the trace tree; exactly one when nothing had to be assumed. */
  readonly outcomes: readonly TraceOutcome[];
  /** True when there is one outcome: no condition was undecided. */
  readonly decided: boolean;
  /** The common verdict of all outcomes, or UNDECIDED when they differ. */
  readonly verdict: string;
  /** True when the tree was cut at MAX_OUTCOMES leaves (the verdict is then UNDECIDED). */
  readonly truncated: boolean;
}

/** Upper bound on the leaves of the trace tree. */
export const MAX_OUTCOMES = 256;
/**
 * Upper bound on rules evaluated per branch: a table without loops always ends, but a chain
 * called twice by a chain called twice … is walked exponentially often.
 */
const MAX_STEPS = 1_000_000;

/** Why a branch stops when its jumps or gotos loop. */
const LOOP_STOP = 'the trace does not end: its jumps loop, and the kernel refuses a table whose jumps loop';

interface Frame {
  chain: string;
  index: number;
  sub: number;
  /**
   * The chains this frame went through: the one it was entered with, then those of its gotos (which
   * replace a frame instead of adding one). All frames' together are the way from the built-in chain.
   */
  via: readonly string[];
}

/** The mutable packet state of one branch. */
interface PState {
  src?: bigint;
  dst?: bigint;
  sport?: number;
  dport?: number;
  ct?: CtState;
  untracked: boolean;
  ctTemplate: boolean;
  mark: Bits;
  ctmark: Bits;
}

interface Decision {
  readonly ref: RuleRef;
  readonly policy: boolean;
  readonly table: string;
}

interface Machine {
  hookIdx: number;
  tableIdx: number;
  started: boolean;
  /** Whether this is the first packet of its connection (nat is consulted), once known or assumed. */
  natAnswer?: boolean;
  frames: Frame[];
  st: PState;
  steps: TraceStep[];
  matched: RuleRef[];
  policies: PolicyUse[];
  rewrites: Record<string, string>;
  assumptions: string[];
  last?: Decision;
  filterLast?: Decision;
  done?: { verdict: string; ref?: RuleRef; policy: boolean };
}

function cloneMachine(m: Machine): Machine {
  return {
    ...m,
    frames: m.frames.map((f) => ({ ...f })),
    st: { ...m.st },
    steps: [...m.steps],
    matched: [...m.matched],
    policies: [...m.policies],
    rewrites: { ...m.rewrites },
    assumptions: [...m.assumptions],
  };
}

/** The last block of each table name (a second block of the same table replaces the first). */
function tablesByName(model: Model): Map<string, Table> {
  const m = new Map<string, Table>();
  for (const t of model.tables) if (t.known) m.set(t.name, t);
  return m;
}

/** The hooks to trace for a path name or a single hook. */
export function hooksOf(path: TracePath | Hook): readonly Hook[] {
  return (PATH_HOOKS as Record<string, readonly Hook[]>)[path] ?? [path as Hook];
}

const HOOKS_WITH_IN: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD'];

/** The loopback device: packets in on it are local packets coming back. */
const LOOPBACK = 'lo';
const HOOKS_WITH_OUT: readonly Hook[] = ['FORWARD', 'OUTPUT', 'POSTROUTING'];

/**
 * Traces `packet` through `model` along a path (`input`, `forward`, `output`) or through one hook.
 * Pure: the model is not changed.
 */
export function trace(model: Model, packet: Packet, path: TracePath | Hook): TraceResult {
  const hooks = hooksOf(path);
  const tables = tablesByName(model);
  const initial: Machine = {
    hookIdx: 0,
    tableIdx: 0,
    started: false,
    frames: [],
    st: {
      src: packet.src,
      dst: packet.dst,
      sport: packet.sport,
      dport: packet.dport,
      ct: packet.state,
      untracked: packet.state === 'UNTRACKED',
      ctTemplate: false,
      mark: packet.mark === undefined ? UNKNOWN_BITS : knownBits(packet.mark),
      ctmark: packet.ctmark === undefined ? UNKNOWN_BITS : knownBits(packet.ctmark),
    },
    steps: [],
    matched: [],
    policies: [],
    rewrites: {},
    assumptions: [],
  };
  const pending: Machine[] = [initial];
  const outcomes: TraceOutcome[] = [];
  let truncated = false;
  const budget = (): boolean => outcomes.length + pending.length < MAX_OUTCOMES;
  let chainCount = 0;
  for (const t of model.tables) chainCount += t.chains.size;
  while (pending.length > 0) {
    const m = pending.pop()!;
    run(m, { model, packet, hooks, tables, chainCount, fork: (c) => {
      if (!budget()) return false;
      pending.push(c);
      return true;
    } });
    if (m.done?.verdict === 'UNDECIDED' && m.steps.some((s) => s.kind === 'stop' && s.action?.startsWith('too many'))) truncated = true;
    outcomes.push(toOutcome(m));
  }
  // Outcomes come off the stack "matched" branch first; order them as the tree reads: first
  // the branch found first.
  const verdicts = new Set(outcomes.map((o) => o.verdict));
  const verdict = verdicts.size === 1 && !truncated ? outcomes[0].verdict : 'UNDECIDED';
  return { packet, hooks, outcomes, decided: outcomes.length === 1 && !truncated, verdict, truncated };
}

function toOutcome(m: Machine): TraceOutcome {
  const d = m.done ?? { verdict: 'ACCEPT', policy: false };
  let ref = d.ref;
  let policy = d.policy;
  if (!m.done) {
    const dec = m.filterLast ?? m.last;
    ref = dec?.ref;
    policy = dec?.policy ?? false;
  }
  return { verdict: d.verdict, policy, decidedBy: ref, matched: m.matched, policies: m.policies, steps: m.steps, rewrites: m.rewrites, assumptions: m.assumptions };
}

interface Ctx {
  readonly model: Model;
  readonly packet: Packet;
  readonly hooks: readonly Hook[];
  readonly tables: Map<string, Table>;
  /** The number of chains of the model: no trace without a loop nests deeper. */
  readonly chainCount: number;
  /** Queues a branch; false when the tree is full. */
  readonly fork: (m: Machine) => boolean;
}

/** The packet state as matches see it in one table at one hook. */
function evalState(ctx: Ctx, m: Machine, hook: Hook, table: string): EvalState {
  const p = ctx.packet;
  const st = m.st;
  let ct: CtState | undefined;
  let hasCt: boolean | undefined;
  if (st.untracked) {
    ct = 'UNTRACKED';
    hasCt = false;
  } else if (table === 'raw' && !(hook === 'PREROUTING' && p.in === LOOPBACK)) {
    // Conntrack runs after the raw table: there is no entry yet (a CT template makes it unclear).
    // A packet in on the loopback device is the exception: it keeps the connection conntrack gave
    // it on its way out, and raw PREROUTING sees that connection's state (measured: a ping to
    // 127.0.0.1 counts NEW, then ESTABLISHED there).
    ct = st.ctTemplate ? undefined : 'INVALID';
    hasCt = st.ctTemplate ? undefined : false;
  } else {
    ct = st.ct;
    hasCt = ct === undefined ? undefined : ct !== 'INVALID';
  }
  return {
    family: p.family,
    hook,
    table,
    proto: p.proto,
    src: st.src,
    dst: st.dst,
    sport: st.sport,
    dport: st.dport,
    in: HOOKS_WITH_IN.includes(hook) || (hook === 'POSTROUTING' && !ctx.hooks.includes('OUTPUT')) ? p.in : '',
    out: HOOKS_WITH_OUT.includes(hook) ? p.out : '',
    ct,
    hasCt,
    mark: st.mark,
    ctmark: st.ctmark,
    bridged: p.bridged,
    physdevIn: p.physdevIn,
    physdevOut: p.physdevOut,
    physdevIsBridged: p.physdevIsBridged,
    icmpType: p.icmpType,
    icmpCode: p.icmpCode,
    tcpFlags: p.tcpFlags,
    mac: p.mac,
    pkttype: p.pkttype,
    length: p.length,
    srcType: p.srcType,
    dstType: p.dstType,
    fragment: p.fragment,
    orig: { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport },
  };
}

/** The source/destination combinations a rule line expands to (`-s a,b` makes two kernel rules). */
function expansions(rule: Rule): { s?: string; d?: string }[] {
  const s = rule.info.base.find((o) => o.name === 's')?.values[0]?.value;
  const d = rule.info.base.find((o) => o.name === 'd')?.values[0]?.value;
  const ss = s === undefined ? [undefined] : s.split(',');
  const ds = d === undefined ? [undefined] : d.split(',');
  const out: { s?: string; d?: string }[] = [];
  for (const a of ss) for (const b of ds) out.push({ s: a, d: b });
  return out;
}

const refOf = (rule: Rule, table: string, chain: string): RuleRef => ({ line: rule.line + 1, table, chain });

/** Runs one branch to its end, forking at undecided rules. */
function run(m: Machine, ctx: Ctx): void {
  let guard = 0;
  while (!m.done) {
    // Without a loop, jumps nest at most as deep as there are chains (the legacy backend has no
    // other limit; nf_tables stops at 15, which validity reports): deeper means a loop.
    if (m.frames.length > ctx.chainCount) {
      stop(m, 'UNDECIDED', LOOP_STOP);
      return;
    }
    if (++guard > MAX_STEPS) {
      stop(m, 'UNDECIDED', `the trace was stopped after ${MAX_STEPS.toLocaleString('en')} rules`);
      return;
    }
    if (m.hookIdx >= ctx.hooks.length) return;
    const hook = ctx.hooks[m.hookIdx];
    const order = HOOK_TABLES[hook];
    if (m.tableIdx >= order.length) {
      m.hookIdx++;
      m.tableIdx = 0;
      continue;
    }
    const tname = order[m.tableIdx];
    const table = ctx.tables.get(tname);
    if (!m.started) {
      const base = table?.chains.get(hook);
      if (!table || !base || !base.builtin) {
        nextTable(m);
        continue;
      }
      if (tname === 'nat' && (hook === 'PREROUTING' || hook === 'INPUT') && ctx.packet.in === LOOPBACK) {
        // A looped-back packet had its NAT set up on its way out (nat OUTPUT and POSTROUTING):
        // conntrack does not consult the nat table again (measured on a ping to 127.0.0.1).
        m.steps.push({ kind: 'skip-table', hook, table: tname, action: 'nat table not consulted: a packet from the loopback device had its NAT set up on its way out' });
        nextTable(m);
        continue;
      }
      if (tname === 'nat' && m.natAnswer === undefined) {
        const ct = m.st.untracked ? 'UNTRACKED' : m.st.ct;
        let first: boolean | undefined = ct === 'NEW' ? true : ct === 'ESTABLISHED' || ct === 'INVALID' || ct === 'UNTRACKED' ? false : undefined;
        if (first === undefined) {
          const why = ct === 'RELATED' ? 'a RELATED packet may or may not be the first of its connection' : 'the conntrack state is not given';
          const other = cloneMachine(m);
          other.natAnswer = false;
          other.assumptions.push(`${hook}: assumed not the first packet of its connection (${why}), so the nat table is not consulted`);
          if (!ctx.fork(other)) {
            stop(m, 'UNDECIDED', 'too many undecided branches');
            return;
          }
          m.assumptions.push(`${hook}: assumed the first packet of its connection (${why}), so the nat table is consulted`);
          first = true;
        }
        m.natAnswer = first;
      }
      if (tname === 'nat' && m.natAnswer === false) {
        m.steps.push({ kind: 'skip-table', hook, table: tname, action: 'nat table not consulted: not the first packet of a connection' });
        nextTable(m);
        continue;
      }
      m.started = true;
      m.frames = [{ chain: hook, index: 0, sub: 0, via: [hook] }];
      m.steps.push({ kind: 'table', hook, table: tname, chain: hook });
    }
    const frame = m.frames[m.frames.length - 1];
    const chain = table!.chains.get(frame.chain);
    if (!chain || frame.index >= chain.rules.length) {
      // The end of a chain: back to the caller, or the policy at the bottom.
      m.frames.pop();
      if (m.frames.length === 0) applyPolicy(m, ctx, hook, table!);
      else m.steps.push({ kind: 'return', hook, table: tname, chain: frame.chain, action: `end of ${frame.chain}: return to ${m.frames[m.frames.length - 1].chain}` });
      continue;
    }
    const rule = chain.rules[frame.index];
    const combos = expansions(rule);
    const combo = combos[frame.sub] ?? {};
    frame.sub++;
    if (frame.sub >= combos.length) {
      frame.index++;
      frame.sub = 0;
    }
    const es = evalState(ctx, m, hook, tname);
    const conds: CondResult[] = [...evalBase(rule.info, es, combo.s, combo.d), ...rule.info.matches.map((x) => evalMatch(x, es, rule.info.protocol))];
    const failed = conds.find((c) => c.result === false);
    const ref = refOf(rule, tname, chain.name);
    if (failed) {
      m.steps.push({ kind: 'rule', hook, table: tname, chain: chain.name, line: ref.line, matched: false, failed: describe(failed) });
      continue;
    }
    const unknown = conds.filter((c) => c.result === undefined);
    if (unknown.length > 0) {
      const why = unknown.map(describe).join('; ');
      const other = cloneMachine(m);
      other.steps.push({ kind: 'rule', hook, table: tname, chain: chain.name, line: ref.line, matched: 'undecided', assumed: false, failed: why });
      other.assumptions.push(`line ${ref.line} (${tname} ${chain.name}) assumed not to match: ${why}`);
      if (!ctx.fork(other)) {
        stop(m, 'UNDECIDED', 'too many undecided branches');
        return;
      }
      m.assumptions.push(`line ${ref.line} (${tname} ${chain.name}) assumed to match: ${why}`);
      applyTarget(m, ctx, hook, table!, chain, rule, ref, why);
      continue;
    }
    applyTarget(m, ctx, hook, table!, chain, rule, ref, undefined);
  }
}

function describe(c: CondResult): string {
  return c.reason ? `${c.what}: ${c.reason}` : c.what;
}

function stop(m: Machine, verdict: string, why: string): void {
  const hook = m.steps[m.steps.length - 1]?.hook ?? 'PREROUTING';
  m.steps.push({ kind: 'stop', hook, table: m.steps[m.steps.length - 1]?.table ?? '', action: why });
  m.done = { verdict, policy: false };
}

function nextTable(m: Machine): void {
  m.tableIdx++;
  m.started = false;
  m.frames = [];
}

/** The table accepted the packet: record the decision and go on with the next table. */
function endTable(m: Machine, ref: RuleRef, policy: boolean, table: string): void {
  const d: Decision = { ref, policy, table };
  m.last = d;
  if (table === 'filter') m.filterLast = d;
  nextTable(m);
}

function applyPolicy(m: Machine, _ctx: Ctx, hook: Hook, table: Table): void {
  const chain = table.chains.get(hook)!;
  const policy = chain.policy ?? 'ACCEPT';
  const ref: RuleRef = { line: chain.declaration ? chain.declaration.line + 1 : null, table: table.name, chain: hook };
  m.policies.push({ table: table.name, chain: hook, policy });
  m.steps.push({ kind: 'policy', hook, table: table.name, chain: hook, line: ref.line, action: `policy ${policy}` });
  if (policy === 'DROP') m.done = { verdict: 'DROP', ref, policy: true };
  else endTable(m, ref, true, table.name);
}

const opt = (rule: Rule, name: string): OptionUse | undefined => rule.info.target?.options.find((o) => o.name === name);
const optVal = (rule: Rule, name: string): string | undefined => opt(rule, name)?.values[0]?.value;

function hex(b: Bits): string {
  if (b.known === 0xffffffff) return `0x${b.value.toString(16)}`;
  if (b.known === 0) return 'unknown';
  return `0x${b.value.toString(16)} (known bits 0x${b.known.toString(16)})`;
}

/** `a & c` over partly known bits: bits cleared by c become known zeros. */
function bitsAnd(a: Bits, c: number): Bits {
  return { value: (a.value & c) >>> 0, known: (a.known | ~c) >>> 0 };
}
/** `a ^ b` over partly known bits. */
function bitsXor(a: Bits, b: Bits): Bits {
  const known = (a.known & b.known) >>> 0;
  return { value: ((a.value ^ b.value) & known) >>> 0, known };
}

/** The (mask, xor) pair of a MARK/CONNMARK set operation, as libxt_MARK/libxt_CONNMARK build it. */
function markOp(rule: Rule): { mask: number; xor: number; what: string } | undefined {
  for (const name of ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark']) {
    const v = optVal(rule, name);
    if (v === undefined) continue;
    const mv = parseMarkValue(v);
    if (!mv) return undefined;
    const hasMask = v.includes('/');
    switch (name) {
      case 'set-xmark': return { mask: mv.mask, xor: mv.value, what: `${name} ${v}` };
      case 'set-mark': return { mask: ((hasMask ? mv.mask : 0xffffffff) | mv.value) >>> 0, xor: mv.value, what: `${name} ${v}` };
      case 'and-mark': return { mask: ~mv.value >>> 0, xor: 0, what: `${name} ${v}` };
      case 'or-mark': return { mask: mv.value, xor: mv.value, what: `${name} ${v}` };
      default: return { mask: 0, xor: mv.value, what: `${name} ${v}` };
    }
  }
  return undefined;
}

/** A NAT range `addr[-addr][:port[-port]]` (IPv6: `[addr]:port`): the single address and port, when single. */
function natRange(s: string | undefined, family: Packet['family']): { addr?: bigint; addrText?: string; port?: number; portText?: string; addrGiven: boolean; portGiven: boolean } {
  if (s === undefined) return { addrGiven: false, portGiven: false };
  let addr = s;
  let ports: string | undefined;
  if (family === 'ipv6') {
    const mm = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
    if (mm) { addr = mm[1]; ports = mm[2]; }
  } else {
    const c = s.indexOf(':');
    if (c >= 0) { addr = s.slice(0, c); ports = s.slice(c + 1); }
  }
  const out: { addr?: bigint; addrText?: string; port?: number; portText?: string; addrGiven: boolean; portGiven: boolean } = { addrGiven: addr !== '', portGiven: ports !== undefined && ports !== '' };
  if (addr !== '') {
    out.addrText = addr;
    const [a, b] = addr.split('-');
    const av = parseAddress(a, family);
    if (av !== undefined && (b === undefined || parseAddress(b, family) === av)) out.addr = av;
  }
  if (ports !== undefined && ports !== '') {
    out.portText = ports;
    const [a, b] = ports.split(/[-:]/);
    if (/^[0-9]+$/.test(a) && (b === undefined || b === a)) out.port = Number(a);
  }
  return out;
}

function applyTarget(m: Machine, ctx: Ctx, hook: Hook, table: Table, chain: Chain, rule: Rule, ref: RuleRef, assumedWhy: string | undefined): void {
  m.matched.push(ref);
  const target = rule.info.target;
  const tname = table.name;
  const step = (action: string): void => {
    m.steps.push({ kind: 'rule', hook, table: tname, chain: chain.name, line: ref.line, matched: assumedWhy === undefined ? true : 'undecided', ...(assumedWhy === undefined ? {} : { assumed: true, failed: assumedWhy }), action });
  };
  const family = ctx.packet.family;
  if (!target) {
    step('no target: continue');
    return;
  }
  if (target.kind === 'standard') {
    switch (target.name) {
      case 'ACCEPT':
        step('ACCEPT');
        endTable(m, ref, false, tname);
        return;
      case 'DROP':
        step('DROP');
        m.done = { verdict: 'DROP', ref, policy: false };
        return;
      case 'QUEUE':
        step('QUEUE: handed to user space');
        m.done = { verdict: 'QUEUE', ref, policy: false };
        return;
      default: {
        // RETURN: back to the calling chain, or the policy when there is none.
        m.frames.pop();
        if (m.frames.length === 0) {
          step('RETURN from the built-in chain: its policy applies');
          applyPolicy(m, ctx, hook, table);
        } else {
          step(`RETURN to ${m.frames[m.frames.length - 1].chain}`);
        }
        return;
      }
    }
  }
  if (target.kind === 'chain') {
    const dest = table.chains.get(target.name);
    if (!dest || !dest.exists) {
      step(`${target.goto ? 'goto' : 'jump to'} ${target.name}, which does not exist`);
      m.done = { verdict: 'UNDECIDED', ref, policy: false };
      return;
    }
    // Without a loop, no way from the built-in chain enters a chain twice: a chain already on the
    // way means the jumps loop (the kernel refuses such a table); stop there rather than follow it.
    if (m.frames.some((f) => f.via.includes(target.name))) {
      step(`${target.goto ? 'goto' : 'jump to'} ${target.name}`);
      stop(m, 'UNDECIDED', LOOP_STOP);
      return;
    }
    const top = m.frames[m.frames.length - 1];
    if (target.goto) {
      step(`goto ${target.name}`);
      m.frames[m.frames.length - 1] = { chain: target.name, index: 0, sub: 0, via: [...top.via, target.name] };
    } else {
      step(`jump to ${target.name}`);
      m.frames.push({ chain: target.name, index: 0, sub: 0, via: [target.name] });
    }
    return;
  }
  const st = m.st;
  const es = evalState(ctx, m, hook, tname);
  switch (target.name) {
    case 'MARK': {
      const op = markOp(rule);
      if (op) st.mark = xmark(st.mark, op.mask, op.xor);
      else st.mark = UNKNOWN_BITS;
      m.rewrites.mark = hex(st.mark);
      step(`MARK ${op?.what ?? ''}: mark is now ${hex(st.mark)}`.replace('  ', ' '));
      return;
    }
    case 'CONNMARK': {
      if (es.hasCt === false) {
        step('CONNMARK: no conntrack entry, nothing changes');
        return;
      }
      const mask = (n: string): number => parseMarkValue(optVal(rule, n) ?? optVal(rule, 'mask') ?? '0xffffffff')?.value ?? 0xffffffff;
      if (opt(rule, 'save-mark')) {
        const nf = mask('nfmask');
        const ctm = mask('ctmask');
        st.ctmark = es.hasCt === undefined ? UNKNOWN_BITS : bitsXor(bitsAnd(st.ctmark, ~ctm >>> 0), bitsAnd(st.mark, nf));
        m.rewrites.connmark = hex(st.ctmark);
        step(`CONNMARK save-mark: connection mark is now ${hex(st.ctmark)}`);
      } else if (opt(rule, 'restore-mark')) {
        const nf = mask('nfmask');
        const ctm = mask('ctmask');
        st.mark = es.hasCt === undefined ? UNKNOWN_BITS : bitsXor(bitsAnd(st.mark, ~nf >>> 0), bitsAnd(st.ctmark, ctm));
        m.rewrites.mark = hex(st.mark);
        step(`CONNMARK restore-mark: mark is now ${hex(st.mark)}`);
      } else {
        const op = markOp(rule);
        st.ctmark = op && es.hasCt !== undefined ? xmark(st.ctmark, op.mask, op.xor) : UNKNOWN_BITS;
        m.rewrites.connmark = hex(st.ctmark);
        step(`CONNMARK ${op?.what ?? ''}: connection mark is now ${hex(st.ctmark)}`);
      }
      return;
    }
    case 'NOTRACK':
      st.untracked = true;
      m.rewrites.notrack = 'yes';
      step('NOTRACK: the packet is not tracked (state UNTRACKED)');
      return;
    case 'CT':
      if (opt(rule, 'notrack')) {
        st.untracked = true;
        m.rewrites.notrack = 'yes';
        step('CT --notrack: the packet is not tracked (state UNTRACKED)');
      } else {
        st.ctTemplate = true;
        const zone = optVal(rule, 'zone');
        if (zone !== undefined) m.rewrites.ctZone = zone;
        step(`CT ${rule.info.target!.options.map((o) => `--${o.name}${o.values.length ? ' ' + o.values.map((v) => v.value).join(' ') : ''}`).join(' ')}: conntrack parameters set`);
      }
      return;
    case 'DNAT':
    case 'REDIRECT':
    case 'NETMAP':
    case 'SNAT':
    case 'MASQUERADE':
      applyNat(m, hook, rule, family, step);
      endTable(m, ref, false, tname);
      return;
    case 'DNPT':
    case 'SNPT':
      // The translated address has one 16-bit word adjusted to keep checksums (RFC 6296), which
      // the tracer does not compute: it stops rather than guess what later rules see.
      stop(m, 'UNDECIDED', `${target.name} translates the ${target.name === 'DNPT' ? 'destination' : 'source'} prefix ${optVal(rule, 'src-pfx') ?? ''} to ${optVal(rule, 'dst-pfx') ?? ''} (NPTv6): the tracer does not compute NPTv6 translations, so it cannot say what later rules see`);
      return;
    case 'REJECT': {
      const how = optVal(rule, 'reject-with');
      step(`REJECT${how ? ` with ${how}` : ''}`);
      m.done = { verdict: 'REJECT', ref, policy: false };
      return;
    }
    default:
      if (target.spec?.terminating) {
        step(`${target.name}: the packet leaves the rule set here`);
        m.done = { verdict: target.name, ref, policy: false };
      } else {
        step(`${target.name}: continue`);
      }
  }
}

function applyNat(m: Machine, hook: Hook, rule: Rule, family: Packet['family'], step: (a: string) => void): void {
  const st = m.st;
  const name = rule.info.target!.name;
  const fmt = (a: bigint | undefined): string => (a === undefined ? 'unknown' : formatAddress(a, family));
  if (name === 'DNAT') {
    const r = natRange(optVal(rule, 'to-destination'), family);
    if (r.addrGiven) { st.dst = r.addr; m.rewrites.dst = r.addrText ?? fmt(r.addr); }
    if (r.portGiven) { st.dport = r.port; m.rewrites.dport = r.portText ?? String(r.port); }
    step(`DNAT to ${optVal(rule, 'to-destination') ?? '(ports only)'}: later tables see destination ${fmt(st.dst)}${st.dport !== undefined ? ` port ${st.dport}` : ''}`);
  } else if (name === 'REDIRECT') {
    // The new destination is the primary address of the incoming interface (loopback in OUTPUT).
    st.dst = hook === 'OUTPUT' ? (family === 'ipv4' ? 0x7f000001n : 1n) : undefined;
    const ports = optVal(rule, 'to-ports');
    if (ports !== undefined) { st.dport = /^[0-9]+$/.test(ports) ? Number(ports) : undefined; m.rewrites.dport = ports; }
    m.rewrites.dst = hook === 'OUTPUT' ? fmt(st.dst) : 'an address of the incoming interface';
    step(`REDIRECT${ports ? ` to port ${ports}` : ''}: the packet goes to this host`);
  } else if (name === 'NETMAP') {
    const net = parseNet(optVal(rule, 'to') ?? '', family);
    const dstSide = hook === 'PREROUTING' || hook === 'OUTPUT';
    const cur = dstSide ? st.dst : st.src;
    const mapped = net && cur !== undefined ? (cur & ~net.mask & ((1n << (family === 'ipv4' ? 32n : 128n)) - 1n)) | net.addr : undefined;
    if (dstSide) { st.dst = mapped; m.rewrites.dst = fmt(mapped); } else { st.src = mapped; m.rewrites.src = fmt(mapped); }
    step(`NETMAP to ${optVal(rule, 'to')}: ${dstSide ? 'destination' : 'source'} becomes ${fmt(mapped)}`);
  } else if (name === 'SNAT') {
    const r = natRange(optVal(rule, 'to-source'), family);
    if (r.addrGiven) { st.src = r.addr; m.rewrites.src = r.addrText ?? fmt(r.addr); }
    if (r.portGiven) { st.sport = r.port; m.rewrites.sport = r.portText ?? String(r.port); }
    step(`SNAT to ${optVal(rule, 'to-source') ?? '(ports only)'}`);
  } else {
    st.src = undefined;
    m.rewrites.src = 'the address of the outgoing interface (MASQUERADE)';
    const ports = optVal(rule, 'to-ports');
    if (ports !== undefined) m.rewrites.sport = ports;
    step(`MASQUERADE: source becomes the outgoing interface's address${ports ? `, port ${ports}` : ''}`);
  }
}
