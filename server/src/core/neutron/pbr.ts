/**
 * The policy-based steering recipe (neutron-iptables.md §5): a routing table whose default route
 * is the firewall appliance, `ip rule`s that steer traffic entering from the VM-side qr- devices
 * and traffic from the gateway to the tenant CIDRs into it, and the raw-table NOTRACK rules that
 * keep conntrack from treating the re-injected packets as the same flow. The MARK-based variant
 * (`mark VALUE`) is generated as well, with the warning that Neutron's scope rule drops it.
 */
import { formatAddress, type IpVersion } from '../policy/addresses.ts';
import { qgDevice, scopeMarks, qrDevice, type Policy, type Router, type Steering } from '../policy/model.ts';
import { routerNamespace } from './l3.ts';

/** The recipe for one steering block and one family. */
export interface SteeringRecipe {
  readonly namespace: string;
  /** `ip` commands (without the `ip netns exec` prefix), in order. */
  readonly commands: readonly string[];
  /** Rules per table and builtin chain, in `-A`-free argument form. */
  readonly rules: ReadonlyMap<'raw' | 'mangle', readonly { readonly chain: string; readonly args: string }[]>;
  readonly warnings: readonly string[];
}

/** Builds the steering recipe of a router for one family; throws an Error on an unusable policy. */
export function steeringRecipe(policy: Policy, router: Router, family: IpVersion): SteeringRecipe[] {
  const out: SteeringRecipe[] = [];
  for (const s of policy.steerings.filter((x) => x.router === router.name)) out.push(recipe(s, router, family));
  return out;
}

function recipe(s: Steering, router: Router, family: IpVersion): SteeringRecipe {
  const ip = family === 6 ? 'ip -6' : 'ip';
  if (!s.firewall) throw new Error(`steering '${s.name}' has no firewall statement`);
  if (s.firewall.ip.version !== family) throw new Error(`steering '${s.name}': the firewall address is IPv${s.firewall.ip.version}, so there is no IPv${family} recipe (generate without${family === 6 ? '' : ' --ipv4,'} --ipv6${family === 6 ? '' : ''})`);
  const fwIp = formatAddress(family, s.firewall.ip.value);
  const fwDev = s.firewall.dev;
  const commands: string[] = [`${ip} route replace default via ${fwIp} dev ${fwDev} table ${s.table}`];
  const raw: { chain: string; args: string }[] = [];
  const mangle: { chain: string; args: string }[] = [];
  const warnings: string[] = [];
  const cidrs = s.ingressCidrs.filter((c) => c.version === family).map((c) => `${formatAddress(c.version, c.value)}/${c.length}`);
  if (s.mark !== undefined) {
    const m = `0x${s.mark.toString(16)}`;
    commands.push(`${ip} rule add fwmark ${m} table ${s.table}`);
    for (const dev of s.egressDevices) mangle.push({ chain: 'PREROUTING', args: `-i ${dev} -j MARK --set-mark ${m}` });
    const fwPort = router.interfaces.find((p) => qrDevice(p.portId) === fwDev);
    const scope = scopeMarks(router).get(fwPort?.scope ?? '') ?? 0x4000000;
    if (((s.mark & 0xffff0000) >>> 0) !== scope) {
      warnings.push(`steering '${s.name}': MARK --set-mark ${m} overwrites the address-scope mark 0x${scope.toString(16)}/0xffff0000, and Neutron's rule '-A neutron-l3-agent-scope -o ${fwDev} -m mark ! --mark 0x${scope.toString(16)}/0xffff0000 -j DROP' drops the steered traffic; use the ip-rule variant (remove 'mark')`);
    }
  } else {
    for (const dev of s.egressDevices) commands.push(`${ip} rule add dev ${dev} table ${s.table}`);
  }
  const gw = router.gateway ? qgDevice(router.gateway.portId) : undefined;
  if (cidrs.length > 0 && !gw) throw new Error(`steering '${s.name}': router '${router.name}' has no gateway to steer ingress traffic from`);
  for (const c of cidrs) commands.push(`${ip} rule add dev ${gw as string} to ${c} table ${s.table}`);
  for (const dev of s.egressDevices) raw.push({ chain: 'PREROUTING', args: `-i ${dev} -j NOTRACK` });
  for (const c of cidrs) raw.push({ chain: 'PREROUTING', args: `-i ${fwDev} -d ${c} -j NOTRACK` });
  const rules = new Map<'raw' | 'mangle', { chain: string; args: string }[]>([['raw', raw]]);
  if (mangle.length > 0) rules.set('mangle', mangle);
  return { namespace: routerNamespace(router), commands, rules, warnings };
}
