/**
 * "Why would this be dropped?": a packet description that a rule would match, prefilled from the
 * rule's own conditions, and the path on which the rule's chain is reached. The result is a
 * starting point the user edits; conditions that cannot be written as a packet field are left
 * out (the tracer then treats those fields as "any"). Values are read as iptables reads them
 * (`-s 010.0.0.1` is 8.0.0.1, `--icmp-type port-unr` is 3/3, tcp's `--dport 0x16` is 22) and
 * written as the tracer reads them; a value iptables would refuse is left out, so that the
 * prefilled packet always parses.
 */
import type { Rule } from '../model.ts';
import { reachingHooks } from '../model.ts';
import { ICMP_TYPES, ICMPV6_TYPES, looksNumeric, protocolNumberOf, readIPv4, readIcmpType, readPortRange } from '../extensions/value-kinds.ts';
import { parsePacket } from './packet.ts';
import type { TracePath } from './trace.ts';

/** A packet in the tracer's syntax and the path to trace it on. */
export interface PrefilledTrace {
  readonly packet: string;
  readonly path: TracePath;
}

/**
 * The first address of an `-s`/`-d` value (a prefix's network address stands for the prefix), as
 * iptables reads an IPv4 address (short and base-0 forms); IPv6 addresses as written.
 */
function firstAddress(v: string, ipv4: boolean): string | undefined {
  const a = v.split(',')[0].split('/')[0];
  if (!ipv4) return a;
  const n = readIPv4(a);
  return n === undefined ? undefined : [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The first port of a port, range or multiport list, read as the option's module reads it. */
function firstPort(v: string, kind: string | undefined, protocol: string | undefined): string | undefined {
  const r = readPortRange(v.split(',')[0], kind, protocol);
  return r === undefined ? undefined : String(r[0]);
}

/** Builds a packet that satisfies the rule's non-negated, expressible conditions. */
export function packetFromRule(rule: Rule): PrefilledTrace {
  const fields: string[] = [];
  const family = rule.table.family;
  const ipv4 = family === 'ipv4';
  // A field the tracer cannot read (a value iptables refuses too) is left out: "any". `value`
  // undefined is a value that could not be read; `flag` adds a field that has no value.
  const add = (k: string, value: string | undefined, flag = false): void => {
    if (value === undefined && !flag) return;
    if (fields.some((f) => f.startsWith(k + '=') || f === k)) return;
    const field = value === undefined ? k : `${k}=${value}`;
    try {
      parsePacket(field, family);
    } catch {
      return;
    }
    fields.push(field);
  };
  const { info } = rule;
  const proto = info.protocolNegated ? undefined : info.protocol;
  for (const b of info.base) {
    const v = b.values[0]?.value;
    if (b.negated || v === undefined) continue;
    if (b.name === 's') add('src', firstAddress(v, ipv4));
    else if (b.name === 'd') add('dst', firstAddress(v, ipv4));
    else if (b.name === 'p') {
      // Protocol numbers are base 0 to iptables (`017` is 15); names as written.
      const n = looksNumeric(v) ? protocolNumberOf(v) : undefined;
      if (n !== 0 && v.toLowerCase() !== 'all') add('proto', n !== undefined ? String(n) : looksNumeric(v) ? undefined : v);
    }
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
          if (v) add('dport', firstPort(v, o.spec?.args[0]?.kind, proto));
          break;
        case 'source-port':
        case 'source-ports':
          if (v) add('sport', firstPort(v, o.spec?.args[0]?.kind, proto));
          break;
        case 'state':
        case 'ctstate':
          if (v) add('state', v.split(',')[0].toUpperCase());
          break;
        case 'icmp-type':
        case 'icmpv6-type': {
          const read = v ? readIcmpType(v, o.name === 'icmp-type' ? ICMP_TYPES : ICMPV6_TYPES) : undefined;
          if (read) add('icmp-type', read.codes[0] === read.codes[1] ? `${read.type}/${read.codes[0]}` : String(read.type));
          break;
        }
        case 'physdev-in':
          if (v && !v.endsWith('+')) add('physdev-in', v);
          break;
        case 'physdev-out':
          if (v && !v.endsWith('+')) add('physdev-out', v);
          break;
        case 'physdev-is-bridged':
          add('physdev-is-bridged', undefined, true);
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
  // In POSTROUTING, only a forwarded packet has an incoming interface for `-i` to match.
  const namesIn = fields.some((f) => f.startsWith('in='));
  const path: TracePath = hooks.has('FORWARD') ? 'forward' : hooks.has('INPUT') || hooks.has('PREROUTING') ? 'input' : hooks.has('POSTROUTING') && namesIn ? 'forward' : hooks.has('OUTPUT') || hooks.has('POSTROUTING') ? 'output' : 'forward';
  // Fields that only disagree together (ports with a protocol that has none …): drop the last ones.
  while (fields.length > 0) {
    try {
      parsePacket(fields.join(' '), family);
      break;
    } catch {
      fields.pop();
    }
  }
  return { packet: fields.join(' '), path };
}
