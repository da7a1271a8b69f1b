/**
 * The legacy l3 agent's rules in a router namespace (neutron/agent/l3/router_info.py): metadata
 * proxy, SNAT and floating IPs, the external mark, address-scope marks and their drop rule, and
 * the connmark save/restore rules. Order within each chain follows the agent's processing order.
 */
import { formatAddress, type IpVersion } from '../policy/addresses.ts';
import { qgDevice, qrDevice, scopeMarks, type Policy, type Router } from '../policy/model.ts';
import { IptablesManager } from './manager.ts';

/** The l3 agent's binary name. */
export const L3_BINARY = 'neutron-l3-agent';
/** The metadata proxy's port in the router namespace. */
export const METADATA_PORT = 9697;

/** The namespace of a legacy router. */
export function routerNamespace(router: Router): string {
  return `qrouter-${router.id ?? router.name}`;
}

/** A fresh l3-agent manager for one family (the base every router namespace has). */
export function l3Manager(policy: Policy, family: IpVersion): IptablesManager {
  return new IptablesManager({ binaryName: L3_BINARY, family, comments: policy.defaults.comments, stateful: true, nat: true });
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** Adds a router's rules for one family to an l3-agent manager. */
export function addRouterRules(mgr: IptablesManager, policy: Policy, router: Router, family: IpVersion): void {
  const v4 = family === 4;
  const legacy = policy.defaults.profile === 'legacy';
  const random = legacy ? '' : ' --random-fully';
  const gw = router.gateway;
  const gwDev = gw ? qgDevice(gw.portId) : undefined;
  const marks = scopeMarks(router);

  // Address scopes: chains and jumps exist for every router; marks for ports of this family.
  mgr.addChain('filter', 'scope');
  mgr.addRule('filter', 'FORWARD', `-j ${mgr.wrap('scope')}`);
  mgr.addChain('mangle', 'scope');
  mgr.addRule('mangle', 'PREROUTING', `-j ${mgr.wrap('scope')}`);
  mgr.addRule('mangle', 'PREROUTING', '-m connmark ! --mark 0x0/0xffff0000 -j CONNMARK --restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000');
  if (v4) {
    mgr.addChain('mangle', 'floatingip');
    mgr.addChain('mangle', 'float-snat');
    mgr.addRule('mangle', 'PREROUTING', `-j ${mgr.wrap('floatingip')}`);
  }

  // The metadata proxy.
  if (router.metadata) {
    const md = v4 ? '169.254.169.254/32' : 'fe80::a9fe:a9fe/128';
    mgr.addRule('mangle', 'PREROUTING', `-d ${md} -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffff`);
    if (v4) {
      mgr.addRule('nat', 'PREROUTING', `-d ${md} -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${METADATA_PORT}`);
      mgr.addRule('filter', 'INPUT', '-m mark --mark 0x1/0xffff -j ACCEPT');
      mgr.addRule('filter', 'INPUT', `-p tcp -m tcp --dport ${METADATA_PORT} -j DROP`);
    }
  }

  // Address-scope marks of the internal ports, then the gateway.
  for (const p of router.interfaces) {
    if (p.ip.version !== family) continue;
    const mark = marks.get(p.scope ?? '') as number;
    mgr.addRule('mangle', 'scope', `-i ${qrDevice(p.portId)} -j MARK --set-xmark ${hex(mark)}/0xffff0000`);
    mgr.addRule('filter', 'scope', `-o ${qrDevice(p.portId)} -m mark ! --mark ${hex(mark)}/0xffff0000 -j DROP`);
  }
  if (gw && gwDev && gw.ip.version === family) {
    const mark = marks.get(gw.scope ?? '') as number;
    mgr.addRule('mangle', 'scope', `-i ${gwDev} -j MARK --set-xmark ${hex(mark)}/0xffff0000`);
  }

  // The gateway: external mark, SNAT, the DNAT bypass, connmark saving (IPv4 only).
  if (gw && gwDev && v4 && gw.ip.version === 4) {
    const gwIp = formatAddress(4, gw.ip.value);
    mgr.addRule('mangle', 'POSTROUTING', `-o ${gwDev} -m connmark --mark 0x0/0xffff0000 -j CONNMARK --save-mark --nfmask 0xffff0000 --ctmask 0xffff0000`);
    mgr.addRule('mangle', 'float-snat', '-m connmark --mark 0x0/0xffff0000 -j CONNMARK --save-mark --nfmask 0xffff0000 --ctmask 0xffff0000');
    if (router.snat) {
      mgr.addRule('nat', 'snat', `-o ${gwDev} -j SNAT --to-source ${gwIp}${random}`);
      mgr.addRule('nat', 'snat', `-m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source ${gwIp}${random}`);
    }
    mgr.addRule('nat', 'POSTROUTING', legacy ? `! -i ${gwDev} ! -o ${gwDev} -m conntrack ! --ctstate DNAT -j ACCEPT` : `! -o ${gwDev} -m conntrack ! --ctstate DNAT -j ACCEPT`);
    mgr.addRule('mangle', 'mark', `-i ${gwDev} -j MARK --set-xmark 0x2/0xffff`);

    // Floating IPs.
    for (const f of router.floatingIps) {
      const fip = formatAddress(4, f.floating.value);
      const fixed = formatAddress(4, f.fixed.value);
      mgr.addRule('nat', 'PREROUTING', `-d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      mgr.addRule('nat', 'OUTPUT', `-d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      mgr.addRule('nat', 'float-snat', `-s ${fixed}/32 -j SNAT --to-source ${fip}${random}`);
    }
  }
}
