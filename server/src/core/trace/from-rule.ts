/**
 * "Why would this be dropped?": a packet description that a rule would match, prefilled from the
 * rule's own conditions, and the path on which the rule's chain is reached. The result is a
 * starting point the user edits; conditions that cannot be written as a packet field are left
 * out (the tracer then treats those fields as "any").
 */
import type { Rule } from '../model.ts';
import { reachingHooks } from '../model.ts';
import type { TracePath } from './trace.ts';

/** A packet in the tracer's syntax and the path to trace it on. */
export interface PrefilledTrace {
  readonly packet: string;
  readonly path: TracePath;
}

/** The first address of an `-s`/`-d` value (a prefix's network address stands for the prefix). */
function firstAddress(v: string): string {
  return v.split(',')[0].split('/')[0];
}

/** The first port of a port, range or multiport list. */
function firstPort(v: string): string {
  return v.split(',')[0].split(':')[0];
}

/** Builds a packet that satisfies the rule's non-negated, expressible conditions. */
export function packetFromRule(rule: Rule): PrefilledTrace {
  const fields: string[] = [];
  const add = (k: string, v?: string): void => {
    if (!fields.some((f) => f.startsWith(k + '=') || f === k)) fields.push(v === undefined ? k : `${k}=${v}`);
  };
  const { info } = rule;
  for (const b of info.base) {
    const v = b.values[0]?.value;
    if (b.negated || v === undefined) continue;
    if (b.name === 's') add('src', firstAddress(v));
    else if (b.name === 'd') add('dst', firstAddress(v));
    else if (b.name === 'p' && v !== 'all' && v !== '0') add('proto', v);
    else if (b.name === 'i' && !v.endsWith('+')) add('in', v);
    else if (b.name === 'o' && !v.endsWith('+')) add('out', v);
  }
  for (const m of info.matches) {
    for (const o of m.options) {
      const v = o.values[0]?.value;
      if (o.negated) continue;
      switch (o.name) {
        case 'destination-port':
        case 'destination-ports':
          if (v) add('dport', firstPort(v));
          break;
        case 'source-port':
        case 'source-ports':
          if (v) add('sport', firstPort(v));
          break;
        case 'state':
        case 'ctstate':
          if (v) add('state', v.split(',')[0].toUpperCase());
          break;
        case 'icmp-type':
        case 'icmpv6-type':
          if (v) add('icmp-type', v);
          break;
        case 'physdev-in':
          if (v && !v.endsWith('+')) add('physdev-in', v);
          break;
        case 'physdev-out':
          if (v && !v.endsWith('+')) add('physdev-out', v);
          break;
        case 'physdev-is-bridged':
          add('physdev-is-bridged');
          break;
        case 'syn':
          add('flags', 'SYN');
          break;
        default:
          break;
      }
    }
  }
  // Choose the path from the hooks that reach the rule's chain; FORWARD is the usual question on routers.
  const chain = rule.chainName !== undefined ? rule.table.chains.get(rule.chainName) : undefined;
  const hooks = chain ? reachingHooks(rule.table).get(chain) ?? new Set() : new Set();
  const path: TracePath = hooks.has('FORWARD') ? 'forward' : hooks.has('INPUT') || hooks.has('PREROUTING') ? 'input' : hooks.has('OUTPUT') || hooks.has('POSTROUTING') ? 'output' : 'forward';
  return { packet: fields.join(' '), path };
}
