/**
 * Address arithmetic for the policy language: IPv4 and IPv6 addresses and prefixes as bigints,
 * containment, canonical (RFC 5952) IPv6 text, MAC addresses and the EUI-64 link-local address
 * Neutron derives from a port's MAC.
 */

/** An address family by its IP version. */
export type IpVersion = 4 | 6;

/** A parsed address or prefix: `value` is the address, `length` the prefix length. */
export interface Prefix {
  readonly version: IpVersion;
  readonly value: bigint;
  readonly length: number;
  /** Whether the text carried an explicit `/LEN`. */
  readonly explicitLength: boolean;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted-quad IPv4 address; undefined when it is not one. */
export function parseIpv4(text: string): bigint | undefined {
  const m = IPV4_RE.exec(text);
  if (!m) return undefined;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** Parses an IPv6 address (with `::` compression and an optional dotted-quad tail). */
export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(':')) return undefined;
  let groups: string[];
  const dbl = text.split('::');
  if (dbl.length > 2) return undefined;
  const side = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const expand = (parts: string[]): string[] | undefined => {
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (p.includes('.')) {
        if (i !== parts.length - 1) return undefined;
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
      } else out.push(p);
    }
    return out;
  };
  if (dbl.length === 2) {
    const head = expand(side(dbl[0] as string));
    const tail = expand(side(dbl[1] as string));
    if (!head || !tail) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  } else {
    const all = expand(side(text));
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parses `ADDRESS` or `ADDRESS/LEN` of either family; undefined when invalid. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  let version: IpVersion;
  let value = parseIpv4(addr);
  if (value !== undefined) version = 4;
  else {
    value = parseIpv6(addr);
    if (value === undefined) return undefined;
    version = 6;
  }
  const max = version === 4 ? 32 : 128;
  let length = max;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > max) return undefined;
  }
  return { version, value, length, explicitLength: lenText !== undefined };
}

/** The network address of a prefix (host bits cleared). */
export function networkOf(p: Prefix): bigint {
  const bits = BigInt(p.version === 4 ? 32 : 128);
  const hostBits = bits - BigInt(p.length);
  return (p.value >> hostBits) << hostBits;
}

/** Whether `inner` (an address or prefix) lies within the prefix `outer`. */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.version !== inner.version || inner.length < outer.length) return false;
  const bits = BigInt(outer.version === 4 ? 32 : 128);
  const shift = bits - BigInt(outer.length);
  return outer.value >> shift === inner.value >> shift;
}

/** Formats an address value as text: dotted quad, or RFC 5952 canonical IPv6. */
export function formatAddress(version: IpVersion, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Formats a prefix as `ADDRESS/LEN` (the address as written, not the network). */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.version, p.value)}/${p.length}`;
}

/** Whether a prefix is a catch-all (`/0`). */
export function isAnyPrefix(p: Prefix): boolean {
  return p.length === 0;
}

const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

/** Whether the text is a colon-separated 48-bit MAC address. */
export function isMac(text: string): boolean {
  return MAC_RE.test(text);
}

/** The IPv6 link-local address Neutron derives from a MAC by EUI-64 (`fe80::…`). */
export function eui64LinkLocal(mac: string): string {
  const bytes = mac.split(':').map((b) => parseInt(b, 16));
  const eui = [(bytes[0] as number) ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]] as number[];
  let value = 0xfe80n << 112n;
  for (let i = 0; i < 8; i++) value |= BigInt(eui[i] as number) << BigInt((7 - i) * 8);
  return formatAddress(6, value);
}

const UUID_RE = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$/;

/** Whether the text is a UUID: 8-4-4-4-12 hexadecimal digits, or 32 without dashes (as oslo's is_uuid_like accepts). */
export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}
