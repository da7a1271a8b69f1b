/**
 * The packet tracer's public interface: parse a packet description, trace it through a model, and
 * render the result as JSON (the CLI's and the editor's wire format) or as a story in words.
 */
import type { Hook } from '../extensions/extensions.ts';
import { formatPacket } from './packet.ts';
import type { PolicyUse, RuleRef, TraceOutcome, TraceResult, TraceStep } from './trace.ts';

export { trace, hooksOf, PATH_HOOKS, HOOK_TABLES, MAX_OUTCOMES } from './trace.ts';
export type { TracePath, TraceResult, TraceOutcome, TraceStep, RuleRef, PolicyUse } from './trace.ts';
export { parsePacket, formatPacket, formatAddress, parseAddress, PacketSyntaxError } from './packet.ts';
export type { Packet, CtState } from './packet.ts';

/** One outcome in the JSON format. */
export interface OutcomeJson {
  readonly verdict: string;
  readonly policy: boolean;
  readonly decidedBy: RuleRef | null;
  readonly matched: readonly RuleRef[];
  readonly policies: readonly PolicyUse[];
  readonly steps: readonly TraceStep[];
  readonly rewrites: Readonly<Record<string, string>>;
  readonly assumptions: readonly string[];
}

/**
 * The JSON form of a trace. When the trace is decided (one outcome), `policy`, `decidedBy`,
 * `matched`, `steps` and `rewrites` describe it; otherwise they are null and `outcomes` lists
 * every branch with the assumptions that lead to it. `verdict` is UNDECIDED when branches differ.
 */
export interface TraceJson {
  readonly packet: string;
  readonly hooks: readonly Hook[];
  readonly verdict: string;
  readonly decided: boolean;
  readonly policy: boolean | null;
  readonly decidedBy: RuleRef | null;
  readonly matched: readonly RuleRef[] | null;
  readonly policies: readonly PolicyUse[] | null;
  readonly steps: readonly TraceStep[] | null;
  readonly rewrites: Readonly<Record<string, string>> | null;
  readonly outcomes: readonly OutcomeJson[];
  readonly truncated: boolean;
}

function outcomeJson(o: TraceOutcome): OutcomeJson {
  return { verdict: o.verdict, policy: o.policy, decidedBy: o.decidedBy ?? null, matched: o.matched, policies: o.policies, steps: o.steps, rewrites: o.rewrites, assumptions: o.assumptions };
}

/** Converts a trace to its JSON form. */
export function traceToJson(r: TraceResult): TraceJson {
  const outcomes = r.outcomes.map(outcomeJson);
  const one = r.decided ? outcomes[0] : undefined;
  return {
    packet: formatPacket(r.packet),
    hooks: r.hooks,
    verdict: r.verdict,
    decided: r.decided,
    policy: one ? one.policy : null,
    decidedBy: one ? one.decidedBy : null,
    matched: one ? one.matched : null,
    policies: one ? one.policies : null,
    steps: one ? one.steps : null,
    rewrites: one ? one.rewrites : null,
    outcomes,
    truncated: r.truncated,
  };
}

/** One step as a sentence. */
export function stepText(s: TraceStep): string {
  const where = `${s.table} ${s.chain ?? ''}`.trim();
  const line = s.line !== undefined && s.line !== null ? ` line ${s.line}` : '';
  switch (s.kind) {
    case 'table':
      return `${s.hook}: enter the ${s.table} table (chain ${s.chain})`;
    case 'skip-table':
      return `${s.hook}: skip the ${s.table} table — ${s.action}`;
    case 'policy':
      return `  ${where}: end of the chain, policy ${s.action?.replace(/^policy /, '')}${line ? ` (declared on${line})` : ''}`;
    case 'return':
      return `  ${where}: ${s.action}`;
    case 'stop':
      return `  stopped: ${s.action}`;
    default:
      if (s.matched === false) return `  ${where}${line}: no match (${s.failed})`;
      if (s.matched === 'undecided') return s.assumed ? `  ${where}${line}: undecided (${s.failed}) — assuming it matches: ${s.action}` : `  ${where}${line}: undecided (${s.failed}) — assuming it does not match`;
      return `  ${where}${line}: match → ${s.action}`;
  }
}

function refText(r: RuleRef | undefined | null, policy: boolean): string {
  if (!r) return 'no rule (no table on the path has a chain for it)';
  return policy ? `the policy of ${r.table} ${r.chain}${r.line !== null ? ` (line ${r.line})` : ''}` : `${r.table} ${r.chain} line ${r.line}`;
}

/** The trace as a story, one line per step. */
export function traceToText(r: TraceResult): string {
  const out: string[] = [`packet: ${formatPacket(r.packet)}`, `hooks: ${r.hooks.join(' → ')}`];
  r.outcomes.forEach((o, k) => {
    if (!r.decided) {
      out.push('');
      out.push(`outcome ${k + 1} of ${r.outcomes.length}: ${o.verdict}`);
      for (const a of o.assumptions) out.push(`  assuming ${a}`);
    }
    for (const s of o.steps) out.push(stepText(s));
    const rw = Object.entries(o.rewrites);
    if (rw.length) out.push(`rewrites: ${rw.map(([k2, v]) => `${k2}=${v}`).join(', ')}`);
    out.push(`verdict: ${o.verdict}${o.verdict === 'UNDECIDED' ? '' : ` by ${refText(o.decidedBy, o.policy)}`}`);
  });
  if (!r.decided) {
    out.push('');
    out.push(r.truncated ? `result: UNDECIDED (more than the first ${r.outcomes.length} branches; give more packet fields)` : `result: ${r.verdict === 'UNDECIDED' ? 'UNDECIDED: the verdict depends on conditions the packet description does not settle' : `${r.verdict} in every branch`}`);
  }
  return out.join('\n') + '\n';
}

/** A packet description that failed to parse, for batch output. */
export interface PacketErrorJson {
  readonly packet: string;
  readonly error: string;
}
export { packetFromRule } from './from-rule.ts';
export type { PrefilledTrace } from './from-rule.ts';
