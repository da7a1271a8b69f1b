/**
 * What the random rule-set generators of the tests share: the target of a random rule, and the
 * rule sets over every table of the memo and incremental-check tests.
 */

/**
 * The target words of a random rule in chain `users[level]` (level -1: a builtin chain), or ''
 * for none. With probability `jumpChance` (0: never) a jump (70 %) or goto to a later user chain;
 * otherwise one of `targets` ('' meaning no target) or a jump or goto to any later user chain.
 * Only later chains are called, so that the random rule sets never loop. The draws from `rand`
 * are made in a fixed order, so that a seed always gives the same rule set.
 */
export function randomTarget(rand: () => number, targets: readonly string[], users: readonly string[], level: number, jumpChance: number): string {
  const choices = [...targets];
  for (let k = level + 1; k < users.length; k++) choices.push(`JUMP ${users[k]}`, `GOTO ${users[k]}`);
  const t =
    jumpChance > 0 && level < users.length - 1 && rand() < jumpChance
      ? `${rand() < 0.7 ? 'JUMP' : 'GOTO'} ${users[level + 1 + Math.floor(rand() * (users.length - level - 1))]}`
      : choices[Math.floor(rand() * choices.length)];
  if (t.startsWith('JUMP ')) return `-j ${t.slice(5)}`;
  if (t.startsWith('GOTO ')) return `-g ${t.slice(5)}`;
  return t === '' ? '' : `-j ${t}`;
}

/**
 * The targets the every-table generators pick from, per table: the verdicts and rewrites each
 * table allows ('' for no target), with ACCEPT and DROP twice in filter so that verdicts are common.
 */
export function tableTargets(table: string): string[] {
  const targets = ['', 'RETURN', 'LOG'];
  if (table === 'filter') targets.push('ACCEPT', 'ACCEPT', 'DROP', 'DROP');
  if (table === 'mangle') targets.push('MARK --set-xmark 0x1/0x1', 'MARK --set-mark 0x2', 'DROP');
  if (table === 'raw') targets.push('NOTRACK', 'DROP');
  if (table === 'nat') targets.push('ACCEPT');
  return targets;
}

/** A random rule of a chain of a table, valid where the chain's hook allows it. */
export function randomRule(rand: () => number, table: string, chain: string, users: readonly string[]): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const builtin = !users.includes(chain);
  const level = builtin ? -1 : users.indexOf(chain);
  const parts = [`-A ${chain}`];
  if (chance(0.3)) parts.push(`${chance(0.25) ? '! ' : ''}-s ${pick(['10.0.0.1', '10.0.0.0/30', '192.0.2.0/24', '10.9.0.0/16'])}`);
  if (chance(0.2)) parts.push(`${chance(0.25) ? '! ' : ''}-d ${pick(['10.0.0.9', '10.0.0.8/29', '198.51.100.0/24'])}`);
  if ((!builtin || !['OUTPUT', 'POSTROUTING'].includes(chain)) && chance(0.25)) parts.push(`${chance(0.3) ? '! ' : ''}-i ${pick(['eth0', 'eth+', 'lo', 'tap1'])}`);
  if ((!builtin || !['PREROUTING', 'INPUT'].includes(chain)) && chance(0.25)) parts.push(`${chance(0.3) ? '! ' : ''}-o ${pick(['eth1', 'eth+', 'lo'])}`);
  const proto = chance(0.5) ? pick(['tcp', 'udp', 'icmp']) : undefined;
  if (proto) parts.push(`-p ${proto}`);
  if (proto === 'tcp' && chance(0.6)) parts.push(`-m tcp ${pick(['--dport 22', '--dport 23', '! --dport 22:80', '--sport 1024:', '--syn'])}`);
  if (proto === 'udp' && chance(0.5)) parts.push(`-m udp ${pick(['--dport 53', '! --dport 53', '--dport 67:68'])}`);
  if (chance(0.15) && table !== 'raw') parts.push(`-m conntrack ${chance(0.25) ? '! ' : ''}--ctstate ${pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID'])}`);
  if (chance(0.15)) parts.push(`-m mark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x3'])}`);
  if (chance(0.05)) parts.push('-m limit --limit 5/sec');
  const targets = tableTargets(table);
  const t = randomTarget(rand, targets, users, level, 0.35);
  if (t !== '') parts.push(t);
  return parts.join(' ');
}

export const HOOKS: Readonly<Record<string, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};
export const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];

/** A random rule set over every table, each with user chains calling one another (chain declarations and appends only). */
export function randomSet(rand: () => number): string[] {
  const lines: string[] = [];
  for (const [table, builtins] of Object.entries(HOOKS)) {
    lines.push(`*${table}`, ...builtins.map((b) => `:${b} ${table === 'filter' && rand() < 0.3 ? 'DROP' : 'ACCEPT'} [0:0]`), ...USERS.map((u) => `:${u} - [0:0]`));
    for (const b of builtins) for (let k = Math.floor(rand() * 5); k > 0; k--) lines.push(randomRule(rand, table, b, USERS));
    for (const u of USERS) for (let k = Math.floor(rand() * 6); k > 0; k--) lines.push(randomRule(rand, table, u, USERS));
    lines.push('COMMIT');
  }
  lines.push('');
  return lines;
}
