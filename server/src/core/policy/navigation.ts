/**
 * Editor navigation for policy files: go to the declaration of a referenced name, and hover text
 * for declarations and references (what Neutron derives from the object: devices, chains, ipset
 * names, namespaces). Pure logic over a PolicyResult.
 */
import type { Position, Range } from '../diagnostics.ts';
import { formatPrefix } from './addresses.ts';
import type { PolicyResult } from './model.ts';
import { qgDevice, qrDevice } from './model.ts';

function inside(r: Range, p: Position): boolean {
  const afterStart = p.line > r.start.line || (p.line === r.start.line && p.character >= r.start.character);
  const beforeEnd = p.line < r.end.line || (p.line === r.end.line && p.character <= r.end.character);
  return afterStart && beforeEnd;
}

/** The name (kind and name) under a position: a reference or a declaration's name. */
export function nameAt(res: PolicyResult, pos: Position): { kind: string; name: string; range: Range } | undefined {
  for (const r of res.references) if (inside(r.range, pos)) return r;
  for (const d of res.declarations.values()) if (inside(d.nameRange, pos)) return { kind: d.kind, name: d.name, range: d.nameRange };
  return undefined;
}

/** The range of the declaration's name of the reference under a position. */
export function policyDefinitionAt(res: PolicyResult, pos: Position): Range | undefined {
  const hit = nameAt(res, pos);
  if (!hit) return undefined;
  return res.declarations.get(`${hit.kind}:${hit.name}`)?.nameRange;
}

/** Markdown describing the object under a position, with the range it applies to. */
export function policyHoverAt(res: PolicyResult, pos: Position): { markdown: string; range: Range } | undefined {
  const hit = nameAt(res, pos);
  if (!hit) return undefined;
  const p = res.policy;
  const lines: string[] = [];
  switch (hit.kind) {
    case 'security-group': {
      const g = p.securityGroups.find((x) => x.name === hit.name);
      if (!g) return undefined;
      const members = p.ports.filter((x) => x.securityGroups.includes(g.name));
      lines.push(`**security group** \`${g.name}\`${g.stateless ? ' (stateless)' : ''}`, '', `id \`${g.id}\``, '', `${g.rules.length} rule${g.rules.length === 1 ? '' : 's'}; members: ${members.map((x) => `\`${x.name}\``).join(', ') || 'none'}`, '', `ipsets \`${`NIPv4${g.id}`.slice(0, 29)}\`, \`${`NIPv6${g.id}`.slice(0, 29)}\``);
      break;
    }
    case 'port': {
      const x = p.ports.find((y) => y.name === hit.name);
      if (!x) return undefined;
      lines.push(`**port** \`${x.name}\``, '', `id \`${x.id}\`, MAC \`${x.mac}\``, '', `devices \`${`tap${x.id}`.slice(0, 14)}\`, \`${`qvb${x.id}`.slice(0, 14)}\`; chains \`i${x.id.slice(0, 10)}\`, \`o${x.id.slice(0, 10)}\`, \`s${x.id.slice(0, 10)}\``);
      break;
    }
    case 'network': {
      const n = p.networks.find((y) => y.name === hit.name);
      if (!n) return undefined;
      lines.push(`**network** \`${n.name}\``, '', `id \`${n.id}\`; bridge \`${`brq${n.id}`.slice(0, 14)}\``, '', `CIDRs: ${n.cidrs.map((c) => `\`${formatPrefix(c)}\``).join(', ') || 'none'}`);
      break;
    }
    case 'router': {
      const r = p.routers.find((y) => y.name === hit.name);
      if (!r) return undefined;
      lines.push(`**router** \`${r.name}\``, '', `namespace \`qrouter-${r.id ?? r.name}\``);
      if (r.gateway) lines.push('', `gateway \`${qgDevice(r.gateway.portId)}\` ${formatPrefix(r.gateway.ip)}`);
      if (r.interfaces.length) lines.push('', `interfaces ${r.interfaces.map((i) => `\`${qrDevice(i.portId)}\` ${formatPrefix(i.ip)}`).join(', ')}`);
      break;
    }
    default: {
      const d = res.declarations.get(`${hit.kind}:${hit.name}`);
      if (!d) return undefined;
      lines.push(`**${hit.kind}** \`${hit.name}\``);
    }
  }
  return { markdown: lines.join('\n'), range: hit.range };
}
