/**
 * Validators for the kinds of value that iptables options take. Each validator mirrors the
 * parsing function that iptables 1.8 (libxtables and the extension's own parser) applies, so that
 * a value we accept is one `iptables-restore` accepts, and the message says what would be right.
 */
import { PROTOCOL_NUMBERS, SERVICE_PORTS } from './names.ts';

/** The address family a file is checked for. */
export type Family = 'ipv4' | 'ipv6';

/** What a validator knows about the rule around the value. */
export interface ValueContext {
  readonly family: Family;
  /** The rule's `-p` protocol in lower case, if any. */
  readonly protocol?: string;
}

/** A problem with a value: an error iptables-restore would report, or a warning. */
export interface ValueProblem {
  readonly severity: 'error' | 'warning';
  /** Stable diagnostic code. */
  readonly code: string;
  readonly message: string;
}

/** Extra parameters a kind takes in the data table (ranges, choices, lengths). */
export interface KindParams {
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** Accept choices case-insensitively, as parsers that use strcasecmp do. */
  readonly ignoreCase?: boolean;
  /**
   * Accept any non-empty beginning of a choice, as parsers that compare with
   * `strncasecmp(choice, value, strlen(value))` do (conntrack states and statuses, address types:
   * `--state E` is ESTABLISHED); the first choice in order that begins so is meant.
   */
  readonly prefixes?: boolean;
  readonly maxLength?: number;
  readonly minLength?: number;
  /** Maximum number of list elements (multiport: 15, with a range counting twice). */
  readonly maxItems?: number;
  /** Longer values are silently cut to this many bytes by iptables: a warning, not an error. */
  readonly truncatesAt?: number;
  /**
   * Names are looked up on the restoring host (a device group, routing realm): what they are,
   * and the file iptables reads them from. A name gets a `host-defined-name` warning.
   */
  readonly hostNames?: { readonly what: string; readonly file: string };
  /** A range written high:low is accepted by iptables (it matches nothing): a warning, not an error. */
  readonly reversedAccepted?: boolean;
  /** A 64-bit counter (quota, connbytes): up to 2^64 - 1, compared exactly (`min`/`max` unused). */
  readonly u64?: boolean;
  /**
   * Choices iptables reads but the kernel's checkentry refuses (ip6tables' addrtype cannot match
   * BROADCAST or BLACKHOLE …), with why; the rule fails to load without a message.
   */
  readonly kernelRefuses?: { readonly choices: readonly string[]; readonly why: string };
}

/** A validator: returns a problem, or undefined when the value is fine. */
export type Validator = (value: string, ctx: ValueContext, p: KindParams) => ValueProblem | undefined;

const err = (code: string, message: string): ValueProblem => ({ severity: 'error', code, message });
const warn = (code: string, message: string): ValueProblem => ({ severity: 'warning', code, message });

/** A text without the blanks (C's isspace) at its start, which strtoul, strtod and atoi skip. */
function skipBlanks(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+/, '');
}

/**
 * A number's text without what strtoul skips before it: blanks, then one `+`. libxtables reads
 * almost every number with strtoul (xtables_strtoui), so iptables-restore accepts `--dport +22`,
 * `--mark " 0x1"` or `-s "10. 0.0.1"` (measured for ports, marks, addresses, masks, lengths, TTLs,
 * zones, queues, uids …; kernel-oracle cases `hand-strtoul-*`). `-` is refused (xtables_strtoui
 * checks for it).
 */
export function strtoulBody(s: string): string {
  const t = skipBlanks(s);
  return t.startsWith('+') ? t.slice(1) : t;
}

/** Whether a text is read as a number (rather than a name) by strtoul: a digit after the skipped blanks and `+`. */
export function looksNumeric(s: string): boolean {
  return /^[0-9]/.test(strtoulBody(s));
}

/** Parses an unsigned integer the way strtoul(…, 0) does: decimal, 0x hex or 0 octal, after blanks and a `+`. */
export function parseUnsigned(text: string): number | undefined {
  const s = strtoulBody(text);
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0[0-7]+$/.test(s)) return parseInt(s.slice(1), 8);
  // A leading zero means octal to strtoul, so 080 stops at the 8 and is rejected.
  if (/^0[0-9]+$/.test(s)) return undefined;
  if (/^[0-9]+$/.test(s)) return parseInt(s, 10);
  return undefined;
}

/** The largest 64-bit unsigned value, the bound of strtoull. */
export const U64_MAX = (1n << 64n) - 1n;

/** `parseUnsigned` for 64-bit counters, exact beyond 2^53 (as strtoull with base 0 reads them). */
export function parseUnsigned64(text: string): bigint | undefined {
  const s = strtoulBody(text);
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s);
  if (/^0[0-7]+$/.test(s)) return BigInt(`0o${s.slice(1)}`);
  if (/^0[0-9]+$/.test(s)) return undefined;
  if (/^[0-9]+$/.test(s)) return BigInt(s);
  return undefined;
}

/**
 * Parses an IPv4 address as inet_aton does (what iptables uses): one to four parts, each decimal,
 * 0x hex or 0 octal, the last part filling the remaining bytes (`1.2.3` is 1.2.0.3).
 */
export function parseInetAton(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    const n = parseUnsigned(p);
    if (n === undefined) return undefined;
    nums.push(n);
  }
  const lastMax = [0xffffffff, 0xffffff, 0xffff, 0xff][parts.length - 1];
  for (let i = 0; i < nums.length - 1; i++) if (nums[i] > 255) return undefined;
  if (nums[nums.length - 1] > lastMax) return undefined;
  let v = 0;
  for (let i = 0; i < nums.length - 1; i++) v = v * 256 + nums[i];
  return v * (lastMax + 1) + nums[nums.length - 1];
}

/**
 * iptables' own numeric form, tried before the resolver: one to four parts of 0-255 (decimal,
 * 0x hex or 0 octal), missing trailing parts are zero (`22` is 22.0.0.0, `1.2.3` is 1.2.3.0).
 */
export function parseShortQuad(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const n = i < parts.length ? parseUnsigned(parts[i]) : 0;
    if (n === undefined || n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/**
 * Parses an IPv4 address in canonical form, four decimal numbers without leading zeros, as
 * inet_pton reads it (NAT ranges and IPv6's embedded IPv4 tail use inet_pton: `010.0.0.1` is
 * refused there). Returns its 32-bit value.
 */
export function parseIPv4(s: string): number | undefined {
  // Read character by character: every address of a dump passes here, and a regular expression
  // with four captures took about 6 % of the check of a 100,000-address blocklist.
  let v = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    // The end of the text closes the last part as a dot would.
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255 || ++parts > 4) return undefined;
      v = v * 256 + part;
      part = 0;
      digits = 0;
    } else {
      // Decimal digits only, at most three, and no leading zero.
      if (c < 48 || c > 57 || (digits === 1 && part === 0) || ++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    }
  }
  return parts === 4 ? v : undefined;
}

/**
 * The value iptables gives an IPv4 address word of -s, -d (and libxtables' other address
 * options): its own numeric form first, each part read with base 0 (`010.0.0.1` is 8.0.0.1, `10.1`
 * is 10.1.0.0), then the resolver's inet_aton (`1.2.65535` is 1.2.255.255). Undefined for a name.
 */
export function readIPv4(s: string): number | undefined {
  return parseShortQuad(s) ?? parseInetAton(s);
}

/** An IPv4 mask as iptables reads one: four parts, each up to 255 read with base 0 (`0377.0.0.0`). */
export function parseMaskQuad(s: string): number | undefined {
  const parts = s.split('.');
  return parts.length === 4 ? parseShortQuad(s) : undefined;
}

/** Parses an IPv6 address (with `::` compression and an optional embedded IPv4 tail) into 8 groups. */
export function parseIPv6(s: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length < 2) return undefined;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const g = pieces[i];
      if (i === pieces.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  }
  const all = parseGroups(s);
  return all && all.length === 8 ? all : undefined;
}

/** Whether a string looks like a host name that the resolver could be asked for. */
function looksLikeHostname(s: string): boolean {
  // A name made only of digits and dots is a broken address, not a host name; iptables would
  // still ask DNS, but in practice it is a typo, so it is reported as a bad address.
  if (/^[0-9.]+$/.test(s)) return false;
  if (s.includes(':')) return false;
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*\.?$/.test(s) && /[A-Za-z]/.test(s);
}

/**
 * A prefix length as libxtables reads it: strtoul with base 0, so `0x8`, `+8` and `010` are 8
 * (measured), while `08` is not a number. Undefined when it is not a number at all.
 */
export function parsePrefixLength(s: string): number | undefined {
  return parseUnsigned(s);
}

/**
 * Validates one address with an optional `/prefix` or `/mask` (libxtables' ipparse). With
 * `longPrefixIsHost` (conntrack's and policy's own IPv4 address parsers), a prefix length above the
 * address size is read as a host address (measured: `--ctorigsrc 10.0.0.1/33` is saved without a
 * mask), which only deserves a warning. `-s`/`-d` read each byte of an IPv4 address with strtoul
 * (blanks and a `+` before it are skipped); the options of the option framework (TEE, TPROXY,
 * recent's mask, conntrack, policy) ask getaddrinfo, which takes neither (`numberBlanks` false;
 * measured).
 */
export function checkAddress(value: string, ctx: ValueContext, what = 'address', longPrefixIsHost = false, numberBlanks = false): ValueProblem | undefined {
  const slash = value.indexOf('/');
  const host = slash >= 0 ? value.slice(0, slash) : value;
  const mask = slash >= 0 ? value.slice(slash + 1) : undefined;
  const v6 = ctx.family === 'ipv6';
  if (host === '') return err('invalid-address', `empty ${what} in '${value}'`);
  if (!numberBlanks && /[ \t\n\v\f\r+]/.test(host)) return err('invalid-address', `invalid ${what} '${host}': blanks and '+' are not allowed in this address (getaddrinfo refuses them)`);
  const ok = v6 ? parseIPv6(host) !== undefined : parseIPv4(host) !== undefined;
  if (!ok && !v6 && readIPv4(host) !== undefined) {
    const n = readIPv4(host)!;
    const quad = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    return warn('noncanonical-address', `'${host}' is read as ${quad}: write the address as four decimal numbers`);
  }
  if (!ok) {
    if (!v6 && parseIPv6(host) !== undefined) return err('family-mismatch', `'${host}' is an IPv6 address in an IPv4 rule set; use ip6tables-restore or an IPv4 address`);
    if (v6 && parseIPv4(host) !== undefined) return err('family-mismatch', `'${host}' is an IPv4 address in an IPv6 rule set; use iptables-restore or an IPv6 address`);
    if (looksLikeHostname(host)) {
      return warn('hostname-address', `'${host}' is a host name: iptables resolves it through DNS when the rules are loaded (and fails if it cannot); iptables-save never writes names, so prefer an address`);
    }
    return err('invalid-address', `invalid ${what} '${host}': expected ${v6 ? 'an IPv6 address such as 2001:db8::1' : 'a dotted-quad IPv4 address such as 192.0.2.1'}`);
  }
  if (mask !== undefined) {
    const maxBits = v6 ? 128 : 32;
    const len = looksNumeric(mask) ? parsePrefixLength(mask) : undefined;
    if (len !== undefined) {
      if (len > maxBits && longPrefixIsHost && !v6 && len <= 0xffffffff) return warn('truncated-value', `prefix length /${mask} is longer than ${maxBits}: it is read as /${maxBits}, the single address ${host}`);
      if (len > maxBits) return err('invalid-address', `invalid prefix length '/${mask}' in '${value}': must be 0 to ${maxBits}`);
    } else if (!v6 && parseMaskQuad(mask) !== undefined) {
      // A dotted mask is accepted by iptables even when it is not contiguous.
    } else if (v6 && parseIPv6(mask) !== undefined) {
      // Likewise for an IPv6 mask written as an address.
    } else {
      return err('invalid-address', `invalid mask '/${mask}' in '${value}': expected a prefix length 0-${maxBits}${v6 ? '' : ' or a dotted mask'}`);
    }
  }
  return undefined;
}

/** Resolves a port or service name as libxtables' xtables_parse_port does. */
export function parsePort(s: string, protocol?: string): number | undefined {
  if (looksNumeric(s)) {
    // iptables reads numbers with strtoul(…, 0): 0x16 is 22, and 080 is not a number.
    const n = parseUnsigned(s);
    return n !== undefined && n <= 65535 ? n : undefined;
  }
  const svc = SERVICE_PORTS.get(s);
  if (!svc) return undefined;
  if (protocol && ['tcp', 'udp', 'sctp', 'dccp'].includes(protocol) && !svc.protocols.includes(protocol[0])) return undefined;
  return svc.port;
}

function checkPort(s: string, ctx: ValueContext): ValueProblem | undefined {
  if (parsePort(s, ctx.protocol) !== undefined) return undefined;
  if (/^[0-9]+$/.test(strtoulBody(s)) && parseUnsigned(s) !== undefined) return err('invalid-port', `port '${s}' is out of range: ports are 0 to 65535`);
  if (/^0[0-9]+$/.test(s)) return err('invalid-port', `invalid port '${s}': a leading 0 makes it octal; write ${Number(s)} without the 0`);
  return err('invalid-port', `invalid port/service '${s}': expected a number 0-65535 or a known service name`);
}

/** `port` or `first:last` (either end may be omitted), as --sport/--dport take. */
function checkPortRange(s: string, ctx: ValueContext): ValueProblem | undefined {
  const parts = s.split(':');
  if (parts.length > 2) return err('invalid-port', `invalid port range '${s}': expected PORT or FIRST:LAST`);
  if (parts.length === 1) return checkPort(s, ctx);
  const [a, b] = parts;
  if (a !== '') { const p = checkPort(a, ctx); if (p) return p; }
  if (b !== '') { const p = checkPort(b, ctx); if (p) return p; }
  const lo = a === '' ? 0 : parsePort(a, ctx.protocol)!;
  const hi = b === '' ? 65535 : parsePort(b, ctx.protocol)!;
  if (lo > hi) return err('invalid-port', `invalid port range '${s}': the first port is greater than the last (write ${hi}:${lo})`);
  return undefined;
}

/**
 * The ports a port option names, as its module reads them (measured): the options of kind
 * `port-range-xt` (udp, dccp, conntrack) read numbers in decimal and keep their low 16 bits
 * (`010` is 10), the others (tcp, sctp, multiport) read them with strtoul base 0 up to 65535
 * (`010` is 8, `0x10` is 16). A port, or FIRST:LAST with either end left out; undefined when
 * unreadable. Shared by the analysis and the tracer, so that they read what iptables reads.
 */
export function readPortRange(s: string, kind: string | undefined, protocol?: string): [number, number] | undefined {
  const decimal = kind === 'port-range-xt';
  const one = (x: string, dflt: number): number | undefined => {
    if (x === '') return dflt;
    if (decimal) return /^[0-9]+$/.test(strtoulBody(x)) ? Number(BigInt(strtoulBody(x)) % 65536n) : looksNumeric(x) ? undefined : parsePort(x, protocol);
    return parsePort(x, protocol);
  };
  const parts = s.split(':');
  if (parts.length > 2) return undefined;
  const lo = one(parts[0], 0);
  const hi = parts.length === 1 ? lo : one(parts[1], 65535);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

/**
 * A port or range as the xtables option framework parses it (udp, dccp, conntrack): decimal
 * numbers (leading zeros allowed) or service names, and no check that the range is ordered; a
 * reversed range is accepted but never matches.
 */
function checkPortRangeXt(s: string, ctx: ValueContext): ValueProblem | undefined {
  const parts = s.split(':');
  if (parts.length > 2) return err('invalid-port', `invalid port range '${s}': expected PORT or FIRST:LAST`);
  const vals: number[] = [];
  for (const [k, x] of parts.entries()) {
    if (x === '' && parts.length === 2) {
      vals.push(k === 0 ? 0 : 65535);
      continue;
    }
    // Numbers are decimal only here (0x16 is looked up as a service name and fails).
    const digits = strtoulBody(x);
    const n = /^[0-9]+$/.test(digits) ? Number(digits) : looksNumeric(x) ? undefined : parsePort(x, ctx.protocol);
    if (n === undefined) return err('invalid-port', `invalid port/service '${x}' (does not resolve to anything): expected a decimal number 0-65535 or a known service name`);
    // The option framework stores the number in 16 bits without a range check.
    if (n > 65535) return warn('truncated-value', `port ${x} is above 65535: iptables keeps only the low 16 bits (${Number(BigInt(digits) % 65536n)})`);
    vals.push(n);
  }
  if (vals.length === 2 && vals[0] > vals[1]) return warn('reversed-range', `port range '${s}' is reversed: iptables accepts it, but it matches no packet (write ${vals[1]}:${vals[0]})`);
  return undefined;
}

/** A multiport list: comma-separated ports or ranges, a range counting as two of at most 15. */
function checkPortList(s: string, ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  const items = s.split(',');
  let count = 0;
  for (const item of items) {
    if (item === '') return err('invalid-port', `empty element in port list '${s}'`);
    const parts = item.split(':');
    if (parts.length > 2) return err('invalid-port', `invalid port range '${item}' in '${s}'`);
    for (const x of parts) {
      if (x === '') return err('invalid-port', `invalid port range '${item}' in '${s}': both ends must be given in a multiport list`);
      const e = checkPort(x, ctx);
      if (e) return e;
    }
    if (parts.length === 2 && parsePort(parts[0], ctx.protocol)! > parsePort(parts[1], ctx.protocol)!) {
      return err('invalid-port', `invalid port range '${item}': the first port is greater than the last`);
    }
    count += parts.length;
  }
  const max = p.maxItems ?? 15;
  if (count > max) return err('too-many-ports', `too many ports in '${s}': multiport takes at most ${max} ports, a range counting as two (here ${count})`);
  return undefined;
}

function checkInterface(s: string): ValueProblem | undefined {
  if (s.length === 0) return err('invalid-interface', 'empty interface name');
  if (s.length >= 16) return err('invalid-interface', `interface name '${s}' is ${s.length} characters long: it must be shorter than 16`);
  if (/[\s/]/.test(s)) return warn('invalid-interface', `interface name '${s}' contains '/' or a blank, which the kernel does not allow`);
  return undefined;
}

/** A MAC address as libxtables reads it: six bytes of one or two hexadecimal digits, separated by ':'. */
export const MAC_ADDRESS = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

function checkMac(s: string): ValueProblem | undefined {
  if (MAC_ADDRESS.test(s)) return undefined;
  return err('invalid-mac', `invalid MAC address '${s}': expected six hexadecimal bytes separated by ':' such as FA:16:3E:11:22:33`);
}

/** `value[/mask]` with 32-bit unsigned values (mark, connmark, ctmark). */
function checkMark(s: string, _ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  const parts = s.split('/');
  const max = p.max ?? 0xffffffff;
  if (parts.length > 2) return err('invalid-value', `invalid mark '${s}': expected VALUE[/MASK]`);
  let named: string | undefined;
  for (const [i, x] of parts.entries()) {
    // The value (not the mask) may be a name from a file of the host (measured: devgroup's
    // `default` and realm's `cosmos` are accepted here, unknown names refused).
    if (i === 0 && p.hostNames && x !== '' && parseUnsigned(x) === undefined) {
      // Only a number takes a mask: iptables looks up anything else as a whole name.
      if (parts.length > 1) return err('invalid-value', `'${s}' mixes a ${p.hostNames.what} name with a mask: iptables looks up the whole text as a name and finds none (could not map name ${s} to an integer value); use the number with the mask`);
      named = x;
      continue;
    }
    const n = parseUnsigned(x);
    if (n === undefined) return err('invalid-value', `invalid mark '${s}': '${x}' is not a number (use decimal or 0x hex)`);
    if (n > max) return err('invalid-value', `mark '${x}' is out of range: at most 0x${max.toString(16)}`);
  }
  return named !== undefined && p.hostNames ? hostDefinedName(named, p.hostNames.what, p.hostNames.file) : undefined;
}

/** The `host-defined-name` warning for a name iptables looks up in a file of the restoring host. */
function hostDefinedName(name: string, what: string, file: string): ValueProblem {
  return warn('host-defined-name', `'${name}' is a ${what} name: iptables looks it up in ${file} on the restoring host and refuses the rule where the name is not defined; a number does not depend on the host`);
}

function checkUint(s: string, _ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  if (p.u64) {
    const b = parseUnsigned64(s);
    if (b === undefined) return err('invalid-value', `'${s}' is not a number: expected an integer from 0 to ${U64_MAX}`);
    if (b > U64_MAX) return err('invalid-value', `${s} is out of range: expected 0 to ${U64_MAX}`);
    return undefined;
  }
  const n = parseUnsigned(s);
  const min = p.min ?? 0;
  const max = p.max ?? 0xffffffff;
  if (n === undefined) return err('invalid-value', `'${s}' is not a number: expected an integer from ${min} to ${max}`);
  if (n < min || n > max) return err('invalid-value', `${s} is out of range: expected ${min} to ${max}`);
  return undefined;
}

/** `n` or `n:m` (length, ttl ranges, connbytes…). */
function checkUintRange(s: string, ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  const parts = s.split(':');
  if (parts.length > 2) return err('invalid-value', `invalid range '${s}': expected N or N:M`);
  for (const x of parts) {
    if (x === '' && parts.length === 2) continue;
    const e = checkUint(x, ctx, p);
    if (e) return e;
  }
  const reversed = p.u64 ? (a: string, b: string): boolean => parseUnsigned64(a)! > parseUnsigned64(b)! : (a: string, b: string): boolean => parseUnsigned(a)! > parseUnsigned(b)!;
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '' && reversed(parts[0], parts[1])) {
    if (p.reversedAccepted) return warn('reversed-range', `range '${s}' is reversed: iptables accepts it, but it matches no packet (write ${parts[1]}:${parts[0]})`);
    return err('invalid-value', `invalid range '${s}': the first value is greater than the last`);
  }
  return undefined;
}

/**
 * NETMAP's --to: an address or network. iptables (IPv4) reads a prefix longer than 32 as /32
 * (measured: `10.0.0.0/33` and `/40` are saved as `/32`); ip6tables refuses `/129`.
 */
function checkNetmapAddress(s: string, ctx: ValueContext): ValueProblem | undefined {
  const m = /^(.*)\/([0-9]+)$/.exec(s);
  if (m && ctx.family !== 'ipv6' && Number(m[2]) > 32) return checkAddress(m[1], ctx) ?? warn('truncated-value', `prefix /${m[2]} is longer than 32: iptables reads it as /32, a single address`);
  return checkAddress(s, ctx);
}

/** Mobility header types by name (any case), as libip6t_mh knows them. */
const MH_TYPES = ['binding-refresh-request', 'brr', 'home-test-init', 'hoti', 'careof-test-init', 'coti', 'home-test', 'hot', 'careof-test', 'cot', 'binding-update', 'bu', 'binding-acknowledgement', 'ba', 'binding-error', 'be'];

/**
 * `-m mh --mh-type`: a type or a range, as libip6t_mh reads them. A type is a name, matched by its
 * beginning in any case (the first name it begins, unless it is a whole name: `b` is
 * binding-refresh-request, `home-test` is home-test), or a number up to 255 read with base 0
 * (`0x5`). A range splits at its first colon; an empty side is 0 or 255 (`5:`, `:5`), and a range
 * whose first type is above the second is refused (`ba:bu`, `255:0`).
 */
function checkMhType(s: string): ValueProblem | undefined {
  const colon = s.indexOf(':');
  const sides = colon < 0 ? [s] : [s.slice(0, colon), s.slice(colon + 1)];
  const types: number[] = [];
  for (const [i, x] of sides.entries()) {
    const t = colon >= 0 && x === '' ? (i === 0 ? 0 : 255) : mhTypeNumber(x);
    if (t === undefined) return err('invalid-value', `invalid MH type '${x}': expected a number from 0 to 255 or (the beginning of) one of ${MH_TYPES.join(', ')}`);
    types.push(t);
  }
  if (types.length === 2 && types[0] > types[1]) return err('invalid-value', `invalid MH type range '${s}': the first type (${types[0]}) is above the last (${types[1]}) (Invalid MH type range (min > max))`);
  return undefined;
}

/** The number of an MH type name or number (see checkMhType); undefined when it is neither. */
function mhTypeNumber(x: string): number | undefined {
  const lower = x.toLowerCase();
  let match = -1;
  MH_TYPES.forEach((name, i) => {
    if (name.startsWith(lower) && (match < 0 || name.length === lower.length)) match = i;
  });
  // The names come in pairs (long name, alias) in type order.
  if (match >= 0) return match >> 1;
  const n = parseUnsigned(x);
  return n !== undefined && n <= 255 ? n : undefined;
}

/** A BPF program as "N,code jt jf k,…": N must be the number of instructions that follow. */
function checkBpfBytecode(s: string): ValueProblem | undefined {
  const parts = s.split(',');
  if (parts[parts.length - 1] === '') parts.pop();
  const n = Number(parts[0]);
  if (!/^[0-9]+$/.test(parts[0] ?? '') || n < 1) return err('invalid-value', `invalid BPF bytecode '${s.slice(0, 40)}': it starts with the number of instructions`);
  const ins = parts.slice(1);
  if (ins.some((x) => !/^\s*[0-9]+ [0-9]+ [0-9]+ [0-9]+\s*$/.test(x))) return err('invalid-value', 'invalid BPF bytecode: each instruction is four numbers "code jt jf k"');
  if (ins.length !== n) return err('invalid-value', `BPF bytecode says ${n} instruction${n === 1 ? '' : 's'} but has ${ins.length} (bpf: parsed program length differs from the encoded length)`);
  return undefined;
}

/** connlabel's --label: a bit number 0 to 127, or a name looked up on the restoring host. */
function checkConnlabel(s: string): ValueProblem | undefined {
  const bit = connlabelBit(s);
  if (bit !== undefined) return bit > 127 ? err('invalid-value', `connlabel bit ${s} is out of range: 0 to 127`) : undefined;
  return s === '' ? err('invalid-value', 'empty connlabel name') : hostDefinedName(s, 'connlabel', '/etc/xtables/connlabel.conf');
}

/**
 * The bit a connlabel --label names when it is a number, as libxt_connlabel reads one (strtoul
 * with base 0, after blanks and a `+`; measured: `0x7f` and `0177` are bit 127, `+5` and ` 5`
 * are 5); undefined for a name, which iptables looks up in /etc/xtables/connlabel.conf (`08` and
 * `-1` are names).
 */
function connlabelBit(s: string): number | undefined {
  return parseUnsigned(s);
}

/** The SCTP chunk types of --chunk-types (any case), with the flags each may carry. */
const SCTP_CHUNK_FLAGS: ReadonlyMap<string, string> = new Map([
  ['DATA', 'UBE'], ['INIT', ''], ['INIT_ACK', ''], ['SACK', ''], ['HEARTBEAT', ''], ['HEARTBEAT_ACK', ''], ['ABORT', 'T'], ['SHUTDOWN', ''],
  ['SHUTDOWN_ACK', ''], ['ERROR', ''], ['COOKIE_ECHO', ''], ['COOKIE_ACK', ''], ['ECN_ECNE', ''], ['ECN_CWR', ''], ['SHUTDOWN_COMPLETE', 'T'],
  ['ASCONF', ''], ['ASCONF_ACK', ''], ['FORWARD_TSN', ''], ['ALL', ''], ['NONE', ''],
]);

function checkSctpChunks(s: string): ValueProblem | undefined {
  for (const item of s.split(',')) {
    const [name, flags] = item.split(':');
    const allowed = SCTP_CHUNK_FLAGS.get(name.toUpperCase());
    if (allowed === undefined) return err('invalid-value', `unknown SCTP chunk type '${name}': expected ${[...SCTP_CHUNK_FLAGS.keys()].join(', ')}`);
    if (flags !== undefined && [...flags].some((f) => !allowed.includes(f.toUpperCase()))) {
      return err('invalid-value', `invalid flags '${flags}' for SCTP chunk ${name.toUpperCase()}: ${allowed ? `it takes ${[...allowed].join(', ')} (lower case: the flag unset)` : 'it takes none'}`);
    }
  }
  return undefined;
}

/** TCPOPTSTRIP's option list: names or option numbers 0 to 255. */
const TCP_OPTION_NUMBERS: ReadonlyMap<string, number> = new Map([['mss', 2], ['wscale', 3], ['sack-permitted', 4], ['sack', 5], ['timestamp', 8], ['md5', 19]]);
function checkTcpOptionList(s: string): ValueProblem | undefined {
  const seen = new Set<number>();
  for (const o of s.split(',')) {
    const n = TCP_OPTION_NUMBERS.get(o) ?? (/^[0-9]+$/.test(o) && Number(o) <= 255 ? Number(o) : undefined);
    if (n === undefined) return err('invalid-value', `unknown TCP option '${o}': expected ${[...TCP_OPTION_NUMBERS.keys()].join(', ')} or a number from 0 to 255`);
    // A name and its number are the same option (timestamp is 8): iptables refuses it twice.
    if (seen.has(n)) return err('invalid-value', `TCP option ${n} (${o}) is listed twice`);
    seen.add(n);
  }
  return undefined;
}

/**
 * A number as strtod reads a whole text (libxt_statistic: `*end` must be the end): blanks, a sign,
 * then a decimal (`5e-1`, `1.`, `.5`) or hexadecimal (`0x0.8`, `0x1p-1`) number, `inf` or `nan`.
 * Undefined when strtod would stop before the end.
 */
export function parseStrtod(text: string): number | undefined {
  const s = skipBlanks(text);
  const sign = s.startsWith('-') ? -1 : 1;
  const body = /^[+-]/.test(s) ? s.slice(1) : s;
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return sign * Number(body);
  const hex = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(body);
  if (hex && (hex[1] !== '' || (hex[2] ?? '') !== '')) {
    const digits = hex[1] + (hex[2] ?? '');
    let v = 0;
    for (const d of digits) v = v * 16 + parseInt(d, 16);
    return sign * v * 2 ** (Number(hex[3] ?? 0) - 4 * (hex[2] ?? '').length);
  }
  if (/^inf(inity)?$/i.test(body)) return sign * Infinity;
  if (/^nan(\([0-9A-Za-z_]*\))?$/i.test(body)) return NaN;
  return undefined;
}

/**
 * statistic's --probability: a number from 0 to 1 as strtod reads it (measured: `5e-1`, `0x0.8`,
 * `-0` and even `nan` are accepted, since libxt_statistic only refuses values below 0 or above 1).
 */
function checkProbability(s: string): ValueProblem | undefined {
  const p = parseStrtod(s);
  if (p === undefined || p < 0 || p > 1) return err('invalid-value', `invalid probability '${s}': expected a number from 0 to 1, such as 0.25`);
  return undefined;
}

/**
 * A u32 test, read as libxt_u32 reads it: tests joined by "&&", each a location (a number, then
 * operators & << >> @ each followed by a number) "=" a list of values or ranges (N or N:M, joined
 * by ","); numbers are 32-bit, decimal or 0x hex, shifts below 32; blanks are allowed between parts.
 */
function checkU32(s: string): ValueProblem | undefined {
  const text = s;
  let i = 0;
  const blanks = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const number = (): number | undefined => {
    blanks();
    const m = /^(0x[0-9a-fA-F]+|[0-9]+)/.exec(text.slice(i));
    if (!m) return undefined;
    const n = m[1].startsWith('0x') ? parseInt(m[1], 16) : Number(m[1]);
    if (n > 0xffffffff) return undefined;
    i += m[1].length;
    return n;
  };
  const at = (what: string): ValueProblem => err('invalid-value', `invalid u32 test '${s}': at character ${i}, ${what}`);
  if (text.trim() === '') return err('invalid-value', 'empty u32 test');
  // libxt_u32 keeps at most 10 tests, 10 numbers per location and 10 values per test (XT_U32_MAXSIZE).
  let tests = 0;
  for (;;) {
    blanks();
    if (i >= text.length) return at('a location is missing (the test ends after "&&")');
    if (text[i] === '=') return at('the location is missing before "="');
    if (++tests > 10) return at('an 11th test: at most 10 tests joined by "&&"');
    if (number() === undefined) return at('expected a number from 0 to 0xffffffff');
    let numbers = 1;
    for (;;) {
      blanks();
      const op = text.startsWith('<<', i) ? '<<' : text.startsWith('>>', i) ? '>>' : text[i] === '&' && text[i + 1] !== '&' ? '&' : text[i] === '@' ? '@' : undefined;
      if (!op) break;
      if (++numbers > 10) return at('too many operators: a location has at most 9');
      i += op.length;
      const n = number();
      if (n === undefined) return at(`expected a number after "${op}"`);
      if ((op === '<<' || op === '>>') && n > 31) return at(`a shift of ${n}: at most 31`);
    }
    blanks();
    if (text[i] !== '=') return at(i >= text.length ? 'the test ends without "=" and values' : 'expected "=", "&", "<<", ">>" or "@"');
    i++;
    let values = 0;
    for (;;) {
      if (++values > 10) return at('too many values: a test has at most 10 values or ranges');
      const lo = number();
      if (lo === undefined) return at(i >= text.length ? 'the test ends without a value after "="' : 'expected a value');
      blanks();
      if (text[i] === ':') {
        i++;
        if (number() === undefined) return at('expected the end of the range');
        blanks();
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    blanks();
    if (i >= text.length) return undefined;
    if (text.startsWith('&&', i)) {
      i += 2;
      continue;
    }
    return at('expected "," or "&&"');
  }
}

function choiceOf(s: string, p: KindParams): boolean {
  return canonicalChoice(s, p) !== undefined;
}

/** The choice a value names, as iptables reads it (see KindParams), or undefined. */
export function canonicalChoice(s: string, p: KindParams): string | undefined {
  const choices = p.choices ?? [];
  if (p.prefixes) {
    if (s === '') return undefined;
    const want = p.ignoreCase ? s.toLowerCase() : s;
    return choices.find((c) => (p.ignoreCase ? c.toLowerCase() : c).startsWith(want));
  }
  return p.ignoreCase ? choices.find((c) => c.toLowerCase() === s.toLowerCase()) : choices.find((c) => c === s);
}

/** The choices a comma-separated list names, in order, or undefined when one item names none. */
export function canonicalChoiceList(s: string, p: KindParams): string[] | undefined {
  const out: string[] = [];
  for (const item of s.split(',')) {
    const c = canonicalChoice(item, p);
    if (c === undefined) return undefined;
    out.push(c);
  }
  return out;
}

function checkChoice(s: string, _ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  if (choiceOf(s, p)) return undefined;
  return err('invalid-value', `invalid value '${s}': expected one of ${(p.choices ?? []).join(', ')}`);
}

/** A comma-separated list of choices (conntrack states, address types, hashlimit modes…). */
function checkChoiceList(s: string, _ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  if (s === '') return err('invalid-value', `empty list: expected one or more of ${(p.choices ?? []).join(', ')}`);
  for (const item of s.split(',')) {
    const choice = canonicalChoice(item, p);
    if (choice === undefined) return err('invalid-value', `invalid value '${item}' in '${s}': expected a comma-separated list of ${(p.choices ?? []).join(', ')}`);
    const refused = p.kernelRefuses;
    if (refused?.choices.includes(choice)) {
      const allowed = (p.choices ?? []).filter((c) => !refused.choices.includes(c));
      return err('invalid-value', `'${item}'${item === choice ? '' : ` (${choice})`}: ${refused.why}; the kernel refuses the rule (possible: ${allowed.join(', ')})`);
    }
  }
  return undefined;
}

const TCP_FLAGS = ['SYN', 'ACK', 'FIN', 'RST', 'URG', 'PSH', 'ALL', 'NONE'];

/** One argument of --tcp-flags (mask or comparison). */
function checkTcpFlagList(s: string): ValueProblem | undefined {
  for (const f of s.split(',')) {
    // An empty item (a trailing comma) is skipped by iptables' parser.
    if (f !== '' && !TCP_FLAGS.includes(f.toUpperCase())) return err('invalid-value', `unknown TCP flag '${f}' in '${s}': expected a comma-separated list of ${TCP_FLAGS.join(', ')}`);
  }
  return undefined;
}

/** ICMP type names as the icmp match knows them, with their type and code (code -1 = any). */
export const ICMP_TYPES: ReadonlyMap<string, readonly [number, number]> = new Map<string, readonly [number, number]>([
  ['any', [255, -1]], ['echo-reply', [0, -1]], ['pong', [0, -1]], ['destination-unreachable', [3, -1]],
  ['network-unreachable', [3, 0]], ['host-unreachable', [3, 1]], ['protocol-unreachable', [3, 2]],
  ['port-unreachable', [3, 3]], ['fragmentation-needed', [3, 4]], ['source-route-failed', [3, 5]],
  ['network-unknown', [3, 6]], ['host-unknown', [3, 7]], ['network-prohibited', [3, 9]],
  ['host-prohibited', [3, 10]], ['TOS-network-unreachable', [3, 11]], ['TOS-host-unreachable', [3, 12]],
  ['communication-prohibited', [3, 13]], ['host-precedence-violation', [3, 14]],
  ['precedence-cutoff', [3, 15]], ['source-quench', [4, -1]], ['redirect', [5, -1]],
  ['network-redirect', [5, 0]], ['host-redirect', [5, 1]], ['TOS-network-redirect', [5, 2]],
  ['TOS-host-redirect', [5, 3]], ['echo-request', [8, -1]], ['ping', [8, -1]],
  ['router-advertisement', [9, -1]], ['router-solicitation', [10, -1]], ['time-exceeded', [11, -1]],
  ['ttl-exceeded', [11, -1]], ['ttl-zero-during-transit', [11, 0]], ['ttl-zero-during-reassembly', [11, 1]],
  ['parameter-problem', [12, -1]], ['ip-header-bad', [12, 0]], ['required-option-missing', [12, 1]],
  ['timestamp-request', [13, -1]], ['timestamp-reply', [14, -1]], ['address-mask-request', [17, -1]],
  ['address-mask-reply', [18, -1]],
]);

/** ICMPv6 type names as the icmp6 match knows them. */
export const ICMPV6_TYPES: ReadonlyMap<string, readonly [number, number]> = new Map<string, readonly [number, number]>([
  ['destination-unreachable', [1, -1]], ['no-route', [1, 0]], ['communication-prohibited', [1, 1]],
  ['beyond-scope', [1, 2]], ['address-unreachable', [1, 3]], ['port-unreachable', [1, 4]],
  ['failed-policy', [1, 5]], ['reject-route', [1, 6]], ['packet-too-big', [2, -1]],
  ['time-exceeded', [3, -1]], ['ttl-exceeded', [3, -1]], ['ttl-zero-during-transit', [3, 0]],
  ['ttl-zero-during-reassembly', [3, 1]], ['parameter-problem', [4, -1]], ['bad-header', [4, 0]],
  ['unknown-header-type', [4, 1]], ['unknown-option', [4, 2]], ['echo-request', [128, -1]],
  ['ping', [128, -1]], ['echo-reply', [129, -1]], ['pong', [129, -1]],
  // (ip6tables 1.8.9 has no names for the MLD types 130-132: `mld-listener-query` is refused.)
  ['router-solicitation', [133, -1]],
  ['router-advertisement', [134, -1]], ['neighbour-solicitation', [135, -1]],
  ['neighbor-solicitation', [135, -1]], ['neighbour-advertisement', [136, -1]],
  ['neighbor-advertisement', [136, -1]], ['redirect', [137, -1]],
]);

/**
 * An ICMP or ICMPv6 type as libipt_icmp/libip6t_icmp6 read it: a name by any beginning only one
 * name has (any case), or TYPE[/CODE] with numbers read by strtoul base 0 (measured: `010` is 8,
 * `0x8/0x0` is 8/0, `08` is refused). The codes are a range (all codes when none is given).
 * Undefined when unreadable or ambiguous; the numbers may exceed 255 (the caller says so).
 * `names` are the names beginning with `s`, for callers that have them already.
 */
export function readIcmpType(s: string, table: ReadonlyMap<string, readonly [number, number]>, names = icmpNamesStarting(s, table)): { type: number; codes: [number, number] } | undefined {
  if (names.length > 1) return undefined;
  if (names.length === 1) {
    const [type, code] = table.get(names[0])!;
    return { type, codes: code < 0 ? [0, 255] : [code, code] };
  }
  const slash = s.indexOf('/');
  const typeText = slash >= 0 ? s.slice(0, slash) : s;
  const codeText = slash >= 0 ? s.slice(slash + 1) : undefined;
  const type = looksNumeric(typeText) ? parseUnsigned(typeText) : undefined;
  const code = codeText === undefined ? undefined : looksNumeric(codeText) ? parseUnsigned(codeText) : undefined;
  if (type === undefined || (codeText !== undefined && code === undefined)) return undefined;
  return { type, codes: code === undefined ? [0, 255] : [code, code] };
}

/** ICMP and ICMPv6 names by type (type << 8 | 255 for a whole type) and by type and code (type << 8 | code). */
const ICMP_NAME_KEYS: { readonly [F in Family]: ReadonlyMap<number, string> } = { ipv4: icmpNameKeys(ICMP_TYPES), ipv6: icmpNameKeys(ICMPV6_TYPES) };

function icmpNameKeys(table: ReadonlyMap<string, readonly [number, number]>): Map<number, string> {
  const out = new Map<number, string>();
  // The first name of a type or code wins (`echo-request` rather than its alias `ping`).
  for (const [name, [type, code]] of table) {
    const key = (type << 8) | (code < 0 ? 255 : code);
    if (type !== 255 && !out.has(key)) out.set(key, name);
  }
  return out;
}

/**
 * An ICMP (or ICMPv6) type with codes lo … hi in words, numbers with names where they have one:
 * `echo-request (8)` for a whole type, `port-unreachable (3/3)` for a named code, `echo-request
 * (8) code 1` for another code of a named type, `200/3-5` where no name fits.
 */
export function icmpText(type: number, lo: number, hi: number, family: Family): string {
  const names = ICMP_NAME_KEYS[family];
  const named = (key: number, num: string): string => {
    const n = names.get(key);
    return n ? `${n} (${num})` : num;
  };
  const whole = (type << 8) | 255;
  if (lo === 0 && hi === 255) return named(whole, `${type}`);
  if (lo === hi) return names.has((type << 8) | lo) || !names.has(whole) ? named((type << 8) | lo, `${type}/${lo}`) : `${named(whole, `${type}`)} code ${lo}`;
  return `${type}/${lo}-${hi}`;
}

/**
 * The type names that begin with `s` (any case): iptables takes a name by any beginning that
 * only one name has (measured: `dest`, `port-unr` and `an` are accepted; `echo`, `time` and `ttl`
 * are refused as ambiguous).
 */
export function icmpNamesStarting(s: string, table: ReadonlyMap<string, readonly [number, number]>): string[] {
  const lower = s.toLowerCase();
  const out: string[] = [];
  for (const k of table.keys()) if (k.toLowerCase().startsWith(lower)) out.push(k);
  return out;
}

function checkIcmpType(s: string, table: ReadonlyMap<string, readonly [number, number]>, label: string): ValueProblem | undefined {
  const names = icmpNamesStarting(s, table);
  if (names.length > 1) return err('invalid-value', `ambiguous ${label} type '${s}': it begins ${names.length === 2 ? `both ${names[0]} and ${names[1]}` : `each of ${names.join(', ')}`} (Ambiguous ${label} type): write the whole name`);
  const r = readIcmpType(s, table, names);
  if (!r) return err('invalid-value', `invalid ${label} type '${s}': expected TYPE[/CODE] as numbers, or a name such as ${[...table.keys()].slice(0, 4).join(', ')}`);
  if (r.type > 255) return err('invalid-value', `${label} type ${s.split('/')[0]} is out of range: types are 0 to 255`);
  if (r.codes[0] > 255) return err('invalid-value', `${label} code ${s.split('/')[1]} is out of range: codes are 0 to 255`);
  return undefined;
}

/**
 * The seconds of a rate unit as the limit and hashlimit matches read it: any non-empty beginning
 * of second, minute, hour or day, in any case (`s`, `min`, `h`, `d`). Undefined otherwise.
 */
export function rateUnitSeconds(unit: string): number | undefined {
  const u = unit.toLowerCase();
  if (u === '') return undefined;
  return 'second'.startsWith(u) ? 1 : 'minute'.startsWith(u) ? 60 : 'hour'.startsWith(u) ? 3600 : 'day'.startsWith(u) ? 86400 : undefined;
}

/**
 * A rate `N[/unit]` as the limit match parses it: the unit is a prefix of second, minute, hour
 * or day; N must be positive and at most 10000 per unit-second scale.
 */
function checkRate(s: string): ValueProblem | undefined {
  // iptables reads the number with atoi (after blanks and a `+`), so `1.5/sec` is 1/sec; the unit
  // is a prefix of a unit name.
  const m = /^([0-9]+)[^/]*(?:\/(.*))?$/.exec(strtoulBody(s));
  if (!m) return err('invalid-value', `bad rate '${s}': expected N/second, N/minute, N/hour or N/day`);
  let mult = 1;
  if (m[2] !== undefined) {
    const secs = rateUnitSeconds(m[2]);
    if (secs === undefined) return err('invalid-value', `bad rate '${s}': the unit must be second, minute, hour or day (or a prefix: s, min, h, d)`);
    mult = secs;
  }
  const r = Number(m[1]);
  if (r === 0) return err('invalid-value', `bad rate '${s}': the rate must be at least 1`);
  if ((10000 * mult) / r < 1) return err('invalid-value', `rate '${s}' is too fast: at most 10000/second`);
  return undefined;
}

/**
 * A hashlimit rate as libxt_hashlimit reads it (revision 3): a byte rate when the text holds `b/s`
 * after a leading number (`512kb/s`; `k` and `m` multiply by 1024 and 1024², any other letter by
 * 1), else a packet rate N/unit with the unit any beginning of second, minute, hour or day, kept
 * as the average time between packets in microseconds (`avg`). Both read the number as atoll
 * does: `1.5/sec` is 1/sec.
 */
export type HashlimitRate =
  | { readonly kind: 'bytes'; readonly bytesPerSecond: bigint }
  | { readonly kind: 'packets'; readonly avg: bigint }
  | { readonly kind: 'bad'; readonly message: string };

export function readHashlimitRate(s: string): HashlimitRate {
  const lead = /^[0-9]+/.exec(strtoulBody(s));
  const r = lead ? BigInt(lead[0]) : 0n;
  const at = s.indexOf('b/s');
  if (at > 0 && r > 0n) {
    const factor = s[at - 1] === 'm' ? 1048576n : s[at - 1] === 'k' ? 1024n : 1n;
    const bytesPerSecond = r * factor;
    // bytes_to_cost: iptables refuses a rate whose cost per 16-byte chunk is 0, the kernel one
    // whose cost is 1 (its credits for it round to 0): 32 GiB/s and above.
    if (0xffffffffn / ((bytesPerSecond >> 4n) + 1n) < 2n) return { kind: 'bad', message: `rate '${s}' is too high: at most 32767mb/s` };
    return { kind: 'bytes', bytesPerSecond };
  }
  const slash = s.indexOf('/');
  let mult = 1n;
  if (slash >= 0) {
    const secs = rateUnitSeconds(s.slice(slash + 1));
    if (secs === undefined) return { kind: 'bad', message: `bad rate '${s}': the unit must be second, minute, hour or day (or a beginning of one: s, min, h, d), or a byte rate such as 512kb/s` };
    mult = BigInt(secs);
  }
  if (r === 0n) return { kind: 'bad', message: lead ? `bad rate '${s}': the rate must be at least 1` : `bad rate '${s}': expected N/second, N/minute, N/hour, N/day or a byte rate such as 512kb/s` };
  const avg = (1000000n * mult) / r;
  if (avg === 0n) return { kind: 'bad', message: `rate '${s}' is too fast: at most 1000000/second` };
  return { kind: 'packets', avg };
}

function checkHashlimitRate(s: string): ValueProblem | undefined {
  const rate = readHashlimitRate(s);
  return rate.kind === 'bad' ? err('invalid-value', rate.message) : undefined;
}

/**
 * A hashlimit burst as libxt_hashlimit reads it: a number (strtoumax, base 0) that may be followed
 * by anything, `k` and `m` multiplying it by 1024 and 1024² (burst sizes in bytes); a plain number
 * is at most 1,000,000. Undefined when the text does not start with a number of at least 1.
 */
export function readHashlimitBurst(s: string): { readonly value: bigint; readonly plain: boolean } | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)$/.exec(strtoulBody(s));
  if (!m) return undefined;
  const n = m[1].length > 1 && m[1][0] === '0' && !/^0[xX]/.test(m[1]) ? BigInt(`0o${m[1].slice(1)}`) : BigInt(m[1]);
  if (n < 1n) return undefined;
  const factor = m[2][0] === 'm' ? 1048576n : m[2][0] === 'k' ? 1024n : 1n;
  return { value: n * factor, plain: m[2] === '' };
}

function checkHashlimitBurst(s: string): ValueProblem | undefined {
  const b = readHashlimitBurst(s);
  if (!b || b.value > U64_MAX) return err('invalid-value', `bad burst '${s}': expected a number from 1 to 1000000 (or a byte size such as 64kb with a byte rate)`);
  if (b.plain && b.value > 1000000n) return err('invalid-value', `burst ${s} is out of range: 1 to 1000000`);
  return undefined;
}

function checkProtocol(s: string, ctx: ValueContext): ValueProblem | undefined {
  const lower = s.toLowerCase();
  if (lower === 'all') return undefined;
  if (looksNumeric(lower)) {
    const n = parseUnsigned(lower);
    if (n === undefined) return err('invalid-protocol', `invalid protocol number '${s}'`);
    return n <= 255 ? undefined : err('invalid-protocol', `protocol number ${s} is out of range: 0 to 255`);
  }
  if (lower === 'icmpv6' || lower === 'mh' || lower === 'ipv6-mh') return undefined;
  if (PROTOCOL_NUMBERS.has(lower)) return undefined;
  void ctx;
  return err('invalid-protocol', `unknown protocol '${s}': expected a name such as tcp, udp, icmp${ctx.family === 'ipv6' ? ', ipv6-icmp' : ''}, esp, or a number 0-255`);
}

/** Non-ASCII characters: only they make a string's UTF-8 length differ from its length. */
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The UTF-8 length of `s`. Most values are ASCII, where it is the string's length; asking Buffer
 * for it (which flattens and encodes the string) cost a few per cent of checking a commented dump.
 */
function utf8Length(s: string): number {
  return NON_ASCII.test(s) ? Buffer.byteLength(s) : s.length;
}

function checkString(s: string, _ctx: ValueContext, p: KindParams): ValueProblem | undefined {
  if (p.minLength !== undefined && s.length < p.minLength) return err('invalid-value', p.minLength === 1 ? 'the value must not be empty' : `'${s}' is too short: at least ${p.minLength} characters`);
  // Measuring UTF-8 bytes is only needed when the string could exceed the limit (≤ 3 bytes per UTF-16 unit).
  if (p.truncatesAt !== undefined && s.length * 3 > p.truncatesAt && utf8Length(s) > p.truncatesAt) {
    return warn('truncated-value', `'${s.length > 40 ? s.slice(0, 40) + '…' : s}' is ${utf8Length(s)} bytes long: iptables silently cuts it to ${p.truncatesAt}`);
  }
  if (p.maxLength !== undefined && s.length * 3 > p.maxLength && utf8Length(s) > p.maxLength) return err('invalid-value', `'${s.length > 40 ? s.slice(0, 40) + '…' : s}' is too long: at most ${p.maxLength} characters`);
  return undefined;
}

/**
 * strtoul(s, &end, 10) at the start of a text: its value and what follows (the whole text when no
 * digit follows the blanks and sign, as strtoul leaves `end` there); `-` negates modulo 2^64.
 */
function strtoulPrefix10(s: string): { readonly value: number; readonly rest: string } {
  const t = skipBlanks(s);
  const m = /^([+-]?)([0-9]+)/.exec(t);
  if (!m) return { value: 0, rest: s };
  const n = Number(m[2]);
  return { value: m[1] === '-' && n !== 0 ? Number.MAX_SAFE_INTEGER : n, rest: t.slice(m[0].length) };
}

/**
 * A time of day as libxt_time reads it: hours, minutes and optional seconds, each read by strtoul
 * (base 10) up to the next `:` (measured: `+10:+00`, `010:00`, `10:00:`, `:30` and `10:` are
 * accepted, an empty part being 0; `10:00 ` and `100:00` are refused).
 */
function checkTimeOfDay(s: string): ValueProblem | undefined {
  const bad = err('invalid-value', `invalid time of day '${s}': expected hh:mm[:ss] from 00:00 to 23:59:59`);
  const h = strtoulPrefix10(s);
  if (!h.rest.startsWith(':') || h.value > 23) return bad;
  const m = strtoulPrefix10(h.rest.slice(1));
  if ((m.rest !== '' && !m.rest.startsWith(':')) || m.value > 59) return bad;
  if (m.rest === '') return undefined;
  const sec = strtoulPrefix10(m.rest.slice(1));
  return sec.rest !== '' || sec.value > 59 ? bad : undefined;
}

function checkDateTime(s: string): ValueProblem | undefined {
  const m = /^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2})(?::([0-9]{2})(?::([0-9]{2}))?)?)?)?)?$/.exec(s);
  // libxt_time takes the years 1970 to 2038 (measured: 2038-12-31 is accepted, 2039-01-01 refused).
  if (m && Number(m[1]) >= 1970 && Number(m[1]) <= 2038 && (m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 12)) && (m[3] === undefined || (Number(m[3]) >= 1 && Number(m[3]) <= 31)) && (m[4] === undefined || Number(m[4]) <= 23) && (m[5] === undefined || Number(m[5]) <= 59) && (m[6] === undefined || Number(m[6]) <= 59)) return undefined;
  return err('invalid-value', `invalid date '${s}': expected YYYY[-MM[-DD[Thh[:mm[:ss]]]]]`);
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
function checkWeekdays(s: string): ValueProblem | undefined {
  const parts = s.split(',');
  for (let i = 0; i < parts.length; i++) {
    const d = parts[i];
    // A trailing comma ends the list (measured: `Mon,` is accepted, `,Mon` is not).
    if (d === '' && i === parts.length - 1 && i > 0) continue;
    // iptables accepts any decimal number but 0 here (8 yields an empty set).
    if (/^[0-9]+$/.test(d)) {
      if (Number(d) === 0) return err('invalid-value', `weekday 0 in '${s}': days are 1 (Mon) to 7 (Sun) (No, the week does NOT begin with Sunday.)`);
      continue;
    }
    // Names are compared by their first two letters, case-sensitively: `Mo`, `Mon`, `Monday` and
    // even `Mox` are Monday, `mo` and `M` are refused.
    if (d.length >= 2 && WEEKDAYS.some((w) => w.startsWith(d.slice(0, 2)))) continue;
    return err('invalid-value', `invalid weekday '${d}' in '${s}': expected Mon,Tue,Wed,Thu,Fri,Sat,Sun (the first two letters count, in this case) or 1-7`);
  }
  return undefined;
}

function checkMonthdays(s: string): ValueProblem | undefined {
  for (const day of s.split(',')) {
    // Decimal, or octal with a leading 0 (measured: `037` is 31; hex is refused), after blanks and
    // a `+` (`+5`); 0 is accepted although no day has that number.
    const d = strtoulBody(day);
    const n = /^0[0-7]+$/.test(d) ? parseInt(d.slice(1), 8) : /^[0-9]+$/.test(d) ? Number(d) : NaN;
    if (!(n >= 0 && n <= 31)) return err('invalid-value', `invalid day of month '${day}' in '${s}': expected 1 to 31`);
  }
  return undefined;
}

/** `--hex-string`: text with |hex bytes| segments; inside bars only hex digit pairs and blanks. */
function checkHex(s: string): ValueProblem | undefined {
  const parts = s.split('|');
  if (parts.length % 2 === 0) return err('invalid-value', `invalid hex string '${s}': a '|' is not closed`);
  for (let i = 1; i < parts.length; i += 2) {
    const hex = parts[i].replace(/ /g, '');
    const bad = /[^0-9a-fA-F]/.exec(hex);
    if (bad) return err('invalid-value', `invalid hex char '${bad[0]}' in '${s}'`);
    if (hex.length % 2 !== 0) return err('invalid-value', `odd number of hex digits in '|${parts[i]}|'`);
  }
  return undefined;
}

/**
 * `addr[-addr]` for iprange, whose IPv4 addresses are iptables' numeric form (parts read with base
 * 0, missing ones zero: measured, `010.0.0.1` is 8.0.0.1, `10.1` is 10.1.0.0); with `strict`, as
 * NAT ranges take them, through inet_pton (four decimal parts, no leading zeros).
 */
function checkAddrRange(s: string, ctx: ValueContext, strict = false): ValueProblem | undefined {
  const parts = s.split('-');
  if (parts.length > 2) return err('invalid-address', `invalid address range '${s}': expected FIRST-LAST`);
  for (const x of parts) {
    const ok = ctx.family === 'ipv6' ? parseIPv6(x) !== undefined : (strict ? parseIPv4(x) : parseShortQuad(x)) !== undefined;
    if (!ok) return err('invalid-address', `invalid address '${x}' in range '${s}': expected ${ctx.family === 'ipv6' ? 'IPv6 addresses' : 'dotted-quad IPv4 addresses'}`);
  }
  return undefined;
}

/**
 * A NAT range as DNAT/SNAT/NETMAP take it: `[addr[-addr]][:port[-port]]`; IPv6 addresses with a
 * port go in brackets.
 */
function checkNatRange(s: string, ctx: ValueContext): ValueProblem | undefined {
  let addr = s;
  let ports: string | undefined;
  if (ctx.family === 'ipv6') {
    const m = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
    if (m) { addr = m[1]; ports = m[2]; }
  } else {
    const c = s.indexOf(':');
    if (c >= 0) { addr = s.slice(0, c); ports = s.slice(c + 1); }
  }
  if (addr !== '') {
    const e = checkAddrRange(addr, ctx, true);
    if (e) return e;
  }
  if (ports !== undefined) {
    // iptables only asks that some -p is given (even a negated or port-less one).
    if (!ctx.protocol) return err('protocol-required', `a port in '${s}' needs '-p tcp', '-p udp', '-p sctp' or '-p dccp' (Need TCP, UDP, SCTP or DCCP with port specification)`);
    const e = checkPortSpec(ports, true);
    if (e) return e;
  }
  if (addr === '' && ports === undefined) return err('invalid-value', `empty NAT range '${s}'`);
  return undefined;
}

/**
 * `port[-port]` as --to-ports and NAT ranges take (numbers only). DNAT and SNAT ranges may add a
 * base port, `port-port/base` (a shifted port map: base maps to the first port), with a base
 * from 1 to 65535; REDIRECT and MASQUERADE refuse it ("Shifted portmap ranges not supported").
 */
function checkPortSpec(s: string, allowBase = false): ValueProblem | undefined {
  const slash = s.indexOf('/');
  if (slash >= 0) {
    if (!allowBase) return err('invalid-port', `invalid port range '${s}': a base port (/${s.slice(slash + 1)}) is only for DNAT and SNAT (Shifted portmap ranges not supported)`);
    const base = s.slice(slash + 1);
    const range = s.slice(0, slash);
    const n = /^[0-9]+$/.test(base) ? Number(base) : NaN;
    if (!(n >= 1 && n <= 65535)) return err('invalid-port', `invalid base port '${base}' in '${s}': expected 1 to 65535`);
    if (!range.includes('-')) return err('invalid-port', `invalid port map '${s}': a base port needs a range, as in 80-90/${base}`);
    return checkPortSpec(range);
  }
  if (/^[0-9]+:[0-9]+$/.test(s)) return err('invalid-port', `invalid port range '${s}': NAT port ranges use a dash, as in ${s.replace(':', '-')}`);
  const m = /^([^-]+)(?:-([^-]+))?$/.exec(s);
  const lo = m ? parsePort(m[1]) : undefined;
  const hi = m?.[2] !== undefined ? parsePort(m[2]) : lo;
  if (!m || lo === undefined || hi === undefined) {
    return err('invalid-port', `invalid port or port range '${s}': expected PORT[-PORT] with ports 0-65535 (Port not valid)`);
  }
  if (lo > hi) return err('invalid-port', `invalid port range '${s}': the first port is greater than the last (Port range funky)`);
  return undefined;
}

function checkToPorts(s: string, ctx: ValueContext): ValueProblem | undefined {
  if (!ctx.protocol) {
    return err('protocol-required', `--to-ports needs '-p tcp', '-p udp', '-p sctp' or '-p dccp'`);
  }
  return checkPortSpec(s);
}

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug', 'panic'];
function checkLogLevel(s: string): ValueProblem | undefined {
  // libxt_LOG reads a number first (xtables_strtoui with base 0, up to 7), then a name.
  const n = looksNumeric(s) ? parseUnsigned(s) : undefined;
  if ((n !== undefined && n <= 7) || LOG_LEVELS.includes(s)) return undefined;
  return err('invalid-value', `invalid log level '${s}': expected 0-7 or one of emerg, alert, crit, error, warning, notice, info, debug`);
}

const REJECT_V4 = ['icmp-net-unreachable', 'net-unreach', 'icmp-host-unreachable', 'host-unreach', 'icmp-proto-unreachable', 'proto-unreach', 'icmp-port-unreachable', 'port-unreach', 'icmp-net-prohibited', 'net-prohib', 'icmp-host-prohibited', 'host-prohib', 'tcp-reset', 'tcp-rst', 'icmp-admin-prohibited', 'admin-prohib'];
const REJECT_V6 = ['icmp6-no-route', 'no-route', 'icmp6-adm-prohibited', 'adm-prohibited', 'icmp6-addr-unreachable', 'addr-unreach', 'icmp6-port-unreachable', 'port-unreach', 'tcp-reset', 'tcp-reset', 'icmp6-policy-fail', 'policy-fail', 'icmp6-reject-route', 'reject-route'];
/**
 * Resolves a --reject-with value as libipt_REJECT does: the first table entry (name or alias)
 * that the value is a case-insensitive prefix of.
 */
export function resolveRejectWith(s: string, family: Family): string | undefined {
  const list = family === 'ipv6' ? REJECT_V6 : REJECT_V4;
  const lower = s.toLowerCase();
  const hit = list.findIndex((x) => x.startsWith(lower));
  return hit < 0 ? undefined : list[hit - (hit % 2)];
}

function checkRejectWith(s: string, ctx: ValueContext): ValueProblem | undefined {
  const list = ctx.family === 'ipv6' ? REJECT_V6 : REJECT_V4;
  if (resolveRejectWith(s, ctx.family) === undefined) {
    // libipt_REJECT still knows the old echo-reply reply (any beginning of it), only to refuse it.
    const lower = s.toLowerCase();
    if (ctx.family !== 'ipv6' && ('echo-reply'.startsWith(lower) || 'echoreply'.startsWith(lower))) {
      return err('invalid-value', `echo-reply is no longer supported by iptables: use one of ${list.filter((_, i) => i % 2 === 0).join(', ')}`);
    }
    const other = ctx.family === 'ipv6' ? REJECT_V4 : REJECT_V6;
    const hint = other.includes(s) ? ` ('${s}' is for ${ctx.family === 'ipv6' ? 'IPv4' : 'IPv6'})` : '';
    return err('invalid-value', `invalid --reject-with '${s}'${hint}: expected one of ${list.filter((_, i) => i % 2 === 0 || list[i] === 'tcp-reset').join(', ')}`);
  }
  return undefined;
}

/** `name` and `src,dst…` for --match-set (and the SET target's --add-set/--del-set). */
function checkSetFlags(s: string): ValueProblem | undefined {
  const parts = s.split(',');
  if (parts.length > 6) return err('invalid-value', `too many set flags in '${s}': at most 6`);
  for (const x of parts) if (x !== 'src' && x !== 'dst') return err('invalid-value', `invalid set flag '${x}' in '${s}': expected a comma-separated list of src and dst`);
  return undefined;
}

function checkSetName(s: string): ValueProblem | undefined {
  if (s.length === 0 || s.length > 31) return err('invalid-value', `invalid set name '${s}': 1 to 31 characters`);
  return undefined;
}

const DSCP_CLASSES = ['CS0', 'CS1', 'CS2', 'CS3', 'CS4', 'CS5', 'CS6', 'CS7', 'BE', 'AF11', 'AF12', 'AF13', 'AF21', 'AF22', 'AF23', 'AF31', 'AF32', 'AF33', 'AF41', 'AF42', 'AF43', 'EF'];
function checkDscpClass(s: string): ValueProblem | undefined {
  return DSCP_CLASSES.includes(s.toUpperCase()) ? undefined : err('invalid-value', `invalid DSCP class '${s}': expected one of ${DSCP_CLASSES.join(', ')}`);
}

const TOS_NAMES = ['Minimize-Delay', 'Maximize-Throughput', 'Maximize-Reliability', 'Minimize-Cost', 'Normal-Service'];
function checkTos(s: string): ValueProblem | undefined {
  if (TOS_NAMES.some((n) => n.toLowerCase() === s.toLowerCase())) return undefined;
  return checkMark(s, { family: 'ipv4' }, { max: 255 });
}

/** A user or group: a number or a name (names are looked up when the rules are loaded). */
/** The largest user or group id the owner match takes (4294967295 is the kernel's "no id"). */
const MAX_OWNER_ID = 0xfffffffe;

function checkOwner(s: string): ValueProblem | undefined {
  const parts = s.split('-');
  if (parts.length <= 2 && parts.every((x) => /^(0x[0-9a-f]+|[0-9]+)$/i.test(strtoulBody(x)))) {
    const ids = parts.map((x) => parseUnsigned(x));
    const bad = ids.findIndex((n) => n === undefined || n > MAX_OWNER_ID);
    if (bad >= 0) return err('invalid-value', `user/group id ${parts[bad]} is out of range: ids are 0 to ${MAX_OWNER_ID}`);
    if (ids.length === 2 && ids[0]! > ids[1]!) return err('invalid-value', `the range ${s} is reversed: write ${parts[1]}-${parts[0]} (the kernel refuses it)`);
    return undefined;
  }
  // A name is looked up on the host that restores the file, which the checker cannot see.
  if (/^[a-z_][a-z0-9_.-]*\$?$/i.test(s)) return hostDefinedName(s, 'user or group', '/etc/passwd or /etc/group (or the host\'s user database)');
  return err('invalid-value', `invalid user/group '${s}': expected a number, a range N-M or a name`);
}

/**
 * The extension headers `-m ipv6header --header` names (case-sensitive), and the protocol numbers
 * it takes instead: only those of these headers (measured: `17` is refused).
 */
const IPV6_HEADER_NAMES = ['hop-by-hop', 'hop', 'ipv6-opts', 'dst', 'ipv6-route', 'route', 'ipv6-frag', 'frag', 'ah', 'auth', 'esp', 'ipv6-nonxt', 'none', 'protocol', 'prot'];
const IPV6_HEADER_NUMBERS = ['0', '60', '43', '44', '51', '50', '59', '255'];

function checkIpv6Headers(s: string): ValueProblem | undefined {
  // An empty item (a trailing comma) is skipped by ip6tables' parser.
  for (const h of s.split(',')) {
    if (h !== '' && !IPV6_HEADER_NAMES.includes(h) && !IPV6_HEADER_NUMBERS.includes(h)) {
      return err('invalid-value', `unknown IPv6 extension header '${h}': expected ${IPV6_HEADER_NAMES.join(', ')} (lower case) or one of their protocol numbers ${IPV6_HEADER_NUMBERS.join(', ')}`);
    }
  }
  return undefined;
}

/**
 * NFQUEUE's --queue-balance: FIRST:LAST with FIRST below LAST (libxt_NFQUEUE refuses a single
 * number and an empty range), at most 65,535 queues (the kernel refuses 0:65535, whose count does
 * not fit its 16-bit total).
 */
function checkQueueRange(s: string, ctx: ValueContext): ValueProblem | undefined {
  const parts = s.split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return err('invalid-value', `invalid queue range '${s}': expected FIRST:LAST, such as 0:3`);
  for (const x of parts) {
    const e = checkUint(x, ctx, { max: 65535 });
    if (e) return e;
  }
  const first = parseUnsigned(parts[0])!;
  const last = parseUnsigned(parts[1])!;
  if (first >= last) return err('invalid-value', `invalid queue range '${s}': ${first} should be less than ${last}`);
  if (last - first + 1 > 65535) return err('invalid-value', `invalid queue range '${s}': at most 65535 queues (the kernel refuses 0:65535)`);
  return undefined;
}

/**
 * DNPT/SNPT's --src-pfx and --dst-pfx: an IPv6 network of at most /64 with no bits set after the
 * prefix (ip6t_NPT refuses longer prefixes and host bits; without /LEN the length is 128).
 */
function checkNptPrefix(s: string, ctx: ValueContext): ValueProblem | undefined {
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const groups = parseIPv6(addr);
  if (!groups) return err('invalid-address', `invalid IPv6 prefix '${s}': expected ADDRESS/LENGTH, such as 2001:db8:1::/48`);
  void ctx;
  const lenText = slash >= 0 ? s.slice(slash + 1) : '128';
  if (!/^[0-9]+$/.test(lenText) || Number(lenText) > 128) return err('invalid-address', `invalid prefix length in '${s}': expected 0 to 64`);
  const len = Number(lenText);
  if (len > 64) return err('invalid-value', `prefix '${s}' is longer than /64: NPTv6 translates prefixes of at most 64 bits${slash < 0 ? ' (without /LENGTH the length is 128)' : ''}; the kernel refuses the rule`);
  for (let bit = len; bit < 128; bit++) {
    if ((groups[bit >> 4] >> (15 - (bit & 15))) & 1) return err('invalid-value', `prefix '${s}' has bits set after its first ${len}: write the network itself; the kernel refuses the rule`);
  }
  return undefined;
}

/**
 * The hbh and dst matches' option lists: at most 16 comma-separated TYPE[:LENGTH], each a number
 * (strtoul base 0; larger than 255 is accepted and cut to 8 bits).
 */
function checkIp6Opts(s: string): ValueProblem | undefined {
  const items = s.split(',');
  if (items.length > 16) return err('invalid-value', `${items.length} options in '${s}': at most 16 (too many addresses specified)`);
  for (const item of items) {
    const [type, len, extra] = item.split(':');
    const number = (x: string | undefined): boolean => x !== undefined && looksNumeric(x) && parseUnsigned(x) !== undefined;
    if (!number(type)) return err('invalid-value', `invalid option '${item}' in '${s}': expected TYPE or TYPE:LENGTH as numbers (no valid digits in opt '${type ?? ''}')`);
    if (len !== undefined && (!number(len) || extra !== undefined)) return err('invalid-value', `invalid option length in '${item}': expected TYPE:LENGTH as numbers`);
  }
  return undefined;
}

function checkCtZone(s: string): ValueProblem | undefined {
  if (/^(orig|reply)$/.test(s) || /^(mark)$/.test(s)) return undefined;
  return checkUint(s, { family: 'ipv4' }, { max: 65535 });
}

/** The validators by kind name; the data table names the kind of each option's value. */
export const VALIDATORS: Readonly<Record<string, Validator>> = {
  address: (s, c) => checkAddress(s, c),
  'xt-address': (s, c) => checkAddress(s, c, 'address', true),
  'address-list': (s, c) => {
    for (const a of s.split(',')) {
      // ip6tables skips blanks before each address of -s/-d (measured: `-s "  ::1,  ::2"`);
      // iptables reads each byte with strtoul, which skips them too (checkAddress's own path).
      const bare = c.family === 'ipv6' ? skipBlanks(a) : a;
      const e = checkAddress(bare, c, 'address', false, true);
      if (e) return e;
      if (bare !== a) return warn('noncanonical-address', `'${a}' is read as ${bare}: iptables skips the blanks before an address`);
    }
    return undefined;
  },
  'addr-range': (s, ctx) => checkAddrRange(s, ctx),
  port: checkPort,
  'port-range': checkPortRange,
  'port-range-xt': checkPortRangeXt,
  'port-list': checkPortList,
  'port-spec': (s) => checkPortSpec(s),
  'to-ports': checkToPorts,
  interface: checkInterface,
  mac: checkMac,
  mark: checkMark,
  uint: checkUint,
  'uint-range': checkUintRange,
  choice: checkChoice,
  'choice-list': checkChoiceList,
  'tcp-flag-list': checkTcpFlagList,
  'icmp-type': (s) => checkIcmpType(s, ICMP_TYPES, 'ICMP'),
  'icmpv6-type': (s) => checkIcmpType(s, ICMPV6_TYPES, 'ICMPv6'),
  rate: checkRate,
  'hashlimit-rate': checkHashlimitRate,
  'hashlimit-burst': checkHashlimitBurst,
  protocol: checkProtocol,
  string: checkString,
  'time-of-day': checkTimeOfDay,
  datetime: checkDateTime,
  weekdays: checkWeekdays,
  monthdays: checkMonthdays,
  hex: checkHex,
  'nat-range': checkNatRange,
  'log-level': checkLogLevel,
  'reject-with': checkRejectWith,
  'set-name': checkSetName,
  'set-flags': checkSetFlags,
  'dscp-class': checkDscpClass,
  tos: checkTos,
  owner: checkOwner,
  'ct-zone': checkCtZone,
  'queue-range': checkQueueRange,
  'ip6-opts': checkIp6Opts,
  'npt-prefix': checkNptPrefix,
  probability: checkProbability,
  'bpf-bytecode': checkBpfBytecode,
  'mh-type': checkMhType,
  'netmap-address': checkNetmapAddress,
  connlabel: checkConnlabel,
  'sctp-chunks': checkSctpChunks,
  'tcp-option-list': checkTcpOptionList,
  u32: checkU32,
  'ipv6-headers': checkIpv6Headers,
  'prefix-len': (s, c) => checkUint(s, c, { max: c.family === 'ipv6' ? 128 : 32 }),
  chain: (s) => (s.length === 0 ? err('invalid-value', 'empty chain name') : undefined),
  any: () => undefined,
};

/** Resolves a protocol name to its number (names as `-p` accepts them, including `all`). */
export function protocolNumberOf(name: string): number | undefined {
  // Numbers as strtoul reads them with base 0 (measured: `-p 010` is 8, egp; `-p 0x11` is udp).
  if (looksNumeric(name)) return parseUnsigned(name);
  const lower = name.toLowerCase();
  if (lower === 'all') return 0;
  if (lower === 'icmpv6') return 58;
  if (lower === 'mh' || lower === 'ipv6-mh') return 135;
  return PROTOCOL_NUMBERS.get(lower);
}
