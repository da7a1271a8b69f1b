/**
 * The kernel oracle: the checker's error/no-error verdict must agree with iptables-restore 1.8.9
 * applying the same file in a fresh network namespace (nf_tables and legacy backends; rejected by
 * either one counts as an error). It runs ~50 hand-written cases covering each error class and
 * 600 deterministic mutations of real-world dumps, and requires an agreement rate of at least 99 %.
 *
 * Agreement for one case: the kernel accepts ⇔ the checker reports no error-severity diagnostic;
 * and when the kernel rejects naming line L, the checker reports an error on L, except for errors
 * only the kernel's commit finds (L is a COMMIT line, or legacy names the COMMIT while nft accepted or
 * was refused by the kernel's batch commit), where an error anywhere in that table block counts
 * (see acceptableRegion in kernel/util.ts). L is the smallest line either backend names.
 *
 * Needs root, `ip netns` and the iptables binaries. Without them the test is skipped with a loud
 * warning, except in CI (CI=true), where it fails: a silently skipped oracle would prove nothing.
 * ORACLE_SEED and ORACLE_MUTATIONS change the generated mutations (defaults: 1 and 600).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import { kernelAvailability, kernelVerdictAsync, type Family, type KernelVerdict } from './kernel/netns.ts';
import { controlCases, generateMutations, type MutationCase } from './kernel/mutations.ts';
import { diagnosticLines, errorsOf, judge, mapLimit, seconds, splitLines, type Judgement, type OracleDiagnostic } from './kernel/util.ts';

/** How many namespaces are worked on at once; the runs are short and mostly waiting on the kernel. */
const CONCURRENCY = 4;
const REQUIRED_RATE = 0.99;

// ---------------------------------------------------------------------------------------------
// Hand-written cases: one or more per error class, plus valid files. `expect` is what the kernel
// does according to docs/iptables-restore-behaviour.md; it is checked too, so that a case that no
// longer tests what its name says is noticed.
// ---------------------------------------------------------------------------------------------

interface HandCase {
  readonly id: string;
  readonly description: string;
  readonly family: Family;
  readonly text: string;
  readonly expect: 'accept' | 'reject';
}

/** A filter table with the built-in chains and two user chains, `foo` and `bar`, around the given lines. */
function filter(...rules: string[]): string {
  return ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':foo - [0:0]', ':bar - [0:0]', ...rules, 'COMMIT', ''].join('\n');
}

/** A nat table with its built-in chains and one user chain, `foo`. */
function nat(...rules: string[]): string {
  return ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':foo - [0:0]', ...rules, 'COMMIT', ''].join('\n');
}

/**
 * A filter table whose INPUT jumps (unless `reached` is false) to a line of n user chains, each
 * jumping (or going) to the next, the last accepting; `reversed` writes the rules last first.
 */
function jumpLine(n: number, how: '-j' | '-g', extra: readonly string[] = [], reversed = false, reached = true): string {
  const rules = [...(reached ? ['-A INPUT -j c0'] : []), ...Array.from({ length: n - 1 }, (_, i) => `-A c${i} ${how} c${i + 1}`), `-A c${n - 1} -j ACCEPT`];
  const declarations = Array.from({ length: n }, (_, i) => `:c${i} - [0:0]`);
  return table('filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...declarations, ...(reversed ? rules.reverse() : rules), ...extra);
}

/** Any table, with the given declarations and rules. */
function table(name: string, ...lines: string[]): string {
  return [`*${name}`, ...lines, 'COMMIT', ''].join('\n');
}

const HAND_CASES: readonly HandCase[] = [
  // Unknown names.
  { id: 'hand-unknown-option', description: 'unknown option', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp --dport 22 --bogus -j ACCEPT') },
  { id: 'hand-unknown-option-time', description: 'obsolete time option --days', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m time --days Mon -j ACCEPT') },
  { id: 'hand-unknown-module', description: 'unknown match module', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m nosuchmodule -j ACCEPT') },
  { id: 'hand-unknown-target', description: 'unknown target (an undefined chain for iptables)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j NOSUCHTARGET') },
  { id: 'hand-unknown-target-option', description: 'unknown option of a known target', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j LOG --bogus 1') },
  { id: 'hand-option-before-module', description: 'module option before its -m', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp --dports 22,80 -m multiport -j ACCEPT') },
  // Bad values.
  { id: 'hand-bad-address', description: 'address with an octet > 255', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -s 300.1.2.3 -j ACCEPT') },
  { id: 'hand-bad-cidr', description: 'prefix /33', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -d 10.0.0.0/33 -j ACCEPT') },
  { id: 'hand-old-negation', description: 'pre-1.4.3 negation -s ! X', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -s ! 10.0.0.1 -j ACCEPT') },
  { id: 'hand-bad-mac', description: 'anonymised MAC XX:XX:XX:XX:XX:XX', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m mac --mac-source XX:XX:XX:XX:XX:XX -j ACCEPT') },
  { id: 'hand-bad-port', description: 'port 65536', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp -m tcp --dport 65536 -j ACCEPT') },
  { id: 'hand-bad-port-range', description: 'reversed tcp port range', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp -m tcp --sport 90:80 -j ACCEPT') },
  // The udp match parses ports with the generic xtables parser: no range order check, 65536 wraps to 0.
  { id: 'hand-udp-port-quirks', description: 'udp: reversed range and port 65536 are accepted', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p udp -m udp --sport 90:80 -j ACCEPT', '-A INPUT -p udp --dport 65536 -j ACCEPT') },
  { id: 'hand-port-without-proto', description: '--dport without -p', family: 'ipv4', expect: 'reject', text: filter('-A INPUT --dport 22 -j ACCEPT') },
  { id: 'hand-tcp-match-udp-proto', description: '-m tcp with -p udp', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p udp -m tcp --dport 22 -j ACCEPT') },
  { id: 'hand-too-many-ports', description: '16 ports in multiport', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j ACCEPT') },
  { id: 'hand-fifteen-ports', description: '15 ports in multiport (the maximum)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j ACCEPT') },
  { id: 'hand-bad-icmp-type', description: 'ICMP type 256', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p icmp -m icmp --icmp-type 256 -j ACCEPT') },
  { id: 'hand-bad-limit', description: 'limit 0/sec', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m limit --limit 0/sec -j ACCEPT') },
  { id: 'hand-bad-mark', description: 'mark wider than 32 bits', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m mark --mark 0xfffffffff -j ACCEPT') },
  { id: 'hand-o-in-input', description: '-o in INPUT', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -o eth0 -j ACCEPT') },
  { id: 'hand-tcp-reset-without-tcp', description: 'REJECT tcp-reset without -p tcp (kernel-side)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j REJECT --reject-with tcp-reset') },
  // Tables, chains and policies.
  { id: 'hand-unknown-table', description: 'unknown table', family: 'ipv4', expect: 'reject', text: table('filtre', ':INPUT ACCEPT [0:0]', '-A INPUT -j ACCEPT') },
  { id: 'hand-bad-policy', description: 'misspelt policy', family: 'ipv4', expect: 'reject', text: table('filter', ':INPUT ACCPET [0:0]', '-A INPUT -j ACCEPT') },
  { id: 'hand-policy-return', description: 'RETURN as a policy', family: 'ipv4', expect: 'reject', text: table('filter', ':FORWARD RETURN [0:0]') },
  { id: 'hand-policy-user-chain', description: 'policy on a user chain (legacy rejects)', family: 'ipv4', expect: 'reject', text: table('filter', ':INPUT ACCEPT [0:0]', ':foo ACCEPT [0:0]', '-A INPUT -j foo') },
  { id: 'hand-duplicate-chain', description: 'chain declared twice (legacy rejects)', family: 'ipv4', expect: 'reject', text: table('filter', ':foo - [0:0]', ':foo - [0:0]', '-A foo -j ACCEPT') },
  { id: 'hand-undeclared-chain', description: 'rule for an undeclared chain', family: 'ipv4', expect: 'reject', text: filter('-A nosuch -j ACCEPT') },
  { id: 'hand-goto-undefined', description: 'goto an undefined chain', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -g nosuch') },
  { id: 'hand-jump-before-decl', description: 'jump to a chain declared after the rule', family: 'ipv4', expect: 'reject', text: table('filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j late', ':late - [0:0]') },
  { id: 'hand-missing-commit', description: 'missing COMMIT', family: 'ipv4', expect: 'reject', text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n' },
  { id: 'hand-delete-referenced-chain', description: '-X of a chain still referenced', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j foo', '-X foo') },
  { id: 'hand-delete-unreferenced-chain', description: '-X of an empty, unreferenced chain', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j bar', '-X foo') },
  // Loops.
  { id: 'hand-loop-reachable', description: 'loop foo→bar→foo reached from INPUT', family: 'ipv4', expect: 'reject', text: filter('-A foo -j bar', '-A bar -j foo', '-A INPUT -j foo') },
  { id: 'hand-self-loop-reachable', description: 'self-loop reached from OUTPUT', family: 'ipv4', expect: 'reject', text: filter('-A foo -p tcp -j foo', '-A OUTPUT -j foo') },
  { id: 'hand-loop-unreachable', description: 'loop not reachable from a built-in chain (accepted)', family: 'ipv4', expect: 'accept', text: filter('-A foo -j bar', '-A bar -j foo') },
  // Targets in the wrong table or chain.
  { id: 'hand-dnat-in-filter', description: 'DNAT in filter', family: 'ipv4', expect: 'reject', text: filter('-A FORWARD -p tcp -j DNAT --to-destination 10.0.0.1:80') },
  { id: 'hand-dnat-in-postrouting', description: 'DNAT in nat POSTROUTING', family: 'ipv4', expect: 'reject', text: nat('-A POSTROUTING -j DNAT --to-destination 10.0.0.1') },
  { id: 'hand-dnat-in-prerouting', description: 'DNAT in nat PREROUTING (valid)', family: 'ipv4', expect: 'accept', text: nat('-A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080') },
  { id: 'hand-redirect-in-postrouting', description: 'REDIRECT in nat POSTROUTING', family: 'ipv4', expect: 'reject', text: nat('-A POSTROUTING -p tcp -j REDIRECT --to-ports 8080') },
  { id: 'hand-masquerade-in-prerouting', description: 'MASQUERADE in nat PREROUTING', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -j MASQUERADE') },
  { id: 'hand-masquerade-via-user-chain', description: 'MASQUERADE in a user chain jumped to from PREROUTING', family: 'ipv4', expect: 'reject', text: nat('-A foo -j MASQUERADE', '-A PREROUTING -j foo') },
  { id: 'hand-masquerade-in-postrouting', description: 'MASQUERADE and SNAT in POSTROUTING (valid)', family: 'ipv4', expect: 'accept', text: nat('-A POSTROUTING -o eth0 -j MASQUERADE', '-A POSTROUTING -s 10.0.0.0/8 -j SNAT --to-source 192.0.2.1') },
  { id: 'hand-drop-in-nat', description: 'DROP in nat', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -j DROP') },
  { id: 'hand-reject-in-nat', description: 'REJECT in nat PREROUTING', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -j REJECT') },
  { id: 'hand-ct-in-filter', description: 'CT --notrack in filter', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j CT --notrack') },
  { id: 'hand-notrack-in-mangle', description: 'NOTRACK in mangle PREROUTING', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j NOTRACK') },
  { id: 'hand-ct-in-raw', description: 'CT --notrack and NOTRACK in raw (valid)', family: 'ipv4', expect: 'accept', text: table('raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack', '-A OUTPUT -j NOTRACK') },
  // Names read by their beginning, in any case (strncasecmp), or exactly.
  { id: 'hand-state-prefix', description: '--state E,n and --ctstate S,D,INVAL (beginnings of names, any case)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m state --state E,n -j ACCEPT', '-A INPUT -m conntrack --ctstate S,D,INVAL -j ACCEPT') },
  { id: 'hand-ctstatus-prefix', description: '--ctstatus assured,conf', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m conntrack --ctstatus assured,conf -j ACCEPT') },
  { id: 'hand-addrtype-prefix', description: '--dst-type loc,UNI', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m addrtype --dst-type loc,UNI -j ACCEPT') },
  { id: 'hand-state-no-such-beginning', description: '--state S (SNAT is a ctstate only)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m state --state S -j ACCEPT') },
  { id: 'hand-state-empty-item', description: '--state NEW,,ESTABLISHED', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m state --state NEW,,ESTABLISHED -j ACCEPT') },
  { id: 'hand-state-too-long', description: '--state ESTABLISHEDX', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m state --state ESTABLISHEDX -j ACCEPT') },
  { id: 'hand-dccp-type-prefix', description: '--dccp-types REQ (DCCP types need the whole name)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p dccp -m dccp --dccp-types REQ -j ACCEPT') },
  { id: 'hand-hashlimit-mode-case', description: '--hashlimit-mode SRCIP (lower case only)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-name x --hashlimit-mode SRCIP -j ACCEPT') },
  // CT helpers: looked up by name (case-sensitive) and by the rule's own protocol.
  { id: 'hand-ct-helper-valid', description: 'CT --helper ftp with -p tcp, sip with -p udp, RAS with -p udp', family: 'ipv4', expect: 'accept', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp', '-A PREROUTING -p udp -j CT --helper sip', '-A PREROUTING -p udp -j CT --helper RAS') },
  { id: 'hand-ct-helper-no-proto', description: 'CT --helper ftp without -p', family: 'ipv4', expect: 'reject', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CT --helper ftp') },
  { id: 'hand-ct-helper-wrong-proto', description: 'CT --helper tftp with -p tcp', family: 'ipv4', expect: 'reject', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j CT --helper tftp') },
  { id: 'hand-ct-helper-case', description: 'CT --helper ras (the helper is RAS)', family: 'ipv4', expect: 'reject', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p udp -j CT --helper ras') },
  // Mark operations that take one number, not value/mask.
  { id: 'hand-connmark-mask-slash', description: 'CONNMARK --ctmask 0x1/0xffffffff', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0x1/0xffffffff') },
  { id: 'hand-mark-and-slash', description: 'MARK --and-mark 0x1/0x2', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j MARK --and-mark 0x1/0x2') },
  { id: 'hand-connmark-mask-valid', description: 'CONNMARK --save-mark --mask 0xff and MARK --or-mark 0x4', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CONNMARK --save-mark --mask 0xff', '-A PREROUTING -j MARK --or-mark 0x4') },
  // Owner ids: 0 to 4294967294, ranges not reversed.
  { id: 'hand-owner-valid', description: '--uid-owner 4294967294, 0x10, 0-4294967294', family: 'ipv4', expect: 'accept', text: filter('-A OUTPUT -m owner --uid-owner 4294967294 -j ACCEPT', '-A OUTPUT -m owner --gid-owner 0x10 -j ACCEPT', '-A OUTPUT -m owner --uid-owner 0-4294967294 -j ACCEPT') },
  { id: 'hand-owner-too-big', description: '--uid-owner 4294967295', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -m owner --uid-owner 4294967295 -j ACCEPT') },
  { id: 'hand-owner-reversed', description: '--uid-owner 5-3', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -m owner --uid-owner 5-3 -j ACCEPT') },
  { id: 'hand-byte-order-mark', description: 'a UTF-8 byte-order mark before *filter', family: 'ipv4', expect: 'reject', text: `\ufeff${filter('-A INPUT -j ACCEPT')}` },
  // IPv6: modules of their own (found by probing ip6tables; see docs/iptables-restore-behaviour.md).
  { id: 'hand-v6-ah-no-proto', description: 'ip6tables -m ah without -p ah, with --ahlen and --ahres', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m ah --ahspi 500:600 --ahlen 8 --ahres -j ACCEPT') },
  { id: 'hand-v4-ah-no-proto', description: 'iptables -m ah without -p ah', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m ah --ahspi 500 -j ACCEPT') },
  { id: 'hand-v6-srh', description: '-m srh with its options', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m srh --srh-next-hdr 17 --srh-hdr-len-eq 5 --srh-segs-left-gt 1 --srh-tag 7 --srh-psid 2001:db8::1/64 -j ACCEPT', '-A INPUT -m srh -j ACCEPT') },
  { id: 'hand-v6-ipv6header-names', description: '-m ipv6header --header names and numbers', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m ipv6header --header hop,ipv6-opts,route,frag,auth,esp,none,prot -j DROP', '-A INPUT -m ipv6header --header 0,60,43,44,51,50,59,255 --soft -j DROP') },
  { id: 'hand-v6-ipv6header-case', description: '-m ipv6header --header HOP', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m ipv6header --header HOP -j DROP') },
  { id: 'hand-v6-ipv6header-number', description: '-m ipv6header --header 17', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m ipv6header --header 17 -j DROP') },
  { id: 'hand-v6-frag-more-last', description: '-m frag --fragmore --fraglast', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m frag --fragmore --fraglast -j DROP') },
  { id: 'hand-v6-hl-dec-zero', description: 'HL --hl-dec 0', family: 'ipv6', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j HL --hl-dec 0') },
  { id: 'hand-ttl-inc-zero', description: 'TTL --ttl-inc 0', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j TTL --ttl-inc 0') },
  // Found by probing iptables module by module (docs/iptables-restore-behaviour.md).
  { id: 'hand-reversed-length-spi', description: '--length 100:50 and --espspi 600:500 (reversed, accepted)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m length --length 100:50 -j ACCEPT', '-A INPUT -p esp -m esp --espspi 600:500 -j ACCEPT') },
  { id: 'hand-recent-reap', description: 'recent --reap without --seconds', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m recent --name x --rcheck --reap -j DROP') },
  { id: 'hand-statistic-probability', description: 'statistic --probability -0.1', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode random --probability -0.1 -j DROP') },
  { id: 'hand-statistic-every-alone', description: 'statistic --every without --packet', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode nth --every 3 -j DROP') },
  { id: 'hand-statistic-packet', description: 'statistic --every 3 --packet 3', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode nth --every 3 --packet 3 -j DROP') },
  { id: 'hand-statistic-valid', description: 'statistic random 0.5 and nth 3/2', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m statistic --mode random --probability 0.5 -j DROP', '-A INPUT -m statistic --mode nth --every 3 --packet 2 -j DROP') },
  { id: 'hand-string-from-to', description: 'string --from 100 --to 50', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m string --algo bm --string abc --from 100 --to 50 -j DROP') },
  { id: 'hand-u32-valid', description: 'u32 tests with ranges, lists, shifts and @', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m u32 --u32 "6&0xFF=1&&0>>22&0x3C@4>>16=0x1:0x3" -j DROP', '-A INPUT -m u32 --u32 "0 = 1,5:7" -j DROP') },
  { id: 'hand-u32-dangling', description: 'u32 "0=1&&"', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m u32 --u32 "0=1&&" -j DROP') },
  { id: 'hand-u32-shift', description: 'u32 "0>>32=1"', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m u32 --u32 "0>>32=1" -j DROP') },
  { id: 'hand-ecn-valid', description: 'ECN --ecn-tcp-remove with -p tcp, --ecn-ip-ect alone', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j ECN --ecn-tcp-remove', '-A PREROUTING -j ECN --ecn-ip-ect 3', '-A PREROUTING -p tcp -j ECN --ecn-tcp-ece 1 --ecn-tcp-cwr 0') },
  { id: 'hand-ecn-no-tcp', description: 'ECN --ecn-tcp-ece without -p tcp', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j ECN --ecn-tcp-ece 0') },
  { id: 'hand-ct-events', description: 'CT --ctevents with every event, --expevents new', family: 'ipv4', expect: 'accept', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CT --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark --expevents new') },
  { id: 'hand-ct-events-case', description: 'CT --ctevents NEW (lower case only)', family: 'ipv4', expect: 'reject', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CT --ctevents NEW') },
  { id: 'hand-hashlimit-zero-intervals', description: 'hashlimit --hashlimit-htable-gcinterval 0', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m hashlimit --hashlimit-upto 10/sec --hashlimit-name a --hashlimit-htable-gcinterval 0 -j ACCEPT') },
  { id: 'hand-policy-tunnel-endpoint', description: 'policy --tunnel-src without --mode tunnel', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m policy --dir in --pol ipsec --tunnel-src 10.0.0.1 -j ACCEPT') },
  { id: 'hand-policy-tunnel-valid', description: 'policy --mode tunnel --tunnel-src', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m policy --dir in --pol ipsec --mode tunnel --tunnel-src 10.0.0.1 -j ACCEPT') },
  { id: 'hand-connlabel-range', description: 'connlabel --label 128', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m connlabel --label 128 -j ACCEPT') },
  { id: 'hand-time-2038', description: 'time --datestart 2038-12-31 (the last year libxt_time takes)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m time --datestart 2038-12-31 -j ACCEPT') },
  { id: 'hand-bpf-count', description: 'bpf bytecode with a wrong instruction count', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m bpf --bytecode "2,6 0 0 0" -j ACCEPT') },
  { id: 'hand-sctp-chunks', description: 'sctp chunk types with flags, any case', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p sctp -m sctp --chunk-types any DATA:UBE,ABORT:T,data,SHUTDOWN_COMPLETE:t -j ACCEPT') },
  { id: 'hand-sctp-chunk-flags', description: 'sctp INIT:B (INIT takes no flags)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p sctp -m sctp --chunk-types any INIT:B -j ACCEPT') },
  { id: 'hand-ecn-match-tcp', description: '-m ecn --ecn-tcp-cwr without -p tcp', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m ecn --ecn-tcp-cwr -j ACCEPT') },
  { id: 'hand-ipcomp', description: '-p ipcomp -m ipcomp --ipcompspi 5:3 --compres', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p ipcomp -m ipcomp --ipcompspi 5:3 --compres -j ACCEPT') },
  { id: 'hand-tee-any-table', description: 'TEE in filter, nat and raw', family: 'ipv4', expect: 'accept', text: `${filter('-A FORWARD -j TEE --gateway 10.0.0.1')}${table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j TEE --gateway 10.0.0.1')}` },
  { id: 'hand-synproxy-numbers', description: 'SYNPROXY --wscale 255 --mss 70000 (plain numbers)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p tcp -j SYNPROXY --mss 70000 --wscale 255 --timestamp') },
  { id: 'hand-tcpoptstrip', description: 'TCPOPTSTRIP names and numbers', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j TCPOPTSTRIP --strip-options wscale,mss,sack-permitted,sack,timestamp,md5,7,255') },
  { id: 'hand-tcpoptstrip-twice', description: 'TCPOPTSTRIP timestamp,8 (the same option)', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j TCPOPTSTRIP --strip-options timestamp,8') },
  { id: 'hand-tcpoptstrip-filter', description: 'TCPOPTSTRIP in filter', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp -j TCPOPTSTRIP --strip-options mss') },
  { id: 'hand-netmap-long-prefix', description: 'NETMAP --to 10.0.0.0/33 (read as /32)', family: 'ipv4', expect: 'accept', text: nat('-A PREROUTING -j NETMAP --to 10.0.0.0/33') },
  { id: 'hand-v6-netmap-long-prefix', description: 'ip6tables NETMAP --to 2001:db8::/129', family: 'ipv6', expect: 'reject', text: nat('-A PREROUTING -j NETMAP --to 2001:db8::/129') },
  { id: 'hand-nflog-threshold-zero', description: 'NFLOG --nflog-threshold 0', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j NFLOG --nflog-threshold 0') },
  { id: 'hand-v6-mh-types', description: 'mh types by name, any case, and ranges', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -p mh -m mh --mh-type BU -j DROP', '-A INPUT -p mh -m mh --mh-type bu:be -j DROP', '-A INPUT -p mh -m mh --mh-type 3:5 -j DROP') },
  { id: 'hand-v6-mh-type-bad', description: 'mh type 256', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -p mh -m mh --mh-type 5:256 -j DROP') },
  // Found by probing option forms (session 5; docs/iptables-restore-behaviour.md).
  { id: 'hand-reject-echo-reply', description: 'REJECT --reject-with echo-reply (no longer supported)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j REJECT --reject-with echo-reply') },
  { id: 'hand-reject-prefixes', description: 'REJECT --reject-with icmp-a, "" and i (beginnings of names)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j REJECT --reject-with icmp-a', '-A INPUT -j REJECT --reject-with ""', '-A INPUT -j REJECT --reject-with i') },
  { id: 'hand-nfqueue-balance-single', description: 'NFQUEUE --queue-balance 3 (a single number)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j NFQUEUE --queue-balance 3') },
  { id: 'hand-nfqueue-balance-empty', description: 'NFQUEUE --queue-balance 5:5', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j NFQUEUE --queue-balance 5:5') },
  { id: 'hand-nfqueue-balance-all', description: 'NFQUEUE --queue-balance 0:65535 (65536 queues)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j NFQUEUE --queue-balance 0:65535') },
  { id: 'hand-nfqueue-balance-valid', description: 'NFQUEUE --queue-balance 1:65535 and 0:1 --queue-cpu-fanout', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j NFQUEUE --queue-balance 1:65535', '-A INPUT -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout') },
  { id: 'hand-nfqueue-fanout-alone', description: 'NFQUEUE --queue-cpu-fanout without --queue-balance', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j NFQUEUE --queue-num 3 --queue-cpu-fanout') },
  { id: 'hand-ctdir-case', description: 'conntrack --ctdir original / Reply (any case)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m conntrack --ctdir original -j ACCEPT', '-A INPUT -m conntrack --ctdir Reply -j ACCEPT') },
  { id: 'hand-recent-forms', description: 'recent --hitcount 0, --rsource with --rdest, --hitcount 0 with --set', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m recent --rcheck --hitcount 0 -j ACCEPT', '-A INPUT -m recent --set --rsource --rdest -j ACCEPT', '-A INPUT -m recent --set --hitcount 0 -j ACCEPT') },
  { id: 'hand-recent-set-hitcount', description: 'recent --set --hitcount 2', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m recent --set --hitcount 2 -j ACCEPT') },
  { id: 'hand-recent-remove-seconds', description: 'recent --remove --seconds 60', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m recent --remove --seconds 60 -j ACCEPT') },
  { id: 'hand-recent-set-rttl', description: 'recent --set --rttl', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m recent --set --rttl -j ACCEPT') },
  { id: 'hand-ttl-two-tests', description: 'ttl --ttl-gt 3 --ttl-lt 9', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m ttl --ttl-gt 3 --ttl-lt 9 -j ACCEPT') },
  { id: 'hand-v6-hl-two-tests', description: 'hl --hl-eq 3 --hl-gt 4', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m hl --hl-eq 3 --hl-gt 4 -j ACCEPT') },
  { id: 'hand-u64-counters', description: 'quota and connbytes up to 2^64 - 1', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m quota --quota 18446744073709551615 -j ACCEPT', '-A INPUT -m quota --quota 0xffffffffffffffff -j ACCEPT', '-A INPUT -m connbytes --connbytes 18446744073709551615 --connbytes-dir both --connbytes-mode bytes -j ACCEPT') },
  { id: 'hand-u64-quota-over', description: 'quota 2^64', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m quota --quota 18446744073709551616 -j ACCEPT') },
  { id: 'hand-hashlimit-day-burst', description: 'hashlimit 1/day with burst 2 (credits overflow in the kernel)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m hashlimit --hashlimit-upto 1/day --hashlimit-burst 2 --hashlimit-name a -j ACCEPT') },
  { id: 'hand-hashlimit-day-valid', description: 'hashlimit 1/day burst 1 and 3, 2/day burst 100000, 20000/sec, 1000000/sec', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m hashlimit --hashlimit-upto 1/day --hashlimit-burst 1 --hashlimit-name a -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1/day --hashlimit-burst 3 --hashlimit-name b -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 2/day --hashlimit-burst 100000 --hashlimit-name c -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 20000/sec --hashlimit-name d -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1000000/sec --hashlimit-name e -j ACCEPT') },
  { id: 'hand-hashlimit-burst-max', description: 'hashlimit burst 1000001 packets, and 977k', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 977k --hashlimit-name a -j ACCEPT') },
  { id: 'hand-hashlimit-burst-forms', description: 'hashlimit burst 1000000, 976k, 5xyz, 0x10; byte bursts 1kb, 4096mb', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 1000000 --hashlimit-name a -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 976k --hashlimit-name b -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 5xyz --hashlimit-name c -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 0x10 --hashlimit-name d -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1kb/s --hashlimit-burst 1kb --hashlimit-name e -j ACCEPT', '-A INPUT -m hashlimit --hashlimit-upto 1kb/s --hashlimit-burst 4096mb --hashlimit-name f -j ACCEPT') },
  { id: 'hand-hashlimit-byte-burst-small', description: 'hashlimit 100kb/s with burst 64kb', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m hashlimit --hashlimit-upto 100kb/s --hashlimit-burst 64kb --hashlimit-name a -j ACCEPT') },
  { id: 'hand-hashlimit-byte-rate-high', description: 'hashlimit 32768mb/s (the kernel refuses from 32 GiB/s)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m hashlimit --hashlimit-upto 32768mb/s --hashlimit-name a -j ACCEPT') },
  { id: 'hand-hashlimit-byte-rate-top', description: 'hashlimit 32767mb/s', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m hashlimit --hashlimit-upto 32767mb/s --hashlimit-name a -j ACCEPT') },
  { id: 'hand-nat-port-protocols', description: 'DNAT port with -p icmp, ! -p tcp; REDIRECT with -p icmp', family: 'ipv4', expect: 'accept', text: nat('-A PREROUTING -p icmp -j DNAT --to-destination 10.0.0.1:80', '-A PREROUTING ! -p tcp -j DNAT --to-destination 10.0.0.1:80', '-A PREROUTING -p icmp -j REDIRECT --to-ports 80') },
  { id: 'hand-nat-port-udplite', description: 'DNAT port with -p udplite', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -p udplite -j DNAT --to-destination 10.0.0.1:80') },
  { id: 'hand-nat-port-all', description: 'DNAT port with -p all', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -p all -j DNAT --to-destination 10.0.0.1:80') },
  { id: 'hand-v6-nat-port-icmpv6', description: 'ip6tables DNAT port with -p icmpv6', family: 'ipv6', expect: 'reject', text: nat('-A PREROUTING -p icmpv6 -j DNAT --to-destination [2001:db8::1]:80') },
  { id: 'hand-dnat-port-base', description: 'DNAT and SNAT shifted port maps 80-90/85, /65535', family: 'ipv4', expect: 'accept', text: `${nat('-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80-90/85', '-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80-90/65535')}` },
  { id: 'hand-dnat-port-base-zero', description: 'DNAT port map 80-90/0', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80-90/0') },
  { id: 'hand-redirect-port-base', description: 'REDIRECT --to-ports 80-90/85', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -p tcp -j REDIRECT --to-ports 80-90/85') },
  { id: 'hand-mark-two-ops', description: 'MARK --xor-mark 1 --or-mark 2 (one operation per rule)', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j MARK --xor-mark 1 --or-mark 2') },
  { id: 'hand-connmark-two-ops', description: 'CONNMARK --set-mark 1 --save-mark', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CONNMARK --set-mark 1 --save-mark') },
  { id: 'hand-connmark-masks', description: 'CONNMARK --save-mark --nfmask 1, --set-mark 1 --mask 1', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CONNMARK --save-mark --nfmask 1', '-A PREROUTING -j CONNMARK --set-mark 1 --mask 1') },
  { id: 'hand-tos-two-ops', description: 'TOS --set-tos 1 --and-tos 2', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j TOS --set-tos 1 --and-tos 2') },
  { id: 'hand-ttl-target-two-ops', description: 'TTL --ttl-inc 1 --ttl-dec 1', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j TTL --ttl-inc 1 --ttl-dec 1') },
  { id: 'hand-connsecmark-both', description: 'CONNSECMARK --save --restore', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CONNSECMARK --save --restore') },
  { id: 'hand-idletimer-timeouts', description: 'IDLETIMER --timeout 1 and 2147482, a 100-character label (cut to 27)', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j IDLETIMER --timeout 1 --label a', '-A PREROUTING -j IDLETIMER --timeout 2147482 --label b', `-A PREROUTING -j IDLETIMER --timeout 10 --label ${'c'.repeat(100)}`) },
  { id: 'hand-idletimer-zero', description: 'IDLETIMER --timeout 0', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j IDLETIMER --timeout 0 --label a') },
  { id: 'hand-idletimer-long', description: 'IDLETIMER --timeout 2147483', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j IDLETIMER --timeout 2147483 --label a') },
  { id: 'hand-audit-case', description: 'AUDIT --type ACCEPT / Drop (any case)', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j AUDIT --type ACCEPT', '-A PREROUTING -j AUDIT --type Drop') },
  { id: 'hand-nflog-long-prefix', description: 'NFLOG --nflog-prefix of 100 characters', family: 'ipv4', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', `-A PREROUTING -j NFLOG --nflog-prefix ${'p'.repeat(100)}`) },
  { id: 'hand-nflog-size-range', description: 'NFLOG --nflog-size with --nflog-range', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j NFLOG --nflog-size 100 --nflog-range 100') },
  { id: 'hand-time-weekday-forms', description: 'time --weekdays Mo, Tu,Th, Mox, Su, 8, 01 and a trailing comma; --monthdays 0,5 and 037', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m time --weekdays Mo -j ACCEPT', '-A INPUT -m time --weekdays Tu,Th -j ACCEPT', '-A INPUT -m time --weekdays Mox -j ACCEPT', '-A INPUT -m time --weekdays Su,8,01 -j ACCEPT', '-A INPUT -m time --weekdays Mon, -j ACCEPT', '-A INPUT -m time --monthdays 0,5 -j ACCEPT', '-A INPUT -m time --monthdays 037 -j ACCEPT') },
  { id: 'hand-time-weekday-zero', description: 'time --weekdays 00', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m time --weekdays 00 -j ACCEPT') },
  { id: 'hand-time-weekday-lower', description: 'time --weekdays mo', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m time --weekdays mo -j ACCEPT') },
  { id: 'hand-time-utc-kerneltz', description: 'time --kerneltz --utc', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m time --kerneltz --utc -j ACCEPT') },
  { id: 'hand-cluster-node-above', description: 'cluster --cluster-local-node 3 of 2', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m cluster --cluster-total-nodes 2 --cluster-local-node 3 --cluster-hash-seed 1 -j ACCEPT') },
  { id: 'hand-cluster-mask-above', description: 'cluster --cluster-local-nodemask 4 of 2 nodes', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m cluster --cluster-total-nodes 2 --cluster-local-nodemask 4 --cluster-hash-seed 1 -j ACCEPT') },
  { id: 'hand-cluster-valid', description: 'cluster node 2 of 2, mask 3 of 2, mask 32 of 32', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m cluster --cluster-total-nodes 2 --cluster-local-node 2 --cluster-hash-seed 1 -j ACCEPT', '-A INPUT -m cluster --cluster-total-nodes 2 --cluster-local-nodemask 3 --cluster-hash-seed 1 -j ACCEPT', '-A INPUT -m cluster --cluster-total-nodes 32 --cluster-local-nodemask 32 --cluster-hash-seed 1 -j ACCEPT') },
  { id: 'hand-protocol-base0', description: '-p 010 (egp), -p 0x11 --dport 53 (udp): protocol numbers read with base 0', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p 010 -j ACCEPT', '-A INPUT -p 0x11 --dport 53 -j ACCEPT') },
  { id: 'hand-protocol-octal-ports', description: '-p 017 --dport 53 (protocol 15 has no ports)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p 017 --dport 53 -j ACCEPT') },
  { id: 'hand-negated-all', description: '! -p all', family: 'ipv4', expect: 'reject', text: filter('-A INPUT ! -p all -j ACCEPT') },
  { id: 'hand-v6-rt-order', description: 'rt --rt-0-res before --rt-type 0', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m rt --rt-0-res --rt-type 0 -j ACCEPT') },
  { id: 'hand-v6-rt-not-strict', description: 'rt --rt-0-not-strict without --rt-0-addrs before it', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m rt --rt-type 0 --rt-0-not-strict --rt-0-addrs 2001:db8::1 -j ACCEPT') },
  { id: 'hand-v6-rt-valid', description: 'rt --rt-type 0x0 --rt-0-res; type 0 with addresses and not-strict', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m rt --rt-type 0x0 --rt-0-res -j ACCEPT', '-A INPUT -m rt --rt-type 0 --rt-0-addrs 2001:db8::1,2001:db8::2 --rt-0-not-strict -j ACCEPT') },
  { id: 'hand-v6-npt', description: 'DNPT in PREROUTING and OUTPUT, SNPT in INPUT and POSTROUTING, prefixes /64, /48, /32 and ::/0', family: 'ipv6', expect: 'accept', text: table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -j DNPT --src-pfx 2001:db8::/64 --dst-pfx 2001:db9::/64', '-A OUTPUT -j DNPT --src-pfx 2001:db8::/32 --dst-pfx 2001:db9:1::/48', '-A INPUT -j SNPT --src-pfx ::/0 --dst-pfx ::/0', '-A POSTROUTING -j SNPT --src-pfx 2001:db8::/64 --dst-pfx 2001:db9::/64') },
  { id: 'hand-v6-npt-hook', description: 'SNPT in PREROUTING', family: 'ipv6', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -j SNPT --src-pfx 2001:db8::/64 --dst-pfx 2001:db9::/64') },
  { id: 'hand-v6-npt-long', description: 'DNPT --src-pfx 2001:db8::/65', family: 'ipv6', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -j DNPT --src-pfx 2001:db8::/65 --dst-pfx 2001:db9::/64') },
  { id: 'hand-v6-npt-host-bits', description: 'DNPT --src-pfx 2001:db8::1/64', family: 'ipv6', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -j DNPT --src-pfx 2001:db8::1/64 --dst-pfx 2001:db9::/64') },
  { id: 'hand-v6-npt-no-length', description: 'DNPT --src-pfx 2001:db8:: (length 128)', family: 'ipv6', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', '-A PREROUTING -j DNPT --src-pfx 2001:db8:: --dst-pfx 2001:db9::') },
  // Commands replayed in order (found by probing command sequences).
  { id: 'hand-delete-after-insert', description: '-I INPUT 1 -j DROP, -D INPUT 2, then -D INPUT -j DROP (the numbered insert is that rule)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j ACCEPT', '-I INPUT 1 -j DROP', '-D INPUT 2', '-D INPUT -j DROP') },
  { id: 'hand-delete-jump-then-chain', description: '-F INPUT (or -D INPUT 1) removes the jump, then -X foo', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j foo', '-A OUTPUT -j foo', '-F INPUT', '-D OUTPUT 1', '-X foo') },
  { id: 'hand-flush-all-then-delete', description: '-F (all chains) then -X foo: iptables-nft-restore still counts the flushed jump', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j foo', '-F', '-X foo') },
  { id: 'hand-flush-all-then-by-name', description: '-F, -F INPUT, then -X foo', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -j foo', '-F', '-F INPUT', '-X foo') },
  { id: 'hand-delete-all-referenced', description: '-X (every user chain) while INPUT jumps to foo', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j foo', '-X') },
  { id: 'hand-zero-rule-number', description: '-Z INPUT 1 (iptables-nft-restore crashes when the rule exists)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j ACCEPT', '-Z INPUT 1') },
  { id: 'hand-table-blank-after-star', description: '"* filter" and "*<tab>filter" (strtok skips the blank)', family: 'ipv4', expect: 'accept', text: '* filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*\tnat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n' },
  { id: 'hand-builtin-dash-redeclared', description: ':INPUT DROP, :INPUT - (keeps DROP), :FORWARD -, a rule, then :INPUT ACCEPT again', family: 'ipv4', expect: 'accept', text: '*filter\n:INPUT DROP [0:0]\n:INPUT - [0:0]\n:FORWARD - [0:0]\n-A INPUT -j ACCEPT\n:INPUT ACCEPT [0:0]\nCOMMIT\n' },
  { id: 'hand-user-chain-redeclared', description: 'a user chain declared twice', family: 'ipv4', expect: 'reject', text: '*filter\n:foo - [0:0]\n:foo - [0:0]\nCOMMIT\n' },
  { id: 'hand-string-hex-and-text', description: 'string --string with --hex-string', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m string --algo bm --string foo --hex-string "|41|" -j ACCEPT') },
  { id: 'hand-string-offset-range', description: 'string --from 65536', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m string --algo bm --string foo --from 65536 -j ACCEPT') },
  { id: 'hand-u32-limits', description: 'u32 with 10 tests, 10 values, 9 operators', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m u32 --u32 "0=1&&0=2&&0=3&&0=4&&0=5&&0=6&&0=7&&0=8&&0=9&&0=10" -j ACCEPT', '-A INPUT -m u32 --u32 "0=1,2,3,4,5,6,7,8,9,10" -j ACCEPT', '-A INPUT -m u32 --u32 "0@1@2@3@4@5@6@7@8@9=1" -j ACCEPT') },
  { id: 'hand-u32-too-many-tests', description: 'u32 with 11 tests', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m u32 --u32 "0=1&&0=2&&0=3&&0=4&&0=5&&0=6&&0=7&&0=8&&0=9&&0=10&&0=11" -j ACCEPT') },
  { id: 'hand-u32-too-many-operators', description: 'u32 with 10 operators in a location', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m u32 --u32 "0&1&2&3&4&5&6&7&8&9&10=1" -j ACCEPT') },
  { id: 'hand-statistic-random-alone', description: 'statistic --mode random without --probability', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode random -j ACCEPT') },
  { id: 'hand-statistic-nth-alone', description: 'statistic --mode nth without --every', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode nth -j ACCEPT') },
  { id: 'hand-statistic-mixed', description: 'statistic --probability with --packet', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode random --probability 0.5 --packet 1 -j ACCEPT') },
  { id: 'hand-mask-base0', description: '-s 10.0.0.1/0x8, /+8, /010 (prefix lengths read with base 0)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -s 10.0.0.1/0x8 -j ACCEPT', '-A INPUT -s 10.0.0.1/+8 -j ACCEPT', '-A INPUT -s 10.0.0.1/010 -j ACCEPT') },
  { id: 'hand-mask-bad-octal', description: '-s 10.0.0.1/08', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -s 10.0.0.1/08 -j ACCEPT') },
  { id: 'hand-ct-address-long-prefix', description: 'conntrack --ctorigsrc 10.0.0.1/33 and policy --tunnel-src /40 (read as /32)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m conntrack --ctorigsrc 10.0.0.1/33 -j ACCEPT', '-A INPUT -m policy --dir in --pol ipsec --mode tunnel --tunnel-src 10.0.0.1/40 -j ACCEPT') },
  { id: 'hand-v6-ct-address-long-prefix', description: 'ip6tables conntrack --ctorigsrc 2001:db8::1/129', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m conntrack --ctorigsrc 2001:db8::1/129 -j ACCEPT') },
  { id: 'hand-policy-forms', description: 'policy without --pol, --proto 50, strict elements with --next', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m policy --dir in -j ACCEPT', '-A INPUT -m policy --dir in --pol ipsec --proto 50 -j ACCEPT', '-A INPUT -m policy --dir in --pol ipsec --strict --proto esp --next --mode transport -j ACCEPT') },
  { id: 'hand-policy-next-alone', description: 'policy --next without --strict', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m policy --dir in --pol ipsec --proto esp --next --proto ah -j ACCEPT') },
  { id: 'hand-policy-strict-empty', description: 'policy --strict with an empty element after --next', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m policy --dir in --pol ipsec --strict --proto esp --next -j ACCEPT') },
  { id: 'hand-policy-strict-none', description: 'policy --pol none --strict', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m policy --dir in --pol none --strict --proto esp -j ACCEPT') },
  { id: 'hand-negated-limits', description: '! --hashlimit-upto, ! --hashlimit-above, ! --connlimit-above, ! --connlimit-upto', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m hashlimit ! --hashlimit-upto 5/s --hashlimit-name h -j ACCEPT', '-A INPUT -m hashlimit ! --hashlimit-above 5/s --hashlimit-name i -j ACCEPT', '-A INPUT -m connlimit ! --connlimit-above 2 -j ACCEPT', '-A INPUT -m connlimit ! --connlimit-upto 2 -j ACCEPT') },
  { id: 'hand-icmp-type-base0', description: 'icmp types 0x8, 8/0x0, 010 (octal 8)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p icmp --icmp-type 0x8 -j ACCEPT', '-A INPUT -p icmp --icmp-type 8/0x0 -j ACCEPT', '-A INPUT -p icmp --icmp-type 010 -j ACCEPT') },
  { id: 'hand-icmp-type-bad-octal', description: 'icmp type 08', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p icmp --icmp-type 08 -j ACCEPT') },
  { id: 'hand-v6-icmpv6-mld-names', description: 'icmpv6 type mld-listener-query (no such name in ip6tables)', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -p icmpv6 --icmpv6-type mld-listener-query -j ACCEPT') },
  { id: 'hand-v6-ip6-opts', description: 'hbh/dst option lists: 16 items, hex, lengths; rt --rt-segsleft 5:1', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m hbh --hbh-opts 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j ACCEPT', '-A INPUT -m dst --dst-opts 0x1:0x2,3 -j ACCEPT', '-A INPUT -m rt --rt-segsleft 5:1 -j ACCEPT') },
  { id: 'hand-v6-ip6-opts-17', description: 'hbh with 17 options', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m hbh --hbh-opts 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 -j ACCEPT') },
  { id: 'hand-v6-ip6-opts-empty', description: 'hbh option list with an empty item', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m hbh --hbh-opts 1, -j ACCEPT') },
  { id: 'hand-synproxy-classify-tables', description: 'SYNPROXY in mangle INPUT and nat INPUT, CLASSIFY in filter FORWARD and raw OUTPUT', family: 'ipv4', expect: 'accept', text: `${table('mangle', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp -j SYNPROXY')}${table('nat', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp -j SYNPROXY')}${filter('-A FORWARD -j CLASSIFY --set-class 1:1')}${table('raw', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -j CLASSIFY --set-class 1:1')}` },
  { id: 'hand-classify-prerouting', description: 'CLASSIFY in raw PREROUTING', family: 'ipv4', expect: 'reject', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j CLASSIFY --set-class 1:1') },
  { id: 'hand-realm-prerouting', description: 'realm in raw PREROUTING (the realm is known after routing)', family: 'ipv4', expect: 'reject', text: table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -m realm --realm 1 -j ACCEPT') },
  { id: 'hand-realm-hooks', description: 'realm in filter INPUT, nat POSTROUTING, raw OUTPUT', family: 'ipv4', expect: 'accept', text: `${filter('-A INPUT -m realm --realm 1 -j ACCEPT')}${table('nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -m realm --realm 1 -j ACCEPT')}${table('raw', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -m realm --realm 1 -j ACCEPT')}` },
  // Matches limited to tables, also in rules without a target; osf; connlabel bit numbers (session 6 probes).
  { id: 'hand-rpfilter-filter-no-target', description: 'rpfilter in filter INPUT, without a target', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m rpfilter') },
  { id: 'hand-rpfilter-raw', description: 'rpfilter with every flag in raw and mangle PREROUTING', family: 'ipv4', expect: 'accept', text: `${table('raw', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -m rpfilter --loose --validmark --accept-local --invert -j DROP')}${table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -m rpfilter')}` },
  { id: 'hand-osf-accept', description: 'osf genre with ttl and log in base 0, negated genre, in filter INPUT and nat PREROUTING', family: 'ipv4', expect: 'accept', text: `${filter('-A INPUT -p tcp -m osf --genre Linux --ttl 0x1 --log 2 -j ACCEPT', '-A INPUT -p 6 -m osf ! --genre Windows')}${nat('-A PREROUTING -p tcp -m osf --genre Linux')}` },
  { id: 'hand-osf-output', description: 'osf in OUTPUT (only PREROUTING, INPUT and FORWARD)', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -p tcp -m osf --genre Linux -j ACCEPT') },
  { id: 'hand-osf-no-tcp', description: 'osf without -p tcp', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m osf --genre Linux -j ACCEPT') },
  { id: 'hand-osf-ttl-range', description: 'osf --ttl 3 (0 to 2)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp -m osf --genre Linux --ttl 3') },
  { id: 'hand-osf-no-genre', description: 'osf without --genre', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp -m osf --ttl 1') },
  { id: 'hand-connlabel-bases', description: 'connlabel bits in base 0, with a plus sign', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m connlabel --label 0177', '-A INPUT -m connlabel --label 0x7f', '-A INPUT -m connlabel --label +5 -j ACCEPT') },
  { id: 'hand-connlabel-hex-range', description: 'connlabel bit 0x80 (128)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m connlabel --label 0x80') },
  // Numbers as strtoul reads them: blanks and one `+` before the digits (session 9 probes).
  { id: 'hand-strtoul-plus', description: 'numbers after a plus sign: ports, marks, address bytes, prefix, TTL, log level, uids', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p tcp --dport +22 -j ACCEPT', '-A INPUT -m mark --mark +0x1/+0x1', '-A INPUT -s +10.+0.0.1/+24', '-A INPUT -m ttl --ttl-eq +64', '-A INPUT -j LOG --log-level +4', '-A OUTPUT -m owner --uid-owner +5-+9') },
  { id: 'hand-strtoul-blank', description: 'numbers after blanks (quoted): port, address bytes, mask, length, ICMP type, protocol', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p tcp --dport " 22"', '-A INPUT -s " 10. 0.0.1/ 24"', '-A INPUT -s "10.0.0.0/ 255. 255.255.0"', '-A INPUT -m length --length " 100"', '-A INPUT -p icmp -m icmp --icmp-type "+8/ 0"', '-A INPUT -p " 6"') },
  { id: 'hand-strtoul-blank-after-plus', description: 'a blank after the plus sign', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp --dport "+ 22"') },
  { id: 'hand-strtoul-trailing-blank', description: 'a blank after the number', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp --dport "22 "') },
  { id: 'hand-strtoul-minus', description: 'a minus sign', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp --dport -22') },
  { id: 'hand-strtoul-plus-octal', description: 'a plus sign before a bad octal number', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp --dport +080') },
  { id: 'hand-strtoul-plus-name', description: 'a plus sign before a protocol name', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p +tcp') },
  { id: 'hand-strtoul-log-level', description: 'log level 8 after a blank', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -j LOG --log-level " 8"') },
  { id: 'hand-v6-address-blanks', description: 'ip6tables -s/-d after blanks (and a prefix length after one)', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -s " ::1"', '-A INPUT -s "  ::1,  ::2"', '-A INPUT -d " fe80::1/ 64"') },
  { id: 'hand-getaddrinfo-plus', description: 'TEE --gateway after a plus sign (getaddrinfo)', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -j TEE --gateway +10.0.0.1') },
  { id: 'hand-getaddrinfo-blank', description: 'conntrack --ctorigsrc after a blank (getaddrinfo)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m conntrack --ctorigsrc " 10.0.0.1"') },
  { id: 'hand-getaddrinfo-mask-blank', description: 'recent --mask after a blank (getaddrinfo)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m recent --rcheck --mask " 255.255.255.0"') },
  { id: 'hand-getaddrinfo-prefix-blank', description: 'conntrack --ctorigsrc with a blank before the prefix length (strtoul)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m conntrack --ctorigsrc "10.0.0.0/ 24"') },
  { id: 'hand-monthdays-plus', description: 'days of month after a plus sign or a blank', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m time --monthdays +5,+31', '-A INPUT -m time --monthdays " 7"') },
  { id: 'hand-sctp-chunk-mode-case', description: 'sctp --chunk-types mode in capitals', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p sctp -m sctp --chunk-types ANY DATA', '-A INPUT -p sctp -m sctp --chunk-types Only INIT') },
  { id: 'hand-time-strtoul', description: 'times of day read part by part with strtoul', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m time --timestart +10:+00', '-A INPUT -m time --timestart 010:00', '-A INPUT -m time --timestart 10:00:', '-A INPUT -m time --timestart :30', '-A INPUT -m time --timestop 10:') },
  { id: 'hand-time-trailing-blank', description: 'a time of day with a trailing blank', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m time --timestart "10:00 "') },
  { id: 'hand-probability-strtod', description: 'probabilities as strtod reads them', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m statistic --mode random --probability 5e-1', '-A INPUT -m statistic --mode random --probability 0x0.8', '-A INPUT -m statistic --mode random --probability " +1."', '-A INPUT -m statistic --mode random --probability nan') },
  { id: 'hand-probability-inf', description: 'probability inf', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m statistic --mode random --probability inf') },
  { id: 'hand-v6-addrtype-refused', description: 'ip6tables addrtype BROADCAST, BLACKHOLE, PROHIBIT, THROW, NAT, XRESOLVE (the kernel refuses them for IPv6)', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m addrtype ! --dst-type BROADCAST') },
  { id: 'hand-v6-addrtype-refused-prefix', description: 'ip6tables addrtype blackh (a prefix of BLACKHOLE) in a list', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -m addrtype --src-type local,blackh') },
  { id: 'hand-v6-addrtype-refused-xresolve', description: 'ip6tables addrtype XRESOLVE', family: 'ipv6', expect: 'reject', text: filter('-A OUTPUT -m addrtype --src-type XRESOLVE') },
  { id: 'hand-v6-addrtype-allowed', description: 'ip6tables addrtype UNSPEC, UNICAST, LOCAL, ANYCAST, MULTICAST, UNREACHABLE', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m addrtype --src-type UNSPEC,UNICAST,LOCAL -m addrtype ! --dst-type ANYCAST,MULTICAST,UNREACHABLE') },
  { id: 'hand-cgroup-path-and-classid', description: 'cgroup with both --cgroup and --path (libxt_cgroup takes them, the kernel refuses)', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -m cgroup --cgroup 1 --path / -j ACCEPT') },
  { id: 'hand-cgroup-path-and-classid-negated', description: 'cgroup with both options negated', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -m cgroup ! --path / ! --cgroup 1 -j ACCEPT') },
  { id: 'hand-cgroup-path-forms', description: 'cgroup --path of the root, empty, negated; --cgroup 0', family: 'ipv4', expect: 'accept', text: filter('-A OUTPUT -m cgroup --path / -j ACCEPT', '-A OUTPUT -m cgroup --path "" -j ACCEPT', '-A OUTPUT -m cgroup ! --path / -j ACCEPT', '-A OUTPUT -m cgroup --cgroup 0 -j ACCEPT') },
  { id: 'hand-rate-atoi', description: 'rates after blanks and a plus sign', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m limit --limit " +5/sec"', '-A INPUT -m hashlimit --hashlimit-upto +5/sec --hashlimit-name x', '-A INPUT -m hashlimit --hashlimit-upto " 5kb/s" --hashlimit-name y') },
  { id: 'hand-v6-address-trailing-blank', description: 'ip6tables -s with a blank after the address', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -s "::1 "') },
  { id: 'hand-mh-type-forms', description: 'mh types by name prefix (b, binding, h:c), base 0 (0x5), open ranges (5:, :)', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -p 135 -m mh --mh-type binding', '-A INPUT -p 135 -m mh --mh-type 0x5', '-A INPUT -p 135 -m mh --mh-type 5:', '-A INPUT -p 135 -m mh --mh-type h:c', '-A INPUT -p 135 -m mh --mh-type :') },
  { id: 'hand-mh-type-reversed', description: 'mh type range ba:bu (6:5)', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -p 135 -m mh --mh-type ba:bu') },
  { id: 'hand-mh-type-home-test', description: 'mh home-test:hoti (3:1: a whole name beats the name it begins)', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -p 135 -m mh --mh-type home-test:hoti') },
  { id: 'hand-frag-id-reversed', description: 'frag --fragid 5:1 (a reversed range, matching nothing)', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -m frag --fragid 5:1 -j DROP') },
  { id: 'hand-icmp-name-beginnings', description: 'ICMP type names by a beginning only one name has (dest, port-unr, an, Echo-Req)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -p icmp --icmp-type dest -j ACCEPT', '-A INPUT -p icmp --icmp-type port-unr', '-A INPUT -p icmp --icmp-type an', '-A INPUT -p icmp --icmp-type Echo-Req') },
  { id: 'hand-icmp-name-ambiguous', description: 'ICMP type echo (echo-reply or echo-request?)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p icmp --icmp-type echo -j ACCEPT') },
  { id: 'hand-icmpv6-name-beginnings', description: 'ICMPv6 type names by a beginning (neighbour-s, no, red)', family: 'ipv6', expect: 'accept', text: filter('-A INPUT -p icmpv6 --icmpv6-type neighbour-s -j ACCEPT', '-A INPUT -p icmpv6 --icmpv6-type no', '-A INPUT -p icmpv6 --icmpv6-type red') },
  { id: 'hand-icmpv6-name-ambiguous', description: 'ICMPv6 type neigh (four names begin so)', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -p icmpv6 --icmpv6-type neigh -j ACCEPT') },
  { id: 'hand-set-counters-forms', description: '-c as sscanf %llu reads it: P,B in one word, -1, 0x10, +5, 10abc', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -c 1,2 -j ACCEPT', '-A INPUT -c -1 2 -j ACCEPT', '-A INPUT -c 0x10 +5 -j ACCEPT', '-A INPUT -c 10abc 2x -j ACCEPT') },
  { id: 'hand-set-counters-not-numeric', description: '-c 1, (no byte counter after the comma)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -c 1, -j ACCEPT') },
  { id: 'hand-bracket-counters-blanks', description: 'counters with blanks inside the brackets, and [5:] (strtok over the line)', family: 'ipv4', expect: 'accept', text: filter('[ 5:2] -A INPUT -j ACCEPT', '[5: 2] -A INPUT -j ACCEPT', '[5:] -A INPUT -j ACCEPT') },
  { id: 'hand-bracket-counters-leading-colon', description: 'counters [:2] (strtok skips the colon, then finds no ])', family: 'ipv4', expect: 'reject', text: filter('[:2] -A INPUT -j ACCEPT') },
  { id: 'hand-devgroup-realm-names', description: 'device group default and realm cosmos (iproute2 files of this host)', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m devgroup --src-group default -j ACCEPT', '-A INPUT -m realm --realm cosmos -j ACCEPT') },
  { id: 'hand-devgroup-name-mask', description: 'device group name with a mask (looked up as a whole name)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m devgroup --src-group default/0xff -j ACCEPT') },
  { id: 'hand-nat-address-inet-pton', description: 'DNAT to 010.0.0.1 (NAT ranges use inet_pton: no leading zeros)', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -p tcp -j DNAT --to-destination 010.0.0.1') },
  { id: 'hand-nat-address-inet-pton-last', description: 'DNAT to 10.0.0.1-10.0.0.02', family: 'ipv4', expect: 'reject', text: nat('-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.02') },
  { id: 'hand-address-base0-forms', description: 'iprange 0x0a.0.0.1 and 10.1, -s masks 0377.0.0.0 and 0xff.0.0.0, -s 1.2.65535', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m iprange --src-range 0x0a.0.0.1-10.0.0.2 -j ACCEPT', '-A INPUT -m iprange --dst-range 10.1-10.2', '-A INPUT -s 10.0.0.0/0377.0.0.0', '-A INPUT -d 10.0.0.0/0xff.0.0.0', '-A INPUT -s 1.2.65535') },
  { id: 'hand-address-short-mask', description: '-s 10.0.0.0/255.0 (a mask needs four parts)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -s 10.0.0.0/255.0 -j ACCEPT') },
  { id: 'hand-iprange-bad-octal', description: 'iprange 10.0.0.08 (08 is no octal number)', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.08') },
  { id: 'hand-ipv6-embedded-v4-leading-zero', description: 'ip6tables -s ::ffff:010.0.0.1 (inet_pton)', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -s ::ffff:010.0.0.1 -j ACCEPT') },
  { id: 'hand-cgroup-forward', description: 'cgroup in FORWARD (no local socket)', family: 'ipv4', expect: 'reject', text: filter('-A FORWARD -m cgroup --cgroup 1 -j ACCEPT') },
  { id: 'hand-cgroup-local', description: 'cgroup in INPUT, OUTPUT and nat POSTROUTING', family: 'ipv4', expect: 'accept', text: `${filter('-A INPUT -m cgroup --cgroup 1 -j ACCEPT', '-A OUTPUT -m cgroup --cgroup 1')}${nat('-A POSTROUTING -m cgroup --cgroup 2')}` },
  { id: 'hand-lone-cr-in-protocol', description: '-p tcp\\r: a lone carriage return is part of the word', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -p tcp\r -j ACCEPT') },
  { id: 'hand-lone-cr-in-comment', description: 'a lone carriage return inside a comment is accepted', family: 'ipv4', expect: 'accept', text: filter('-A INPUT -m comment --comment a\rb -j ACCEPT') },
  // Hooks that depend on an option (found by probing tables and hooks).
  { id: 'hand-tcpmss-set-any-hook', description: 'TCPMSS --set-mss in mangle PREROUTING and filter INPUT', family: 'ipv4', expect: 'accept', text: `${table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400')}${filter('-A INPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400')}` },
  { id: 'hand-tcpmss-clamp-prerouting', description: 'TCPMSS --clamp-mss-to-pmtu in mangle PREROUTING', family: 'ipv4', expect: 'reject', text: table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu') },
  { id: 'hand-devgroup-dst-input', description: 'devgroup --dst-group in INPUT', family: 'ipv4', expect: 'reject', text: filter('-A INPUT -m devgroup --dst-group 1 -j ACCEPT') },
  { id: 'hand-devgroup-src-output', description: 'devgroup --src-group in OUTPUT', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -m devgroup --src-group 1 -j ACCEPT') },
  { id: 'hand-policy-dir-hooks', description: 'policy --dir in in OUTPUT', family: 'ipv4', expect: 'reject', text: filter('-A OUTPUT -m policy --dir in --pol none -j ACCEPT') },
  { id: 'hand-policy-dir-valid', description: 'policy --dir out in FORWARD, --dir in in mangle PREROUTING', family: 'ipv4', expect: 'accept', text: `${filter('-A FORWARD -m policy --dir out --pol none -j ACCEPT')}${table('mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -m policy --dir in --pol none -j ACCEPT')}` },
  // The nf_tables jump stack (see checkJumpDepth in validate.ts).
  { id: 'hand-jump-depth-15', description: 'user chains 15 jumps deep (the most nf_tables allows)', family: 'ipv4', expect: 'accept', text: jumpLine(15, '-j') },
  { id: 'hand-jump-depth-16', description: 'user chains 16 jumps deep', family: 'ipv4', expect: 'reject', text: jumpLine(16, '-j') },
  { id: 'hand-jump-depth-16-goto', description: 'user chains 16 gotos deep', family: 'ipv4', expect: 'reject', text: jumpLine(16, '-g') },
  { id: 'hand-jump-depth-40', description: 'user chains 40 jumps deep, plus a later rule', family: 'ipv4', expect: 'reject', text: jumpLine(40, '-j', ['-A OUTPUT -j c3']) },
  { id: 'hand-jump-depth-reversed', description: 'user chains 16 jumps deep, the builtin chain\'s jump last', family: 'ipv4', expect: 'reject', text: jumpLine(16, '-j', [], true) },
  { id: 'hand-jump-depth-unreached', description: 'user chains 20 jumps deep that no builtin chain reaches', family: 'ipv4', expect: 'accept', text: jumpLine(20, '-j', [], false, false) },
  // Valid files.
  {
    id: 'hand-valid-filter',
    description: 'typical host firewall',
    family: 'ipv4',
    expect: 'accept',
    text: [
      '# Generated by iptables-save v1.8.9',
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':LOGDROP - [0:0]',
      '-A INPUT -i lo -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -p tcp -m multiport --dports 22,80,443 -m comment --comment "public services" -j ACCEPT',
      '-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 5/sec -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dpor 25 -j REJECT --reject-with tcp-reset',
      '-A INPUT -j LOGDROP',
      '-A LOGDROP -m limit --limit 3/min -j LOG --log-prefix "drop: " --log-level 6',
      '-A LOGDROP -j DROP',
      'COMMIT',
      '',
    ].join('\n'),
  },
  {
    id: 'hand-valid-nat',
    description: 'nat and filter tables together',
    family: 'ipv4',
    expect: 'accept',
    text: `${nat('-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80', '-A OUTPUT -p tcp -j REDIRECT --to-ports 3128', '-A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE')}${filter('-A FORWARD -d 10.0.0.5/32 -p tcp -m tcp --dport 80 -j ACCEPT')}`,
  },
  // IPv6.
  { id: 'hand-v6-icmp-match', description: '-m icmp in ip6tables', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT') },
  { id: 'hand-v6-bad-prefix', description: 'IPv6 prefix /129', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -s 2001:db8::/129 -j ACCEPT') },
  { id: 'hand-v6-v4-address', description: 'IPv4 address in ip6tables', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -s 10.0.0.1 -j ACCEPT') },
  { id: 'hand-v6-v4-reject-type', description: 'IPv4 reject type in ip6tables', family: 'ipv6', expect: 'reject', text: filter('-A INPUT -j REJECT --reject-with icmp-port-unreachable') },
  {
    id: 'hand-v6-valid',
    description: 'valid ip6tables file',
    family: 'ipv6',
    expect: 'accept',
    text: filter(
      '-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT',
      '-A INPUT -s fe80::/10 -p udp -m udp --dport 546 -j ACCEPT',
      '-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT',
      '-A INPUT -j REJECT --reject-with icmp6-adm-prohibited',
    ),
  },
];

// ---------------------------------------------------------------------------------------------
// Running and reporting
// ---------------------------------------------------------------------------------------------

interface Outcome {
  readonly id: string;
  readonly group: string;
  readonly description: string;
  readonly family: Family;
  readonly text: string;
  readonly mutatedLine?: number;
  readonly verdict: KernelVerdict;
  readonly errors: readonly OracleDiagnostic[];
  readonly judgement: Judgement;
}

/** Runs the checker; a throw is reported as a disagreement rather than aborting the whole run. */
function ourDiagnostics(text: string, family: Family): { diagnostics: readonly OracleDiagnostic[]; crash?: string } {
  try {
    return { diagnostics: check(text, { family }).diagnostics };
  } catch (error) {
    return { diagnostics: [], crash: (error as Error).stack ?? String(error) };
  }
}

function describeBackend(name: string, r: KernelVerdict['perBackend']['nft']): string {
  if (r.accepted) return `${name}: accepted${r.message === '' ? '' : ` (stderr: ${r.message.split('\n')[0]})`}`;
  const text = r.message.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Try `')).join(' ⏎ ');
  return `${name}: rejected, rc=${String(r.exitCode)}, line ${r.errorLine ?? '?'}: ${text}`;
}

function report(o: Outcome): string {
  const lines = splitLines(o.text);
  const shown = new Set<number>();
  if (o.mutatedLine !== undefined) shown.add(o.mutatedLine);
  if (o.verdict.errorLine !== undefined) shown.add(o.verdict.errorLine);
  const out = [`✗ ${o.id} (${o.family}) — ${o.description}`, `    ${o.judgement.reason}`];
  for (const n of [...shown].sort((a, b) => a - b)) out.push(`    line ${n}${n === o.mutatedLine ? ' (mutated)' : ''}: ${lines[n - 1] ?? '<end of file>'}`);
  out.push(`    kernel ${describeBackend('nft', o.verdict.perBackend.nft)}`, `    kernel ${describeBackend('legacy', o.verdict.perBackend.legacy)}`);
  if (o.errors.length === 0) out.push('    ours: no error');
  for (const d of o.errors) {
    const { first, last } = diagnosticLines(d);
    out.push(`    ours: line ${first}${last !== first ? `-${last}` : ''} [${d.code}] ${d.message}`);
  }
  return out.join('\n');
}

async function runCases(cases: ReadonlyArray<{ id: string; group: string; description: string; family: Family; text: string; mutatedLine?: number }>): Promise<Outcome[]> {
  return mapLimit(cases, CONCURRENCY, async (c) => {
    const verdict = await kernelVerdictAsync(c.text, c.family);
    const ours = ourDiagnostics(c.text, c.family);
    const errors = errorsOf(ours.diagnostics);
    const judgement: Judgement = ours.crash !== undefined ? { agree: false, reason: `the checker threw: ${ours.crash.split('\n')[0]}` } : judge(c.text, verdict, ours.diagnostics);
    return { ...c, verdict, errors, judgement };
  });
}

function summarise(outcomes: readonly Outcome[]): string {
  const groups = [...new Set(outcomes.map((o) => o.group))];
  return groups
    .map((g) => {
      const of = outcomes.filter((o) => o.group === g);
      const agree = of.filter((o) => o.judgement.agree).length;
      const rejected = of.filter((o) => !o.verdict.accepted).length;
      return `  ${g.padEnd(10)} ${String(agree).padStart(4)}/${String(of.length).padEnd(4)} agree   (kernel rejects ${rejected})`;
    })
    .join('\n');
}

test('kernel oracle: the checker agrees with iptables-restore 1.8.9 (nft and legacy)', { timeout: 15 * 60_000 }, async (t) => {
  const availability = kernelAvailability();
  if (!availability.ok) {
    if (process.env.CI === 'true') assert.fail(`the kernel oracle cannot run in CI: ${availability.reason}`);
    console.warn(`\n**********\n* SKIPPING the kernel oracle: ${availability.reason}.\n* Run as root with iptables and iproute2 installed to compare the checker with the kernel.\n**********\n`);
    t.skip(availability.reason);
    return;
  }

  const seed = process.env.ORACLE_SEED ?? '1';
  const count = Number(process.env.ORACLE_MUTATIONS ?? '600');
  const started = Date.now();
  const mutations: MutationCase[] = generateMutations(count, /^\d+$/.test(seed) ? Number(seed) : seed);
  const controls = controlCases();
  const cases = [
    ...HAND_CASES.map((c) => ({ ...c, group: 'hand' })),
    ...controls.map((c) => ({ ...c, group: 'control' })),
    ...mutations.map((c) => ({ ...c, group: c.kind })),
  ];
  const outcomes = await runCases(cases);
  const elapsed = Date.now() - started;

  const agreeing = outcomes.filter((o) => o.judgement.agree).length;
  const rate = agreeing / outcomes.length;
  const disagreements = outcomes.filter((o) => !o.judgement.agree);
  console.log(
    [
      '',
      `kernel oracle: ${outcomes.length} cases (${HAND_CASES.length} hand-written, ${controls.length} controls, ${mutations.length} mutations, seed ${seed}) in ${seconds(elapsed)}`,
      summarise(outcomes),
      `agreement: ${agreeing}/${outcomes.length} = ${(rate * 100).toFixed(2)} % (required ${(REQUIRED_RATE * 100).toFixed(0)} %)`,
      disagreements.length > 0 ? `\n${disagreements.length} disagreement(s):\n${disagreements.map(report).join('\n\n')}` : 'no disagreements',
      '',
    ].join('\n'),
  );

  await t.test('hand-written cases still test what they claim (kernel behaves as documented)', () => {
    const wrong = HAND_CASES.filter((c) => {
      const o = outcomes.find((x) => x.id === c.id);
      return o !== undefined && (c.expect === 'accept') !== o.verdict.accepted;
    });
    assert.deepEqual(
      wrong.map((c) => `${c.id}: expected the kernel to ${c.expect}`),
      [],
    );
  });

  await t.test('the unmutated base blocks are accepted by the kernel', () => {
    const rejected = outcomes.filter((o) => o.group === 'control' && !o.verdict.accepted);
    assert.deepEqual(
      rejected.map((o) => `${o.id} ${o.description}: ${describeBackend('nft', o.verdict.perBackend.nft)}; ${describeBackend('legacy', o.verdict.perBackend.legacy)}`),
      [],
    );
  });

  await t.test(`at least ${count >= 500 ? 500 : count} mutations were generated`, () => {
    assert.ok(mutations.length >= Math.min(500, count), `only ${mutations.length} mutations`);
  });

  await t.test(`agreement rate ≥ ${REQUIRED_RATE * 100} %`, () => {
    assert.ok(rate >= REQUIRED_RATE, `agreement ${(rate * 100).toFixed(2)} % < ${REQUIRED_RATE * 100} % (${disagreements.length} disagreements, listed above)`);
  });
});
