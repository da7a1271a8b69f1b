/**
 * The difference between the rules two policies generate, and — for security groups — the
 * `conntrack -D` commands that end the flows the new policy no longer allows, as Neutron's
 * conntrack manager (neutron/agent/linux/ip_conntrack.py) issues them: per removed rule and VM
 * address in the port's zone, and per removed remote-group member.
 */
import { formatAddress, type IpVersion } from '../policy/addresses.ts';
import type { Policy, SgRule } from '../policy/model.ts';
import type { GenerateResult } from './index.ts';
import { TABLE_ORDER, type TableName } from './manager.ts';

/** Rule changes of one table. */
export interface TableDiff {
  readonly table: TableName;
  readonly removed: readonly string[];
  readonly added: readonly string[];
}

/** The result of comparing two generated outputs. */
export interface GenDiff {
  readonly tables: readonly TableDiff[];
  /** Member changes per ipset: `-` removed, `+` added addresses. */
  readonly ipsets: readonly { readonly name: string; readonly removed: readonly string[]; readonly added: readonly string[] }[];
  /** `conntrack -D …` commands, in order, without duplicates. */
  readonly conntrack: readonly string[];
}

function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/** The conntrack command prefix for a rule: `conntrack -D [-p P] -f ipvN -d|-s`. */
function conntrackPrefix(rule: SgRule, family: IpVersion): string {
  const parts = ['conntrack -D'];
  if (rule.protocol !== undefined) parts.push(`-p ${family === 6 && (rule.protocol === 'icmp' || rule.protocol === 'icmpv6') ? 'ipv6-icmp' : rule.protocol}`);
  parts.push(`-f ipv${family}`);
  parts.push(rule.direction === 'ingress' ? '-d' : '-s');
  return parts.join(' ');
}

/** Compares the outputs of the old and the new policy for one part and family. */
export function diffGenerated(oldPolicy: Policy, oldRes: GenerateResult, newRes: GenerateResult, family: IpVersion): GenDiff {
  const tables: TableDiff[] = [];
  for (const t of TABLE_ORDER) {
    const a = oldRes.lines.get(t) ?? [];
    const b = newRes.lines.get(t) ?? [];
    const removed = multisetMinus(a, b);
    const added = multisetMinus(b, a);
    if (removed.length || added.length) tables.push({ table: t, removed, added });
  }
  const ipsets: { name: string; removed: string[]; added: string[] }[] = [];
  const oldSets = new Map(oldRes.ipsets.map((s) => [s.name, s]));
  const newSets = new Map(newRes.ipsets.map((s) => [s.name, s]));
  for (const name of new Set([...oldSets.keys(), ...newSets.keys()])) {
    const a = oldSets.get(name)?.members ?? [];
    const b = newSets.get(name)?.members ?? [];
    const removed = a.filter((x) => !b.includes(x));
    const added = b.filter((x) => !a.includes(x));
    if (removed.length || added.length) ipsets.push({ name, removed, added });
  }
  const conntrack: string[] = [];
  const seen = new Set<string>();
  const emit = (cmd: string): void => {
    if (!seen.has(cmd)) {
      seen.add(cmd);
      conntrack.push(cmd);
    }
  };
  const oldSg = oldRes.sg;
  const newSg = newRes.sg;
  if (oldSg && newSg) {
    const ports = new Map(oldPolicy.ports.map((p) => [p.id, p]));
    for (const [portId, oldRules] of oldSg.portRules) {
      const zone = oldSg.zones.get(portId);
      const port = ports.get(portId);
      if (zone === undefined || !port) continue;
      const vmIps = port.ips.filter((ip) => ip.version === family).map((ip) => formatAddress(family, ip.value));
      const newRules = newSg.portRules.get(portId);
      const newKeys = new Set((newRules ?? []).map((r) => `${r.rule.direction} ${r.args}`));
      for (const r of oldRules) {
        const key = `${r.rule.direction} ${r.args}`;
        const prefix = conntrackPrefix(r.rule, family);
        if (!newKeys.has(key)) {
          for (const ip of vmIps) {
            const remote = r.remoteIp ? ` ${r.rule.direction === 'ingress' ? '-s' : '-d'} ${r.remoteIp.replace(/\/(32|128)$/, '')}` : '';
            emit(`${prefix} ${ip} -w ${zone}${remote}`);
          }
          continue;
        }
        // A rule that stays but references an ipset: its removed members lose their flows.
        const m = /-m set --match-set (\S+) (src|dst)/.exec(r.args);
        if (!m) continue;
        const change = ipsets.find((s) => s.name === m[1]);
        if (!change) continue;
        for (const member of change.removed) {
          for (const ip of vmIps) emit(`${prefix} ${ip} -w ${zone} ${r.rule.direction === 'ingress' ? '-s' : '-d'} ${member.replace(/\/(32|128)$/, '')}`);
        }
      }
    }
  }
  return { tables, ipsets, conntrack };
}

/** Renders a diff as text: per table `- -A …` / `+ -A …` lines, ipset member changes, then the conntrack commands. */
export function formatDiff(d: GenDiff, oldName: string, newName: string, family: IpVersion): string {
  const out = [`--- ${oldName} (IPv${family})`, `+++ ${newName} (IPv${family})`];
  for (const t of d.tables) {
    out.push(`*${t.table}`);
    for (const r of t.removed) out.push(`- ${r}`);
    for (const r of t.added) out.push(`+ ${r}`);
  }
  for (const s of d.ipsets) {
    out.push(`# ipset ${s.name}`);
    for (const r of s.removed) out.push(`- ${r}`);
    for (const r of s.added) out.push(`+ ${r}`);
  }
  if (d.conntrack.length) {
    out.push('# End the flows the new policy no longer allows:');
    out.push(...d.conntrack);
  }
  if (d.tables.length === 0 && d.ipsets.length === 0) out.push('# no rule changes');
  return out.join('\n') + '\n';
}
