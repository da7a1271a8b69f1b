/**
 * Diagnostics produced by the core, and the registry of their stable codes. Every code has a
 * default severity that users can override per code (settings, CLI), and a one-line description
 * that the README's table is written from.
 */

/** LSP-compatible severities, by name. */
export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** A 0-based position (line, UTF-16 column), as LSP uses. */
export interface Position {
  readonly line: number;
  readonly character: number;
}

/** A 0-based half-open range. */
export interface Range {
  readonly start: Position;
  readonly end: Position;
}

/** Another place that explains a diagnostic (e.g. the earlier declaration of a duplicate). */
export interface RelatedInfo {
  readonly range: Range;
  readonly message: string;
}

/** One finding of the core about a document. */
export interface Diagnostic {
  readonly range: Range;
  readonly severity: Severity;
  /** Stable identifier, e.g. `undefined-chain`. */
  readonly code: string;
  readonly message: string;
  readonly related?: readonly RelatedInfo[];
  /** Tags as LSP knows them: code that is unnecessary (greyed) or deprecated (struck through). */
  readonly tags?: readonly ('unnecessary' | 'deprecated')[];
}

/** What the registry knows of a code. */
export interface CodeInfo {
  readonly severity: Severity;
  readonly description: string;
}

/** Every diagnostic code the core emits, with its default severity. */
export const DIAGNOSTIC_CODES: Readonly<Record<string, CodeInfo>> = {
  'syntax-error': { severity: 'error', description: 'The line cannot be read: an unterminated quote, a stray character, or a malformed table, chain or COMMIT line.' },
  'unknown-table': { severity: 'error', description: 'A `*table` line names a table other than filter, nat, mangle, raw or security.' },
  'outside-table': { severity: 'error', description: 'A chain declaration, rule or COMMIT appears before any `*table` line (or after COMMIT).' },
  'missing-commit': { severity: 'error', description: 'A table is not closed by COMMIT before the next table or the end of the file, so iptables-restore applies nothing of it.' },
  'invalid-chain-declaration': { severity: 'error', description: 'A `:CHAIN POLICY [packets:bytes]` line is malformed.' },
  'invalid-policy': { severity: 'error', description: 'A builtin chain policy other than ACCEPT or DROP.' },
  'policy-on-user-chain': { severity: 'error', description: 'A user-defined chain given a policy: only builtin chains have one.' },
  'duplicate-chain': { severity: 'error', description: 'A chain declared twice in one table.' },
  'invalid-chain-name': { severity: 'error', description: 'A chain name that is too long (more than 28 characters), starts with `-` or `!`, or is reserved.' },
  'invalid-counters': { severity: 'error', description: 'A `[packets:bytes]` counter that is not two unsigned numbers.' },
  'suspicious-counters': { severity: 'warning', description: 'Counters that no kernel writes (bytes without packets, fewer bytes than headers): they look hand-edited.' },
  'missing-command': { severity: 'error', description: 'A rule line without a command such as -A.' },
  'multiple-commands': { severity: 'error', description: 'Two commands (e.g. -A and -I) in one line.' },
  'unsupported-command': { severity: 'error', description: 'A command iptables-restore does not accept in a file (such as -L).' },
  'undeclared-chain': { severity: 'error', description: 'A command names a chain that is not declared in the table.' },
  'undefined-chain': { severity: 'error', description: 'A jump or goto to a chain that does not exist in the table (nor is a target).' },
  'chain-loop': { severity: 'error', description: 'Jumps form a loop; the kernel refuses the whole table.' },
  'jump-too-deep': { severity: 'error', description: 'A jump makes a chain more than 15 jumps deep below a builtin chain: iptables-nft-restore refuses it and every later rule of the table (the legacy backend accepts it).' },
  'chain-in-use': { severity: 'error', description: '-X deletes a chain that is still the target of a jump.' },
  'unknown-option': { severity: 'error', description: 'An option that neither iptables nor a loaded module knows.' },
  'ambiguous-option': { severity: 'error', description: 'An abbreviated option that matches several options.' },
  'unknown-module': { severity: 'error', description: 'A `-m` module that does not exist (the rule is kept as an opaque match).' },
  'missing-value': { severity: 'error', description: 'An option that needs a value (or two) is missing it.' },
  'unexpected-argument': { severity: 'error', description: 'A word that is not an option nor an option\'s value.' },
  'duplicate-option': { severity: 'error', description: 'An option given twice where iptables allows it once.' },
  'conflicting-options': { severity: 'error', description: 'Two options that cannot be combined.' },
  'missing-option': { severity: 'error', description: 'A module or target given without an option it requires.' },
  'not-invertible': { severity: 'error', description: '`!` before an option that cannot be negated.' },
  'deprecated-negation': { severity: 'error', description: 'The pre-1.4.3 form `-s ! ADDR`; iptables 1.8 rejects it: write `! -s ADDR`.' },
  'invalid-address': { severity: 'error', description: 'A malformed address, prefix length, mask or range.' },
  'hostname-address': { severity: 'warning', description: 'A host name where an address is expected: resolved by DNS at load time.' },
  'family-mismatch': { severity: 'error', description: 'An IPv6 address, module or target in an IPv4 rule set, or the reverse.' },
  'invalid-port': { severity: 'error', description: 'A port, service name or port range that is malformed or out of range.' },
  'reversed-range': { severity: 'warning', description: 'A range written high:low that iptables accepts (udp/dccp/conntrack ports, length, AH/ESP SPI): it matches no packet.' },
  'too-many-ports': { severity: 'error', description: 'More than 15 ports in a multiport list (a range counts twice).' },
  'invalid-interface': { severity: 'error', description: 'An interface name of 16 or more characters (or with forbidden characters).' },
  'invalid-mac': { severity: 'error', description: 'A malformed MAC address.' },
  'invalid-protocol': { severity: 'error', description: 'An unknown protocol name or a number above 255.' },
  'invalid-value': { severity: 'error', description: 'Any other malformed or out-of-range option value.' },
  'protocol-required': { severity: 'error', description: 'A module or option that needs `-p tcp`/`udp`/… (not negated), or a module used with the wrong protocol.' },
  'target-not-allowed': { severity: 'error', description: 'A target or match used in a table or hook the kernel refuses (e.g. DNAT in filter, MASQUERADE outside POSTROUTING).' },
  'unused-chain': { severity: 'warning', description: 'A user-defined chain that no rule jumps to.' },
  'noncanonical-address': { severity: 'warning', description: 'An IPv4 address in a short or octal/hex form (`1.2.3`, `010.0.0.1`) that iptables reads differently from how it looks.' },
  'truncated-value': { severity: 'warning', description: 'A value longer than iptables keeps (comment > 255, log prefix > 29 …): it is silently cut.' },
  'ignored-rule': { severity: 'warning', description: 'A rule that iptables-restore skips without a word (`-6` in an IPv4 file, `-4` in an IPv6 file).' },
  'unavailable-extension': { severity: 'error', description: 'A module or target that iptables knows but the kernel cannot load (ULOG, ipvs, LED, SECMARK …), or QUEUE with the nf_tables backend.' },
  'kernel-dependent-rate': { severity: 'warning', description: 'A hashlimit rate and burst whose kernel credit counter overflows on kernels with some timer frequencies (HZ) only: the rule loads on some hosts and is refused on others.' },
  'host-defined-name': { severity: 'warning', description: 'A name iptables looks up in a file of the restoring host (a user or group, device group, routing realm or connlabel): the rule is refused where the name is not defined; a number does not depend on the host.' },
  'missing-bpf-object': { severity: 'warning', description: 'A bpf match with --object-pinned: the pinned program must exist on the restoring host, or iptables refuses the rule.' },
  'missing-ct-timeout': { severity: 'warning', description: 'A CT --timeout policy: it must exist (nfct add timeout …) before the file is restored, or the kernel rejects the rule.' },
  'missing-ipset': { severity: 'warning', description: 'A rule that uses an ipset: the set must exist (ipset create) before the file is restored, or the kernel rejects the rule.' },
  'unterminated-quote': { severity: 'warning', description: 'A double quote that is never closed: iptables takes the rest of the line into the argument.' },
  'crlf-line-endings': { severity: 'error', description: 'Windows (CRLF) line endings: iptables-restore reads the carriage return as part of the last word.' },
  'carriage-return': { severity: 'warning', description: 'A carriage return inside a line (old Mac or mixed line endings): iptables-restore keeps it as part of the word, which it refuses unless the word is free text such as a comment.' },
  'line-too-long': { severity: 'error', description: 'A line longer than 10239 characters or a word of 1024 or more: iptables-restore splits or refuses it.' },
  'unreachable-rule': { severity: 'warning', description: 'No packet can reach the rule: earlier rules take every packet it could match on every path, its chain is never reached, or its own conditions match nothing that gets there.' },
  'shadowed-rule': { severity: 'warning', description: 'An unreachable rule whose packets are all taken earlier by rules with another action: its own action never applies.' },
  'unreachable-chain': { severity: 'warning', description: 'A user-defined chain that rules jump to, but none of those jumps is ever reached by a packet.' },
  'redundant-rule': { severity: 'information', description: 'A reachable rule whose removal changes no packet\'s verdict: later rules or the policy decide the same.' },
  'correlated-rules': { severity: 'information', description: 'A rule that partly overlaps an earlier rule with another action: the packets in both are decided by the earlier one.' },
  'generalization': { severity: 'hint', description: 'A rule that covers an earlier rule with another action (the earlier rule is an exception to it).' },
  'approximated-rule': { severity: 'information', description: 'A rule with a match the analysis does not model (limit, recent, string, owner, `set --return-nomatch`, unknown modules …): it is assumed to match or not, and hides no later rule.' },
  'analysis-skipped': { severity: 'information', description: 'The rule-set analysis (or part of it) was skipped or made coarser for a table or chain: the table has errors iptables-restore refuses, or a limit of the analysis was reached (the message says which, and how to raise it).' },
  'missing-final-newline': { severity: 'error', description: 'The last line (COMMIT) has no newline: iptables-legacy-restore rejects it.' },
  'byte-order-mark': { severity: 'error', description: 'The file starts with a UTF-8 byte-order mark, which iptables-restore reads as part of the first word and refuses.' },
};

/** Severity overrides by code; `off` removes the diagnostic. */
export type SeverityOverrides = Readonly<Record<string, Severity | 'off'>>;

/** Applies user overrides to a list of diagnostics. */
export function applySeverities(diags: readonly Diagnostic[], overrides: SeverityOverrides | undefined): Diagnostic[] {
  if (!overrides || Object.keys(overrides).length === 0) return [...diags];
  const out: Diagnostic[] = [];
  for (const d of diags) {
    const o = overrides[d.code];
    if (o === 'off') continue;
    out.push(o ? { ...d, severity: o } : d);
  }
  return out;
}
