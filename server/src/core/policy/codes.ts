/**
 * The stable diagnostic codes of the `neutron-policy` language, with default severities and the
 * one-line descriptions that docs/policy-language.md lists.
 */
import type { CodeInfo } from '../diagnostics.ts';

/** Every diagnostic code the policy checker emits. */
export const POLICY_DIAGNOSTIC_CODES: Readonly<Record<string, CodeInfo>> = {
  'policy-syntax-error': { severity: 'error', description: 'The file cannot be read: a stray brace, an unclosed block or a character outside the language.' },
  'unknown-block': { severity: 'error', description: 'A block kind other than defaults, network, security-group, port, router, firewall-group or steering.' },
  'unknown-statement': { severity: 'error', description: 'A statement that the block kind does not have.' },
  'invalid-statement': { severity: 'error', description: 'A statement with missing, extra or malformed words.' },
  'missing-name': { severity: 'error', description: 'A block that needs a name has none (or a name with invalid characters).' },
  'missing-statement': { severity: 'error', description: 'A required statement is missing (e.g. a port without `id`, `network` or `mac`).' },
  'duplicate-statement': { severity: 'error', description: 'A statement that may appear once appears again.' },
  'duplicate-name': { severity: 'error', description: 'Two blocks of one kind share a name.' },
  'duplicate-id': { severity: 'error', description: 'Two objects share a UUID.' },
  'invalid-uuid': { severity: 'error', description: 'A value that must be a UUID (8-4-4-4-12 hexadecimal digits) is not one.' },
  'invalid-address': { severity: 'error', description: 'A malformed IPv4/IPv6 address or CIDR, or a prefix length out of range.' },
  'invalid-mac': { severity: 'error', description: 'A malformed MAC address (six colon-separated hexadecimal pairs).' },
  'invalid-port': { severity: 'error', description: 'A port or port range outside 0–65535, or a range whose start exceeds its end.' },
  'invalid-protocol': { severity: 'error', description: 'A protocol that is neither a known name nor a number 0–255.' },
  'invalid-icmp': { severity: 'error', description: 'An ICMP type or code outside 0–255, or `type` on a protocol other than ICMP.' },
  'icmp-code-without-type': { severity: 'error', description: 'An ICMP `code` given without a `type`.' },
  'ports-ignored': { severity: 'warning', description: 'Ports on a protocol other than tcp, udp, sctp, dccp and udplite: Neutron ignores them.' },
  'family-mismatch': { severity: 'error', description: 'An address of one family in a rule or statement of the other family.' },
  'wrong-remote-keyword': { severity: 'warning', description: '`to` on an ingress rule or `from` on an egress security-group rule: the remote side is meant.' },
  'unknown-reference': { severity: 'error', description: 'A name or port id that no block declares (network, security group, router, router port or device).' },
  'unknown-remote-group': { severity: 'error', description: '`from group` / `to group` names a security group that is not declared.' },
  'address-outside-network': { severity: 'error', description: "A port's fixed IP outside every CIDR of its network." },
  'floating-ip-outside-subnet': { severity: 'error', description: "A floating IP outside the subnet of the router's gateway address." },
  'fixed-ip-outside-router': { severity: 'warning', description: 'A floating IP maps to an address outside every subnet of the router interfaces.' },
  'security-groups-ignored': { severity: 'warning', description: 'Security groups on a port whose port security is off: Neutron applies none.' },
  'steering-mark-dropped': { severity: 'warning', description: "A MARK-based steering variant whose mark lacks the address-scope mark of the appliance's qr- port: Neutron's scope rule drops that traffic." },
};
