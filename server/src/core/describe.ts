/**
 * Plain-English readings of the model for hovers: one sentence per rule ("Returns TCP packets to
 * port 22 from 10.0.0.0/24 to the calling chain"), a summary of a chain (policy, counters, rule
 * count, callers), and the documentation of the module, option or target under the cursor.
 * Output is Markdown; it never depends on an editor API.
 */
import { neutronChainRole } from './neutron/chain-roles.ts';
import type { Chain, Model, Rule } from './model.ts';
import type { OptionUse, MatchUse } from './rule.ts';
import type { Arg } from './syntax.ts';
import { CT_STATE_PARAMS, MATCH_BY_NAME, STATE_PARAMS, TARGET_BY_NAME, type ExtensionSpec, type OptionSpec } from './extensions/extensions.ts';
import { canonicalChoiceList, ICMP_TYPES, ICMPV6_TYPES, icmpText, readIcmpType } from './extensions/value-kinds.ts';
import { callers, chainAt, humanBytes, humanCount, argSpan } from './navigation.ts';
import type { Span } from './model.ts';

/** Upper-case names for protocols whose usual spelling is an acronym. */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = {
  tcp: 'TCP', udp: 'UDP', icmp: 'ICMP', icmpv6: 'ICMPv6', 'ipv6-icmp': 'ICMPv6', sctp: 'SCTP', dccp: 'DCCP', udplite: 'UDP-Lite', esp: 'ESP', ah: 'AH', gre: 'GRE', all: '',
};

/** The value words of an option joined as written. */
const valuesOf = (o: OptionUse): string => o.values.map((v) => v.value).join(' ');
const not = (o: OptionUse): string => (o.negated ? 'not ' : '');

/** Phrases for the options of one match, in the order the sentence uses them. */
function matchPhrases(m: MatchUse): { ports: string[]; other: string[] } {
  const ports: string[] = [];
  const other: string[] = [];
  for (const o of m.options) {
    const v = valuesOf(o);
    switch (o.name) {
      case 'destination-port':
        ports.push(`${not(o)}to port${v.includes(':') ? 's' : ''} ${v}`);
        break;
      case 'source-port':
        ports.push(`${not(o)}from port${v.includes(':') ? 's' : ''} ${v}`);
        break;
      case 'destination-ports':
        ports.push(`${not(o)}to ports ${v}`);
        break;
      case 'source-ports':
        ports.push(`${not(o)}from ports ${v}`);
        break;
      case 'ports':
        ports.push(`${not(o)}from or to ports ${v}`);
        break;
      case 'state':
      case 'ctstate':
        // The names iptables reads (`E` is ESTABLISHED), as iptables-save would print them.
        other.push(`${o.negated ? 'not ' : ''}in state ${canonicalChoiceList(v, o.name === 'state' ? STATE_PARAMS : CT_STATE_PARAMS)?.join(',') ?? v}`);
        break;
      case 'icmp-type':
      case 'icmpv6-type': {
        // Named and numbered as the analysis and the tracer say them: "ICMPv6 packets of type
        // echo-request (128)" (the match needs -p icmp or icmpv6, which the reading names already).
        const v6 = o.name === 'icmpv6-type';
        const read = readIcmpType(v, v6 ? ICMPV6_TYPES : ICMP_TYPES);
        if (read && !v6 && read.type === 255) other.push(o.negated ? 'of no type (! --icmp-type any matches no packet)' : 'of any type');
        else other.push(`${o.negated ? 'not ' : ''}of type ${read ? icmpText(read.type, read.codes[0], read.codes[1], v6 ? 'ipv6' : 'ipv4') : v}`);
        break;
      }
      case 'mac-source':
        other.push(`${o.negated ? 'not ' : ''}from MAC ${v}`);
        break;
      case 'physdev-in':
        other.push(`${o.negated ? 'not ' : ''}entering by bridge port ${v}`);
        break;
      case 'physdev-out':
        other.push(`${o.negated ? 'not ' : ''}leaving by bridge port ${v}`);
        break;
      case 'physdev-is-bridged':
        other.push(o.negated ? 'not bridged' : 'being bridged');
        break;
      case 'match-set':
        other.push(`${o.negated ? 'not ' : ''}in ipset ${o.values[0]?.value ?? '?'} (looked up by ${o.values[1]?.value ?? '?'})`);
        break;
      case 'mark':
        // The mark match tests the packet's mark, connmark the connection's.
        if (m.name === 'mark' || m.name === 'connmark') {
          other.push(`whose ${m.name === 'connmark' ? 'connection mark' : 'mark'} is ${o.negated ? 'not ' : ''}${v}`);
          break;
        }
        other.push(`${o.negated ? 'not ' : ''}with --${o.name}${v ? ' ' + v : ''}`);
        break;
      case 'syn':
        other.push(o.negated ? 'that are not connection requests' : 'that open a connection (SYN)');
        break;
      case 'comment':
        break;
      default:
        // Any other option is named as written, so that the sentence never hides a condition.
        other.push(`${o.negated ? 'not ' : ''}with --${o.name}${v ? ' ' + v : ''}`);
    }
  }
  return { ports, other };
}

/** The verb and the ending of the sentence for a rule's target. */
function targetWords(rule: Rule): { verb: string; ending: string } {
  const t = rule.info.target;
  if (!t) return { verb: 'Counts', ending: ' (no target: the packet goes on to the next rule)' };
  switch (t.name) {
    case 'ACCEPT':
      return { verb: 'Accepts', ending: '' };
    case 'DROP':
      return { verb: 'Drops', ending: '' };
    case 'RETURN':
      return { verb: 'Returns', ending: rule.chainName && rule.table.chains.get(rule.chainName)?.builtin ? ' to the chain policy' : ' to the calling chain' };
    case 'QUEUE':
      return { verb: 'Queues', ending: ' to user space' };
    case 'REJECT':
      return { verb: 'Rejects', ending: '' };
    default:
      break;
  }
  if (t.kind === 'chain') return t.goto ? { verb: 'Sends', ending: ` to chain ${t.name} (goto: no return here)` } : { verb: 'Sends', ending: ` to chain ${t.name}` };
  const opts = t.options.map((o) => `--${o.name}${o.values.length ? ' ' + valuesOf(o) : ''}`).join(' ');
  return { verb: `Applies ${t.name}${opts ? ` (${opts})` : ''} to`, ending: '' };
}

/**
 * One plain-English sentence for a rule: the verdict, the packets it applies to (protocol,
 * ports, addresses, interfaces, module conditions) and where they go.
 */
export function describeRule(rule: Rule): string {
  const { info } = rule;
  if (info.command !== 'A' && info.command !== 'I' && info.command !== 'R' && info.command !== 'D' && info.command !== 'C') return describeCommand(rule);
  const { verb, ending } = targetWords(rule);
  let noun = 'packets';
  const ports: string[] = [];
  const rest: string[] = [];
  const where: string[] = [];
  for (const o of info.base) {
    const v = valuesOf(o);
    switch (o.name) {
      case 'p': {
        const p = PROTOCOL_NAMES[v.toLowerCase()] ?? v;
        if (p) noun = o.negated ? `non-${p} packets` : `${p} packets`;
        break;
      }
      case 's':
        where.push(`${o.negated ? 'not ' : ''}from ${v}`);
        break;
      case 'd':
        where.push(`${o.negated ? 'not ' : ''}to ${v}`);
        break;
      case 'i':
        where.push(`${o.negated ? 'not ' : ''}arriving on ${v}`);
        break;
      case 'o':
        where.push(`${o.negated ? 'not ' : ''}leaving on ${v}`);
        break;
      case 'f':
        rest.push(o.negated ? 'that are first fragments or unfragmented' : 'that are later fragments');
        break;
      default:
        break;
    }
  }
  for (const m of info.matches) {
    const p = matchPhrases(m);
    ports.push(...p.ports);
    rest.push(...p.other);
  }
  const parts = [verb, noun, ...ports, ...where, ...rest].join(' ');
  const prefix = info.command === 'D' ? 'Deletes the rule that ' + verb.toLowerCase() : undefined;
  const sentence = prefix ? `${prefix} ${[noun, ...ports, ...where, ...rest].join(' ')}${ending}` : `${parts}${ending}`;
  return `${sentence}.`;
}

/** A sentence for commands that are not rules (-N, -P, -F, -X, -E, -Z). */
function describeCommand(rule: Rule): string {
  const { info } = rule;
  const chain = info.chainArg?.value;
  switch (info.command) {
    case 'N':
      return `Creates the chain ${chain}.`;
    case 'P':
      return `Sets the policy of ${chain} to ${info.policyArg?.value ?? '?'}.`;
    case 'F':
      return chain ? `Deletes every rule of ${chain}.` : `Deletes every rule of every chain of table ${rule.table.name}.`;
    case 'X':
      return chain ? `Deletes the chain ${chain}.` : `Deletes every empty user chain of table ${rule.table.name}.`;
    case 'E':
      return `Renames ${chain} to ${info.newNameArg?.value ?? '?'}.`;
    case 'Z':
      return chain ? `Zeroes the counters of ${chain}.` : 'Zeroes every counter of the table.';
    default:
      return 'A line without a command.';
  }
}

/** Markdown for a chain: policy, counters, rule count, the chains that jump to it, and its role when Neutron made it. */
export function describeChain(chain: Chain): string {
  const lines: string[] = [];
  lines.push(`**${chain.builtin ? 'builtin chain' : 'chain'} \`${chain.name}\`** in table \`${chain.table.name}\``);
  lines.push('');
  if (chain.builtin) lines.push(`- policy: **${chain.policy ?? 'ACCEPT'}**`);
  if (chain.counters) lines.push(`- counters: ${humanCount(chain.counters.packets)} packets, ${humanBytes(chain.counters.bytes)} (\`[${chain.counters.packets}:${chain.counters.bytes}]\`)`);
  lines.push(`- ${chain.rules.length} rule${chain.rules.length === 1 ? '' : 's'}`);
  const from = callers(chain);
  if (chain.builtin) lines.push(`- entered from the ${chain.hook ?? chain.name} hook`);
  if (from.length === 0 && !chain.builtin) lines.push('- no rule jumps to it');
  if (from.length > 0) {
    const names = [...new Set(from.map((r) => r.chainName ?? '?'))];
    const shown = names.slice(0, 10).map((n) => `\`${n}\``).join(', ');
    lines.push(`- called by ${from.length} rule${from.length === 1 ? '' : 's'} in ${names.length} chain${names.length === 1 ? '' : 's'}: ${shown}${names.length > 10 ? `, … (${names.length - 10} more)` : ''}`);
  }
  const neutron = chain.builtin ? undefined : neutronChainRole(chain.name);
  if (neutron) lines.push('', `Neutron${neutron.agent ? `, made by ${neutron.agent}` : ''}: ${neutron.role}.`);
  return lines.join('\n');
}

/** Markdown for an option of an extension. */
export function describeOption(spec: OptionSpec, owner: ExtensionSpec | undefined): string {
  const args = spec.args.map((a) => a.label ?? a.kind).join(' ');
  const head = `\`${spec.invert ? '[!] ' : ''}--${spec.name}${args ? ' ' + args : ''}\``;
  const aliases = spec.aliases?.length ? ` (also ${spec.aliases.map((a) => `--${a}`).join(', ')})` : '';
  return `${head}${aliases}${owner ? ` — option of \`${owner.name}\`` : ''}\n\n${spec.doc}`;
}

/** Markdown for a match module or target extension, with its options. */
export function describeExtension(spec: ExtensionSpec, what: 'match' | 'target'): string {
  const lines = [`**${what === 'match' ? 'match module' : 'target'} \`${spec.name}\`**`, '', spec.doc];
  const needs: string[] = [];
  if (spec.protocols) needs.push(`needs \`-p ${spec.protocols[0]}\``);
  if (spec.tables) needs.push(`tables: ${spec.tables.join(', ')}`);
  if (spec.hooks) needs.push(`hooks: ${spec.hooks.join(', ')}`);
  if (spec.family) needs.push(`${spec.family === 'ipv4' ? 'IPv4' : 'IPv6'} only`);
  if (spec.unavailable) needs.push(`unavailable: ${spec.unavailable}`);
  if (needs.length) lines.push('', needs.join('; '));
  if (spec.options.length) {
    lines.push('');
    for (const o of spec.options) lines.push(`- \`--${o.name}\` ${o.doc}`);
  }
  return lines.join('\n');
}

/** Short docs of the base options, shown on hover. */
export const BASE_OPTION_DOCS: Readonly<Record<string, string>> = {
  s: '`[!] -s, --source address[/mask][,…]` — the source address.',
  d: '`[!] -d, --destination address[/mask][,…]` — the destination address.',
  p: '`[!] -p, --protocol proto` — the protocol (tcp, udp, icmp, … or a number); loads the protocol match implicitly.',
  i: '`[!] -i, --in-interface name` — the interface the packet arrived on (`+` is a wildcard suffix); not in OUTPUT, nor in the builtin POSTROUTING chain (where a forwarded packet still has it, for user chains to test).',
  o: '`[!] -o, --out-interface name` — the interface the packet will leave by; not in PREROUTING/INPUT.',
  f: '`[!] -f, --fragment` — second and later fragments (IPv4 only).',
};

/** Short docs of the commands, shown on hover and in completion. */
export const COMMAND_DOCS: Readonly<Record<string, string>> = {
  A: '`-A, --append chain rule` — appends a rule to the end of the chain.',
  I: '`-I, --insert chain [rulenum] rule` — inserts a rule at a position (1 = first).',
  D: '`-D, --delete chain rule|rulenum` — deletes a rule.',
  R: '`-R, --replace chain rulenum rule` — replaces a rule.',
  N: '`-N, --new-chain chain` — creates a user chain.',
  X: '`-X, --delete-chain [chain]` — deletes an empty user chain (all of them without a name).',
  P: '`-P, --policy chain target` — sets the policy (ACCEPT or DROP) of a builtin chain.',
  F: '`-F, --flush [chain]` — deletes every rule of the chain (of the table without a name).',
  E: '`-E, --rename-chain old new` — renames a user chain.',
  Z: '`-Z, --zero [chain]` — zeroes the counters.',
  C: '`-C, --check chain rule` — checks whether a rule exists.',
};

/** A hover: Markdown and the span of the word it is about. */
export interface HoverInfo {
  readonly markdown: string;
  readonly span: Span;
}

const hits = (a: Arg | undefined, line: number, character: number): a is Arg => a !== undefined && a.line === line && a.start <= character && character <= a.end;

/**
 * What to show on hover at a position: a chain (declaration, command or jump), a target, a
 * module, an option (with its module), a command, or else the whole rule's plain-English reading.
 */
export function hoverAt(model: Model, line: number, character: number): HoverInfo | undefined {
  const chainHit = chainAt(model, line, character);
  if (chainHit) {
    const rule = model.ruleByLine.get(line);
    const reading = chainHit.occurrence.kind === 'jump' && rule ? `\n\n---\n\n${describeRule(rule)}` : '';
    return { markdown: describeChain(chainHit.chain) + reading, span: chainHit.occurrence.span };
  }
  const rule = model.ruleByLine.get(line);
  if (!rule) return undefined;
  const { info } = rule;
  const reading = describeRule(rule);
  const t = info.target;
  if (t && hits(t.nameArg, line, character)) {
    const spec = t.spec ?? TARGET_BY_NAME.get(t.name);
    const doc = spec ? describeExtension(spec, 'target') : STANDARD_TARGET_DOCS[t.name] ?? `target \`${t.name}\``;
    return { markdown: `${doc}\n\n---\n\n${reading}`, span: argSpan(t.nameArg) };
  }
  for (const m of info.matches) {
    if (hits(m.nameArg, line, character)) {
      const spec = m.spec ?? MATCH_BY_NAME.get(m.name);
      return { markdown: spec ? describeExtension(spec, 'match') : `unknown match module \`${m.name}\``, span: argSpan(m.nameArg) };
    }
    for (const o of m.options) {
      if (hits(o.nameArg, line, character) || o.values.some((v) => hits(v, line, character))) {
        return { markdown: o.spec ? describeOption(o.spec, m.spec) : `option \`--${o.name}\``, span: argSpan(o.nameArg) };
      }
    }
  }
  for (const o of t?.options ?? []) {
    if (hits(o.nameArg, line, character) || o.values.some((v) => hits(v, line, character))) {
      return { markdown: o.spec ? describeOption(o.spec, t?.spec) : `option \`--${o.name}\``, span: argSpan(o.nameArg) };
    }
  }
  for (const o of info.base) {
    if (hits(o.nameArg, line, character) && BASE_OPTION_DOCS[o.name]) return { markdown: `${BASE_OPTION_DOCS[o.name]}\n\n---\n\n${reading}`, span: argSpan(o.nameArg) };
  }
  if (info.command && hits(info.commandArg, line, character)) return { markdown: `${COMMAND_DOCS[info.command] ?? ''}\n\n---\n\n${reading}`, span: argSpan(info.commandArg) };
  return { markdown: reading, span: rule.span };
}

/** Docs of the standard verdicts. */
export const STANDARD_TARGET_DOCS: Readonly<Record<string, string>> = {
  ACCEPT: '**verdict `ACCEPT`** — lets the packet through; traversal of this hook ends.',
  DROP: '**verdict `DROP`** — discards the packet silently.',
  RETURN: '**verdict `RETURN`** — goes back to the calling chain (in a builtin chain: applies the policy).',
  QUEUE: '**verdict `QUEUE`** — passes the packet to user space (queue 0).',
};
