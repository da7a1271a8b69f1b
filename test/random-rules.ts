/**
 * What the random rule-set generators of the tests share: the target of a random rule.
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
