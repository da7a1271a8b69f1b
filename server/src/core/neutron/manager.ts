/**
 * A model of Neutron's IptablesManager (neutron/agent/linux/iptables_manager.py) for one address
 * family: wrapped chains named `<bin>-<name[:11]>`, the builtin-chain wrapping, `top` rules,
 * standard comments, and the three output formats (Neutron's own restore input, iptables-save
 * listing, and the table blocks a shell script feeds to iptables-restore).
 */
import type { IpVersion } from '../policy/addresses.ts';

/** The tables the agents use, in Neutron's (sorted) output order. */
export const TABLE_ORDER = ['filter', 'mangle', 'nat', 'raw'] as const;
/** One of Neutron's tables. */
export type TableName = (typeof TABLE_ORDER)[number];

/** Builtin chains per table, in the order iptables-save lists them. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Neutron's standard rule comments (neutron/common/_constants / iptables_comments). */
export const COMMENTS = {
  SNAT_OUT: 'Perform source NAT on outgoing traffic.',
  UNMATCH_DROP: 'Default drop rule for unmatched traffic.',
  VM_INT_SG: 'Direct traffic from the VM interface to the security group chain.',
  SG_TO_VM_SG: 'Jump to the VM specific chain.',
  INPUT_TO_SG: 'Direct incoming traffic from VM to the security group chain.',
  PAIR_ALLOW: 'Allow traffic from defined IP/MAC pairs.',
  PAIR_DROP: 'Drop traffic without an IP/MAC allow rule.',
  DHCP_CLIENT: 'Allow DHCP client traffic.',
  DHCP_SPOOF: 'Prevent DHCP Spoofing by VM.',
  UNMATCHED: 'Send unmatched traffic to the fallback chain.',
  INVALID_DROP: 'Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack.',
  ALLOW_ASSOC: 'Direct packets associated with a known session to the RETURN chain.',
  PORT_SEC_ACCEPT: 'Accept all packets when port security is disabled.',
  TRUSTED_ACCEPT: 'Accept all packets when port is trusted.',
  IPV6_RA_DROP: 'Drop IPv6 Router Advts from VM Instance.',
  IPV6_ICMP_ALLOW: 'Allow IPv6 ICMP traffic.',
} as const;

/** Options of one rule. */
export interface RuleOptions {
  /** Neutron's standard comment, subject to the `comments` setting. */
  readonly comment?: string;
  /** A comment emitted even when comments are off (the conntrack-zone comments). */
  readonly forcedComment?: string;
  /** A "top" rule: placed before the chain's other rules. */
  readonly top?: boolean;
}

/** One rule of a table: its chain (full name) and its arguments (after the chain name). */
export interface ManagedRule {
  readonly chain: string;
  readonly args: string;
  readonly top: boolean;
}

/** One table's chains and rules. */
export class ManagedTable {
  /** User chains (full names). */
  readonly chains = new Set<string>();
  /** Rules in insertion order. */
  readonly rules: ManagedRule[] = [];

  constructor(readonly name: TableName) {}

  /** Rules grouped by chain in Neutron's order: sorted chains, `-sg-` chains last, top rules first. */
  ordered(): Map<string, string[]> {
    const byChain = new Map<string, ManagedRule[]>();
    for (const r of this.rules) {
      const list = byChain.get(r.chain) ?? [];
      list.push(r);
      byChain.set(r.chain, list);
    }
    const names = [...byChain.keys()].sort(byteOrder);
    const ordered = [...names.filter((n) => !n.includes('-sg-')), ...names.filter((n) => n.includes('-sg-'))];
    const out = new Map<string, string[]>();
    for (const n of ordered) {
      const rules = byChain.get(n) as ManagedRule[];
      out.set(n, [...rules.filter((r) => r.top), ...rules.filter((r) => !r.top)].map((r) => r.args));
    }
    return out;
  }
}

/** Byte-order comparison (upper case before lower case), as Python's sorted(). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Settings of a manager. */
export interface ManagerOptions {
  /** The agent's binary name (first 16 characters of the executable's basename). */
  readonly binaryName: string;
  readonly family: IpVersion;
  /** Whether standard comments are emitted. */
  readonly comments: boolean;
  /** Stateful managers (the l3 agent) also manage mangle; the security-group driver's does not. */
  readonly stateful: boolean;
  /** NAT managers (the l3 agent) wrap nat OUTPUT/POSTROUTING and add the snat chains (IPv4). */
  readonly nat: boolean;
}

/** One family's IptablesManager. */
export class IptablesManager {
  readonly tables = new Map<TableName, ManagedTable>();
  readonly bin: string;

  constructor(readonly options: ManagerOptions) {
    this.bin = options.binaryName;
    const v4 = options.family === 4;
    this.table('filter');
    if (options.stateful) this.table('mangle');
    this.table('nat');
    this.table('raw');
    const wrap = (table: TableName, chains: readonly string[]): void => {
      for (const c of chains) {
        this.addChain(table, c);
        this.addRule(table, c, `-j ${this.wrap(c)}`, {}, true);
      }
    };
    // The filter table: the shared neutron-filter-top chain is jumped to before the wrappers.
    this.addChain('filter', 'neutron-filter-top', false);
    this.addRule('filter', 'FORWARD', '-j neutron-filter-top', {}, true);
    this.addRule('filter', 'OUTPUT', '-j neutron-filter-top', {}, true);
    wrap('filter', ['INPUT', 'OUTPUT', 'FORWARD']);
    this.addChain('filter', 'local');
    this.addRule('filter', 'neutron-filter-top', `-j ${this.wrap('local')}`, {}, true);
    wrap('raw', ['PREROUTING', 'OUTPUT']);
    if (options.stateful) {
      wrap('mangle', ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
      if (v4) {
        this.addChain('mangle', 'mark');
        this.addRule('mangle', 'PREROUTING', `-j ${this.wrap('mark')}`);
      }
    }
    wrap('nat', ['PREROUTING']);
    if (options.nat && v4) {
      wrap('nat', ['OUTPUT', 'POSTROUTING']);
      this.addChain('nat', 'neutron-postrouting-bottom', false);
      this.addRule('nat', 'POSTROUTING', '-j neutron-postrouting-bottom', {}, true);
      this.addChain('nat', 'snat');
      this.addChain('nat', 'float-snat');
      this.addRule('nat', 'neutron-postrouting-bottom', `-j ${this.wrap('snat')}`, { comment: COMMENTS.SNAT_OUT }, true);
      this.addRule('nat', 'snat', `-j ${this.wrap('float-snat')}`);
    }
  }

  private table(name: TableName): ManagedTable {
    let t = this.tables.get(name);
    if (!t) {
      t = new ManagedTable(name);
      this.tables.set(name, t);
    }
    return t;
  }

  /** Whether the manager has a table. */
  hasTable(name: TableName): boolean {
    return this.tables.has(name);
  }

  /** The full name of a wrapped chain: `<bin>-<name[:11]>`. */
  wrap(name: string): string {
    return `${this.bin}-${name.slice(0, 11)}`;
  }

  /** Adds a chain (wrapped unless `wrapped` is false; builtin names are never declared). */
  addChain(table: TableName, chain: string, wrapped = true): string {
    const name = wrapped ? this.wrap(chain) : chain.slice(0, 28);
    this.table(table).chains.add(name);
    return name;
  }

  /**
   * Adds a rule to a chain. `chain` is a wrapped short name (e.g. `FORWARD` means `<bin>-FORWARD`)
   * unless `unwrapped` is set, in which case it is the chain's full name (builtin or shared).
   */
  addRule(table: TableName, chain: string, args: string, options: RuleOptions = {}, unwrapped = false): void {
    const full = unwrapped || chain.startsWith('neutron-') ? chain.slice(0, 28) : this.wrap(chain);
    const t = this.table(table);
    let text = args;
    const comment = options.forcedComment ?? (this.options.comments ? options.comment : undefined);
    if (comment !== undefined) text = withComment(text, comment);
    if (t.rules.some((r) => r.chain === full && r.args === text)) return;
    t.rules.push({ chain: full, args: text, top: options.top ?? false });
  }

  /** Neutron's restore input: `# Generated by iptables_manager` blocks with `-I CHAIN n` lines. */
  formatRestore(): string {
    const out: string[] = [];
    for (const name of TABLE_ORDER) {
      const t = this.tables.get(name);
      if (!t) continue;
      out.push('# Generated by iptables_manager', `*${name}`);
      for (const c of [...t.chains].sort(byteOrder)) out.push(`:${c} - [0:0]`);
      for (const [chain, rules] of t.ordered()) rules.forEach((r, i) => out.push(`-I ${chain} ${i + 1} ${r}`));
      out.push('COMMIT', '# Completed by iptables_manager');
    }
    return out.join('\n') + '\n';
  }

  /** What iptables-save lists for these tables on a fresh node after the rules were applied. */
  formatSave(): string {
    const out: string[] = [`# Generated by ${this.options.family === 6 ? 'ip6tables-save' : 'iptables-save'} (iptables-lsp gen)`];
    for (const name of TABLE_ORDER) {
      const t = this.tables.get(name);
      if (!t) continue;
      out.push(`*${name}`);
      const builtins = BUILTIN_CHAINS[name];
      for (const c of builtins) out.push(`:${c} ACCEPT [0:0]`);
      const users = [...t.chains].sort(byteOrder);
      for (const c of users) out.push(`:${c} - [0:0]`);
      const ordered = t.ordered();
      for (const c of [...builtins, ...users]) for (const r of ordered.get(c) ?? []) out.push(`-A ${c} ${r}`);
      out.push('COMMIT', '# Completed (iptables-lsp gen)');
    }
    return out.join('\n') + '\n';
  }

  /** Every rule in `-A CHAIN args` form per table, for diffs and tests. */
  appendLines(): Map<TableName, string[]> {
    const res = new Map<TableName, string[]>();
    for (const name of TABLE_ORDER) {
      const t = this.tables.get(name);
      if (!t) continue;
      const lines: string[] = [];
      for (const [chain, rules] of t.ordered()) for (const r of rules) lines.push(`-A ${chain} ${r}`);
      res.set(name, lines);
    }
    return res;
  }
}

/** Inserts `-m comment --comment "TEXT"` before the first ` -j ` (front for `-j …`, end without a jump). */
export function withComment(args: string, comment: string): string {
  const c = `-m comment --comment "${comment}"`;
  if (args.startsWith('-j ')) return `${c} ${args}`;
  const i = args.indexOf(' -j ');
  if (i < 0) return `${args} ${c}`;
  return `${args.slice(0, i)} ${c}${args.slice(i)}`;
}
