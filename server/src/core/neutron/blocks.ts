/**
 * Neutron blocks for iptables-save files: a few parameters (port id, MAC, addresses …) are turned
 * into a small policy in memory, which the generator turns into the rules Neutron would program.
 * The editor's "Insert Neutron Block…" asks for the parameters described by `BLOCK_KINDS`, calls
 * `generateBlock`, and merges the result with `insertBlock` (insert.ts). Pure logic.
 */
import { qrDevice, readPolicy } from '../policy/index.ts';
import type { IpVersion } from '../policy/addresses.ts';
import { generate, GenerateError, type GenPart } from './index.ts';

/** The kinds of block that can be inserted. */
export type BlockKind = 'sg-port' | 'router-nat' | 'fwaas' | 'pbr';

/** One parameter the editor asks for. */
export interface BlockParam {
  readonly key: string;
  readonly prompt: string;
  /** An example value, shown as the input box's placeholder and used as its initial value. */
  readonly example: string;
  /** Whether an empty answer is allowed. */
  readonly optional?: boolean;
}

/** A block kind with its label and parameters. */
export interface BlockKindInfo {
  readonly kind: BlockKind;
  readonly label: string;
  readonly detail: string;
  readonly params: readonly BlockParam[];
}

/** The block kinds, in the order the editor offers them. */
export const BLOCK_KINDS: readonly BlockKindInfo[] = [
  {
    kind: 'sg-port',
    label: 'Neutron security-group port',
    detail: 'the OVS-hybrid driver rules of one port: i/o/s chains, sg-chain, conntrack zone',
    params: [
      { key: 'portId', prompt: 'Port UUID', example: '5f2a4e0c-8d3b-4c1e-9a7f-1b2c3d4e5f60' },
      { key: 'mac', prompt: 'Port MAC address', example: 'fa:16:3e:11:22:33' },
      { key: 'ips', prompt: 'Fixed IPs (comma-separated)', example: '10.0.0.5' },
      { key: 'rules', prompt: "Security-group rules in policy syntax, separated by ';'", example: 'ingress tcp port 22; ingress icmp; egress' },
    ],
  },
  {
    kind: 'router-nat',
    label: "Neutron router's NAT and floating IPs",
    detail: 'the l3 agent rules of a legacy router: SNAT, floating-IP DNAT/SNAT, metadata, marks',
    params: [
      { key: 'gatewayPort', prompt: 'Gateway port UUID', example: 'b0b1b2b3-b4b5-4b6b-8b7b-b8b9babbbcbd' },
      { key: 'gatewayIp', prompt: 'Gateway address/prefix length', example: '172.24.4.10/24' },
      { key: 'interfacePort', prompt: 'Internal interface port UUID', example: 'c0c1c2c3-c4c5-4c6c-8c7c-c8c9cacbcccd' },
      { key: 'interfaceIp', prompt: 'Internal interface address/prefix length', example: '10.0.0.1/24' },
      { key: 'floatingIps', prompt: "Floating IPs as 'FLOATING to FIXED', comma-separated (may be empty)", example: '172.24.4.20 to 10.0.0.5', optional: true },
    ],
  },
  {
    kind: 'fwaas',
    label: 'Neutron FWaaS v2 firewall group',
    detail: "the firewall group's chains on a router's internal port",
    params: [
      { key: 'firewallId', prompt: 'Firewall group UUID', example: 'd6e0f9a2-1111-4222-8333-444455556666' },
      { key: 'interfacePort', prompt: 'Router internal port UUID', example: 'c0c1c2c3-c4c5-4c6c-8c7c-c8c9cacbcccd' },
      { key: 'interfaceIp', prompt: 'Router internal address/prefix length', example: '10.0.0.1/24' },
      { key: 'rules', prompt: "Firewall rules in policy syntax, separated by ';'", example: 'ingress allow tcp port 443; egress allow' },
    ],
  },
  {
    kind: 'pbr',
    label: 'Neutron steering (PBR) raw rules',
    detail: 'the NOTRACK rules that steer a router through a firewall appliance',
    params: [
      { key: 'vmPort', prompt: "Router port UUID of the VMs' subnet", example: '5a5a5a5a-0000-4000-8000-000000000001' },
      { key: 'vmIp', prompt: "Router address/prefix length on the VMs' subnet", example: '10.10.0.1/24' },
      { key: 'fwPort', prompt: "Router port UUID of the appliance's subnet", example: '8d8d8d8d-0000-4000-8000-000000000002' },
      { key: 'fwIp', prompt: "Router address/prefix length on the appliance's subnet", example: '10.99.0.1/24' },
      { key: 'firewall', prompt: 'Appliance address', example: '10.99.0.2' },
    ],
  },
];

/** A problem with the parameters (the message names the parameter or the policy problem). */
export class BlockError extends Error {}

const SG_ID = 'a0000000-0000-4000-8000-000000000001';
const NET_ID = 'a0000000-0000-4000-8000-000000000002';
const ROUTER_GW = 'a0000000-0000-4000-8000-000000000003';

function list(v: string | undefined, sep: RegExp): string[] {
  return (v ?? '').split(sep).map((x) => x.trim()).filter((x) => x !== '');
}

function need(params: Readonly<Record<string, string>>, key: string): string {
  const v = params[key]?.trim();
  if (!v) throw new BlockError(`missing parameter '${key}'`);
  if (/[{}#\n]/.test(v)) throw new BlockError(`parameter '${key}' contains a character the policy language reserves ({, }, # or a newline)`);
  return v;
}

/** The policy text a block kind stands for (exported for tests and the preview). */
export function blockPolicy(kind: BlockKind, params: Readonly<Record<string, string>>): { text: string; part: GenPart; router?: string } {
  switch (kind) {
    case 'sg-port': {
      const rules = list(need(params, 'rules'), /;/);
      const text = [
        'defaults {', '  sg-driver ovs-hybrid', '  ipset off', '}',
        'network net {', `  id ${NET_ID}`, '}',
        'security-group sg {', `  id ${SG_ID}`, ...rules.map((r) => `  ${r}`), '}',
        'port port {', `  id ${need(params, 'portId')}`, '  network net', `  mac ${need(params, 'mac')}`,
        ...list(need(params, 'ips'), /,/).map((ip) => `  ip ${ip}`), '  security-groups sg', '}', '',
      ].join('\n');
      return { text, part: 'sg' };
    }
    case 'router-nat': {
      const fips = list(params.floatingIps, /,/);
      const text = [
        'router r {',
        `  gateway ${need(params, 'gatewayPort')} ip ${need(params, 'gatewayIp')}`,
        `  interface ${need(params, 'interfacePort')} ip ${need(params, 'interfaceIp')}`,
        ...fips.map((f) => `  floating-ip ${f}`), '}', '',
      ].join('\n');
      return { text, part: 'l3', router: 'r' };
    }
    case 'fwaas': {
      const text = [
        'router r {', `  interface ${need(params, 'interfacePort')} ip ${need(params, 'interfaceIp')}`, '}',
        'firewall-group fw {', `  id ${need(params, 'firewallId')}`, '  router r', ...list(need(params, 'rules'), /;/).map((r) => `  ${r}`), '}', '',
      ].join('\n');
      return { text, part: 'fwaas', router: 'r' };
    }
    case 'pbr': {
      const vmPort = need(params, 'vmPort');
      const fwPort = need(params, 'fwPort');
      const vmIp = need(params, 'vmIp');
      const cidr = vmIp.includes('/') ? vmIp : `${vmIp}/24`;
      const text = [
        'router r {', `  gateway ${ROUTER_GW} ip 192.0.2.2/24`, `  interface ${vmPort} ip ${vmIp}`, `  interface ${fwPort} ip ${need(params, 'fwIp')}`, '}',
        'steering s {', '  router r', `  firewall ${need(params, 'firewall')} dev ${qrDevice(fwPort)}`,
        '  table 100', `  egress from ${qrDevice(vmPort)}`, `  ingress to ${networkOf(cidr)}`, '}', '',
      ].join('\n');
      return { text, part: 'pbr', router: 'r' };
    }
  }
}

/** The network of an `ADDRESS/LEN` (IPv4; other forms are returned unchanged and checked by the policy reader). */
function networkOf(cidr: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return cidr;
  const len = Number(m[5]);
  const n = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`;
}

/** Generates the iptables-save text of a block for one family; throws BlockError on bad parameters. */
export function generateBlock(kind: BlockKind, params: Readonly<Record<string, string>>, family: IpVersion): string {
  const { text, part, router } = blockPolicy(kind, params);
  const res = readPolicy(text);
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    const lines = text.split('\n');
    throw new BlockError(errors.map((d) => `${d.message} (in '${(lines[d.range.start.line] ?? '').trim()}')`).join('; '));
  }
  try {
    return generate(res.policy, { part, family, format: 'iptables-save', ...(router ? { router } : {}) }).text;
  } catch (e) {
    if (e instanceof GenerateError) throw new BlockError(e.message);
    throw e;
  }
}
