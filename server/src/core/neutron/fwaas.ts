/**
 * The FWaaS iptables driver in a router namespace (neutron_fwaas/services/firewall/service_drivers/
 * agents/drivers/linux/iptables_fwaas_v2.py): per-firewall ingress/egress chains, the accepted /
 * dropped / rejected action chains, the default-policy chain and the per-port jumps. Version 1
 * (removed in 2018) is available as a legacy option.
 */
import { formatAddress, type IpVersion, type Prefix } from '../policy/addresses.ts';
import { qrDevice, type FirewallGroup, type FirewallRule, type Router } from '../policy/model.ts';
import type { IptablesManager } from './manager.ts';

function cidr(p: Prefix): string {
  return `${formatAddress(p.version, p.value)}/${p.length}`;
}

/** The iptables arguments of one firewall rule, without its target. */
function ruleArgs(rule: FirewallRule): string {
  const parts: string[] = [];
  let proto = rule.protocol;
  if (rule.ethertype === 6 && (proto === 'icmp' || proto === 'icmpv6')) proto = 'ipv6-icmp';
  if (proto) parts.push(`-p ${proto}`);
  if (rule.source && rule.source.length !== 0) parts.push(`-s ${cidr(rule.source)}`);
  if (rule.destination && rule.destination.length !== 0) parts.push(`-d ${cidr(rule.destination)}`);
  if (proto && (rule.ports || rule.sourcePorts)) parts.push(`-m ${proto}`);
  const range = (r: { min: number; max: number }): string => (r.min === r.max ? String(r.min) : `${r.min}:${r.max}`);
  if (rule.sourcePorts) parts.push(`--sport ${range(rule.sourcePorts)}`);
  if (rule.ports) parts.push(`--dport ${range(rule.ports)}`);
  return parts.join(' ');
}

/** The router devices a firewall group applies to. */
export function firewallDevices(fwg: FirewallGroup, router: Router): string[] {
  const ids = fwg.ports ?? router.interfaces.map((p) => p.portId);
  return ids.map(qrDevice);
}

/** Adds a firewall group's rules for one family to an l3-agent manager. */
export function addFirewallRules(mgr: IptablesManager, fwg: FirewallGroup, router: Router, family: IpVersion): void {
  const v = family === 6 ? 'v6' : 'v4';
  const ichain = `i${v}${fwg.id}`;
  const ochain = `o${v}${fwg.id}`;
  const devices = firewallDevices(fwg, router);
  const reject = family === 6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
  const rules = fwg.rules.filter((r) => r.enabled && r.ethertype === family);
  if (fwg.version === 1) {
    // FWaaS v1: plain targets, every rule in both chains, jumps on the qr-+ wildcard.
    mgr.addChain('filter', ichain);
    mgr.addChain('filter', ochain);
    mgr.addChain('filter', 'fwaas-default-policy');
    mgr.addRule('filter', 'fwaas-default-policy', '-j DROP');
    const target = { allow: 'ACCEPT', deny: 'DROP', reject: `REJECT --reject-with ${reject}` } as const;
    for (const c of [ichain, ochain]) {
      mgr.addRule('filter', c, '-m state --state INVALID -j DROP');
      mgr.addRule('filter', c, '-m state --state RELATED,ESTABLISHED -j ACCEPT');
      for (const r of rules) {
        const a = ruleArgs(r);
        mgr.addRule('filter', c, `${a ? `${a} ` : ''}-j ${target[r.action]}`);
      }
    }
    mgr.addRule('filter', 'FORWARD', `-o qr-+ -j ${mgr.wrap(ichain)}`);
    mgr.addRule('filter', 'FORWARD', `-i qr-+ -j ${mgr.wrap(ochain)}`);
    mgr.addRule('filter', 'FORWARD', `-o qr-+ -j ${mgr.wrap('fwaas-default-policy')}`);
    mgr.addRule('filter', 'FORWARD', `-i qr-+ -j ${mgr.wrap('fwaas-default-policy')}`);
    return;
  }
  for (const [c, t] of [['accepted', '-j ACCEPT'], ['dropped', '-j DROP'], ['rejected', `-j REJECT --reject-with ${reject}`]] as const) {
    mgr.addChain('filter', c);
    mgr.addRule('filter', c, t);
  }
  mgr.addChain('filter', 'fwaas-default-policy');
  mgr.addRule('filter', 'fwaas-default-policy', `-j ${mgr.wrap('dropped')}`);
  const target = { allow: mgr.wrap('accepted'), deny: mgr.wrap('dropped'), reject: mgr.wrap('rejected') } as const;
  for (const [c, dir] of [[ichain, 'ingress'], [ochain, 'egress']] as const) {
    mgr.addChain('filter', c);
    mgr.addRule('filter', c, `-m state --state INVALID -j ${mgr.wrap('dropped')}`);
    mgr.addRule('filter', c, '-m state --state RELATED,ESTABLISHED -j ACCEPT');
    for (const r of rules.filter((x) => x.direction === dir)) {
      const a = ruleArgs(r);
      mgr.addRule('filter', c, `${a ? `${a} ` : ''}-j ${target[r.action]}`);
    }
  }
  for (const dev of devices) {
    mgr.addRule('filter', 'FORWARD', `-o ${dev} -j ${mgr.wrap(ichain)}`);
    mgr.addRule('filter', 'FORWARD', `-i ${dev} -j ${mgr.wrap(ochain)}`);
  }
  for (const dev of devices) {
    mgr.addRule('filter', 'FORWARD', `-o ${dev} -j ${mgr.wrap('fwaas-default-policy')}`);
    mgr.addRule('filter', 'FORWARD', `-i ${dev} -j ${mgr.wrap('fwaas-default-policy')}`);
  }
}
