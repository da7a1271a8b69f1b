/**
 * Deterministic mutation cases for the kernel oracle. Every case takes one table block (from
 * `*table` to its COMMIT) of a real-world dump that the kernel accepts and changes exactly one of
 * its lines. The kinds are mixed in equal shares: dropped tokens, corrupted names, bad numbers,
 * wrong modules, misplaced targets, and valid edits that must not raise errors.
 *
 * The generator only decides what to change; whether the result is an error is decided by the
 * kernel in the test, so a "valid" edit that the kernel happens to reject is still a fair case.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Family } from './netns.ts';
import { joinLines, splitLines, tableBlocks } from './util.ts';

/** Where the real-world dumps live; IPTABLES_CORPUS_DIR may point elsewhere. */
export const CORPUS_DIR = process.env.IPTABLES_CORPUS_DIR ?? '/work/shared/corpus/real-world';

/**
 * The corpus files the kernel rejects, as stated in the corpus README (and re-checked by
 * corpus.test.ts). They cannot serve as bases because a mutation would not be the only error.
 */
const REJECTED_FILES: readonly RegExp[] = [/^Parser_Test__data__iptables-save$/, /^TUM_Net/, /^configs_ugent__/, /^linux\.gda\.pl__/];

export type MutationKind = 'drop' | 'corrupt' | 'number' | 'module' | 'target' | 'valid';
export const MUTATION_KINDS: readonly MutationKind[] = ['drop', 'corrupt', 'number', 'module', 'target', 'valid'];

/** One oracle case: a whole file, its family, and the 1-based line that was changed. */
export interface MutationCase {
  readonly id: string;
  readonly kind: MutationKind | 'control';
  readonly description: string;
  readonly text: string;
  readonly family: Family;
  readonly mutatedLine: number;
  /** The base file and line the case came from, for reproducing it by hand. */
  readonly origin: string;
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG
// ---------------------------------------------------------------------------------------------

/** A small seeded PRNG (mulberry32): the same seed always yields the same cases on every machine. */
export class Prng {
  private state: number;

  constructor(seed: number | string) {
    // Strings are hashed with FNV-1a so that readable seeds can be used.
    let value = 0;
    if (typeof seed === 'number') value = seed >>> 0;
    else {
      value = 0x811c9dc5;
      for (let i = 0; i < seed.length; i += 1) value = Math.imul(value ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    }
    this.state = value;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element; the array must not be empty. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

// ---------------------------------------------------------------------------------------------
// Rule tokens and option groups
// ---------------------------------------------------------------------------------------------

/**
 * Splits a rule line the way iptables-restore does for our purposes: on blanks, with double
 * quotes keeping blanks inside one token. Tokens keep their quotes so that joining them with single
 * spaces reproduces an equivalent line.
 */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let started = false;
  let quoted = false;
  let escaped = false;
  for (const ch of line) {
    if (quoted) {
      current += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      if (started) tokens.push(current);
      current = '';
      started = false;
      continue;
    }
    current += ch;
    started = true;
    if (ch === '"') quoted = true;
  }
  if (started) tokens.push(current);
  return tokens;
}

/** An option with its optional `!` and its values, as token indexes [start, end). */
interface Group {
  readonly start: number;
  readonly end: number;
  readonly negated: boolean;
  readonly option: string;
  readonly values: readonly string[];
}

function isOptionToken(token: string): boolean {
  return token === '!' || (token.length > 1 && token.startsWith('-') && !/^-\d/.test(token));
}

function groupsOf(tokens: readonly string[]): Group[] {
  const groups: Group[] = [];
  let i = 0;
  while (i < tokens.length) {
    const start = i;
    let negated = false;
    if (tokens[i] === '!') {
      negated = true;
      i += 1;
    }
    const option = tokens[i] ?? '';
    let j = i + 1;
    while (j < tokens.length && !isOptionToken(tokens[j] as string)) j += 1;
    groups.push({ start, end: j, negated, option, values: tokens.slice(i + 1, j) });
    i = j;
  }
  return groups;
}

const CORE_OPTIONS = new Set(['-s', '-d', '-i', '-o', '-p', '-f', '--source', '--destination', '--in-interface', '--out-interface', '--protocol', '--fragment']);

/** A rule line taken apart: its tokens, option groups, chain, protocol, module blocks and target block. */
interface Rule {
  readonly tokens: readonly string[];
  readonly groups: readonly Group[];
  readonly chain: string;
  readonly protocol?: string;
  /** Module blocks: `-m name` and the option groups after it, as group index ranges [first, last). */
  readonly modules: ReadonlyArray<{ readonly name: string; readonly first: number; readonly last: number }>;
  /** The `-j`/`-g` group and the target's options, as a group index range [first, last). */
  readonly target?: { readonly name: string; readonly goto: boolean; readonly first: number; readonly last: number };
}

function parseRule(line: string): Rule | undefined {
  const tokens = tokenize(line);
  if (tokens[0] !== '-A' && tokens[0] !== '-I') return undefined;
  const groups = groupsOf(tokens);
  const modules: Array<{ name: string; first: number; last: number }> = [];
  let target: { name: string; goto: boolean; first: number; last: number } | undefined;
  let protocol: string | undefined;
  const closes = (g: Group): boolean => g.option === '-m' || g.option === '--match' || g.option === '-j' || g.option === '-g' || CORE_OPTIONS.has(g.option);
  groups.forEach((g, index) => {
    if (g.option === '-p' || g.option === '--protocol') protocol = g.values[0];
    if (g.option === '-m' || g.option === '--match') {
      let last = index + 1;
      while (last < groups.length && !closes(groups[last] as Group)) last += 1;
      modules.push({ name: g.values[0] ?? '', first: index, last });
    }
    if ((g.option === '-j' || g.option === '-g') && target === undefined) {
      let last = index + 1;
      while (last < groups.length && !closes(groups[last] as Group)) last += 1;
      target = { name: g.values[0] ?? '', goto: g.option === '-g', first: index, last };
    }
  });
  const rule: Rule = { tokens, groups, chain: tokens[1] ?? '', modules, ...(target ? { target } : {}) };
  return protocol === undefined ? rule : { ...rule, protocol };
}

/** The tokens of a group range [first, last). */
function tokensOf(rule: Rule, first: number, last: number): string[] {
  if (first >= last) return [];
  const a = rule.groups[first] as Group;
  const b = rule.groups[last - 1] as Group;
  return rule.tokens.slice(a.start, b.end);
}

/** Replaces the tokens of the group range [first, last) by `replacement`. */
function replaceGroups(rule: Rule, first: number, last: number, replacement: readonly string[]): string {
  const start = first < rule.groups.length ? (rule.groups[first] as Group).start : rule.tokens.length;
  const end = last > first ? (rule.groups[last - 1] as Group).end : start;
  return [...rule.tokens.slice(0, start), ...replacement, ...rule.tokens.slice(end)].join(' ');
}

/** Replaces the values of one group. */
function replaceValues(rule: Rule, index: number, values: readonly string[]): string {
  const g = rule.groups[index] as Group;
  const optionAt = g.negated ? g.start + 1 : g.start;
  return [...rule.tokens.slice(0, optionAt + 1), ...values, ...rule.tokens.slice(g.end)].join(' ');
}

/** Inserts tokens before the target block (or at the end of a rule without target). */
function insertBeforeTarget(rule: Rule, inserted: readonly string[]): string {
  const at = rule.target ? (rule.groups[rule.target.first] as Group).start : rule.tokens.length;
  return [...rule.tokens.slice(0, at), ...inserted, ...rule.tokens.slice(at)].join(' ');
}

/** Replaces the target block (or appends one). */
function replaceTarget(rule: Rule, target: readonly string[]): string {
  if (!rule.target) return [...rule.tokens, ...target].join(' ');
  return replaceGroups(rule, rule.target.first, rule.target.last, target);
}

function findGroup(rule: Rule, options: readonly string[]): number {
  return rule.groups.findIndex((g) => options.includes(g.option));
}

// ---------------------------------------------------------------------------------------------
// Base blocks
// ---------------------------------------------------------------------------------------------

const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** One table block of an accepted corpus file, with what the mutators need to know about it. */
interface BaseBlock {
  readonly file: string;
  readonly family: Family;
  readonly table: string;
  /** The 1-based line of `*table` in the original file. */
  readonly firstLine: number;
  readonly lines: readonly string[];
  readonly builtins: ReadonlySet<string>;
  readonly userChains: readonly string[];
  /** Jump edges between chains (`-j`/`-g` to a user chain), for loops and reachability. */
  readonly edges: ReadonlyMap<string, ReadonlySet<string>>;
  /** User chains reachable from a built-in chain. */
  readonly reachable: ReadonlySet<string>;
}

interface BaseLine {
  readonly block: BaseBlock;
  /** 0-based index in block.lines. */
  readonly index: number;
  readonly text: string;
  readonly type: 'rule' | 'decl' | 'table' | 'commit';
}

function familyOfFile(file: string): Family {
  return file.includes('ip6tables') ? 'ipv6' : 'ipv4';
}

/** The accepted corpus files, sorted so that generation does not depend on directory order. */
export function acceptedCorpusFiles(dir: string = CORPUS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f !== 'README.md' && !f.startsWith('LICENSE-') && !REJECTED_FILES.some((re) => re.test(f)))
    .sort();
}

function loadBlocks(dir: string): BaseBlock[] {
  const blocks: BaseBlock[] = [];
  for (const file of acceptedCorpusFiles(dir)) {
    const all = splitLines(readFileSync(join(dir, file), 'utf8'));
    for (const b of tableBlocks(all)) {
      if (b.end > all.length || all[b.end - 1] !== 'COMMIT') continue;
      const lines = all.slice(b.start - 1, b.end);
      const builtins = new Set(BUILTIN_CHAINS[b.table] ?? []);
      const userChains = lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(/\s+/)[0] ?? '').filter((n) => n !== '' && !builtins.has(n));
      const edges = new Map<string, Set<string>>();
      for (const l of lines) {
        const rule = parseRule(l);
        if (rule?.target && userChains.includes(rule.target.name)) {
          const set = edges.get(rule.chain) ?? new Set<string>();
          set.add(rule.target.name);
          edges.set(rule.chain, set);
        }
      }
      const reachable = new Set<string>();
      const queue = [...builtins];
      while (queue.length > 0) {
        const chain = queue.shift() as string;
        for (const next of edges.get(chain) ?? []) {
          if (!reachable.has(next)) {
            reachable.add(next);
            queue.push(next);
          }
        }
      }
      blocks.push({ file, family: familyOfFile(file), table: b.table, firstLine: b.start, lines, builtins, userChains, edges, reachable });
    }
  }
  return blocks;
}

/** Rules that need state outside the file (ipsets) cannot be judged in a fresh namespace. */
function usableRule(line: string): boolean {
  return !/(^|\s)(-m|--match)\s+set(\s|$)|--match-set|-j SET(\s|$)/.test(line);
}

function baseLines(blocks: readonly BaseBlock[]): BaseLine[] {
  const out: BaseLine[] = [];
  for (const block of blocks) {
    if (!block.lines.every(usableRule)) continue;
    block.lines.forEach((text, index) => {
      if (text.startsWith('-A ') || text.startsWith('-I ')) out.push({ block, index, text, type: 'rule' });
      else if (text.startsWith(':')) out.push({ block, index, text, type: 'decl' });
      else if (text.startsWith('*')) out.push({ block, index, text, type: 'table' });
      else if (text === 'COMMIT') out.push({ block, index, text, type: 'commit' });
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small value helpers
// ---------------------------------------------------------------------------------------------

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** A typo: swapped neighbours, a changed, doubled or dropped letter, or a cut-off end. */
function typo(rng: Prng, word: string): { text: string; how: string } {
  const body = word.replace(/^-+/, '');
  const prefix = word.slice(0, word.length - body.length);
  const kinds = ['swap', 'change', 'double', 'drop', 'truncate', 'case'] as const;
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const kind = rng.pick(kinds);
    let out = body;
    if (kind === 'swap' && body.length >= 2) {
      const i = rng.int(0, body.length - 2);
      out = body.slice(0, i) + body[i + 1] + body[i] + body.slice(i + 2);
    } else if (kind === 'change' && body.length >= 1) {
      const i = rng.int(0, body.length - 1);
      const isUpper = (body[i] as string) !== (body[i] as string).toLowerCase();
      const letter = rng.pick([...LETTERS]);
      out = body.slice(0, i) + (isUpper ? letter.toUpperCase() : letter) + body.slice(i + 1);
    } else if (kind === 'double' && body.length >= 1) {
      const i = rng.int(0, body.length - 1);
      out = body.slice(0, i + 1) + body[i] + body.slice(i + 1);
    } else if (kind === 'drop' && body.length >= 3) {
      const i = rng.int(0, body.length - 1);
      out = body.slice(0, i) + body.slice(i + 1);
    } else if (kind === 'truncate' && body.length >= 4) {
      out = body.slice(0, body.length - rng.int(1, Math.min(3, body.length - 2)));
    } else if (kind === 'case' && /[a-zA-Z]/.test(body)) {
      out = body === body.toUpperCase() ? body.toLowerCase() : body.toUpperCase();
    }
    if (out !== body) return { text: prefix + out, how: kind };
  }
  return { text: `${prefix}${body}x`, how: 'append' };
}

function randomIpv4(rng: Prng): string {
  return `${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function randomIpv6(rng: Prng): string {
  return `2001:db8:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`;
}

function randomAddress(rng: Prng, family: Family): string {
  return family === 'ipv6' ? randomIpv6(rng) : randomIpv4(rng);
}

/** Splits an address value into address and optional prefix. */
function splitPrefix(value: string): { address: string; prefix?: string } {
  const slash = value.indexOf('/');
  return slash < 0 ? { address: value } : { address: value.slice(0, slash), prefix: value.slice(slash + 1) };
}

// ---------------------------------------------------------------------------------------------
// Mutators. Each returns the new line and a short description, or undefined when it does not apply.
// ---------------------------------------------------------------------------------------------

interface Edit {
  readonly line: string;
  readonly what: string;
}

type Mutator = (rng: Prng, base: BaseLine, rule: Rule) => Edit | undefined;

const q = (s: string): string => `\`${s}\``;

// --- drop ------------------------------------------------------------------------------------

const dropRule: Mutator = (rng, _base, rule) => {
  // The `-A CHAIN` group is dropped rarely: it always gives the same "no command" error.
  const candidates = rule.groups.map((_, i) => i).filter((i) => i > 0 || rng.chance(0.1));
  if (candidates.length === 0) return undefined;
  const index = rng.pick(candidates);
  const g = rule.groups[index] as Group;
  const whole = rule.tokens.slice(g.start, g.end).join(' ');
  const roll = rng.next();
  if (roll < 0.6 || g.values.length === 0) {
    return { line: replaceGroups(rule, index, index + 1, []), what: `drop ${q(whole)}` };
  }
  if (roll < 0.8) {
    const v = rng.int(0, g.values.length - 1);
    const values = g.values.filter((_, i) => i !== v);
    return { line: replaceValues(rule, index, values), what: `drop value ${q(g.values[v] as string)} of ${q(g.option)}` };
  }
  const optionAt = g.negated ? g.start + 1 : g.start;
  const tokens = rule.tokens.filter((_, i) => i !== optionAt);
  return { line: tokens.join(' '), what: `drop option ${q(g.option)} but keep its value(s)` };
};

function dropStructural(rng: Prng, base: BaseLine): Edit | undefined {
  const fields = base.text.split(/\s+/);
  if (base.type === 'decl') {
    if (fields.length >= 3 && rng.chance(0.5)) return { line: `${fields[0]} ${fields[1]}`, what: 'drop the counters of a chain declaration' };
    if (fields.length >= 2) return { line: [fields[0], ...fields.slice(2)].join(' '), what: 'drop the policy of a chain declaration' };
    return undefined;
  }
  if (base.type === 'table') return { line: '*', what: 'drop the table name' };
  if (base.type === 'commit') return { line: '', what: 'drop COMMIT (blank line instead)' };
  return undefined;
}

// --- corrupt ---------------------------------------------------------------------------------

const corruptRule: Mutator = (rng, _base, rule) => {
  type Slot = { kind: string; apply: () => Edit | undefined };
  const slots: Slot[] = [];
  rule.groups.forEach((g, index) => {
    if (index === 0) {
      slots.push({
        kind: 'chain',
        apply: () => {
          const t = typo(rng, rule.chain);
          return { line: replaceValues(rule, 0, [t.text, ...g.values.slice(1)]), what: `corrupt chain name ${q(rule.chain)} → ${q(t.text)} (${t.how})` };
        },
      });
      return;
    }
    if (g.option.startsWith('--')) {
      slots.push({
        kind: 'option',
        apply: () => {
          const t = typo(rng, g.option);
          const tokens = [...rule.tokens];
          tokens[g.negated ? g.start + 1 : g.start] = t.text;
          return { line: tokens.join(' '), what: `corrupt option ${q(g.option)} → ${q(t.text)} (${t.how})` };
        },
      });
    }
    const value = g.values[0];
    if (value === undefined) return;
    if (g.option === '-m' || g.option === '-j' || g.option === '-g' || g.option === '-p') {
      const kind = g.option === '-m' ? 'module' : g.option === '-p' ? 'protocol' : 'target';
      slots.push({
        kind,
        apply: () => {
          const t = typo(rng, value);
          return { line: replaceValues(rule, index, [t.text, ...g.values.slice(1)]), what: `corrupt ${kind} ${q(value)} → ${q(t.text)} (${t.how})` };
        },
      });
    } else if (/^[A-Za-z][A-Za-z,_-]*$/.test(value) && !['--comment', '--log-prefix', '--name', '--hashlimit-name'].includes(g.option)) {
      slots.push({
        kind: 'keyword',
        apply: () => {
          const t = typo(rng, value);
          return { line: replaceValues(rule, index, [t.text, ...g.values.slice(1)]), what: `corrupt value ${q(value)} of ${q(g.option)} → ${q(t.text)} (${t.how})` };
        },
      });
    }
  });
  if (slots.length === 0) return undefined;
  // Pick a slot kind first so that rules with many options do not drown the rarer kinds.
  const kind = rng.pick([...new Set(slots.map((s) => s.kind))]);
  return rng.pick(slots.filter((s) => s.kind === kind)).apply();
};

function corruptStructural(rng: Prng, base: BaseLine): Edit | undefined {
  const fields = base.text.split(/\s+/);
  if (base.type === 'decl') {
    const name = (fields[0] ?? ':').slice(1);
    const policy = fields[1] ?? '-';
    const roll = rng.next();
    if (policy !== '-' && roll < 0.4) {
      const t = rng.chance(0.5) ? { text: policy.toLowerCase(), how: 'case' } : typo(rng, policy);
      return { line: [fields[0], t.text, ...fields.slice(2)].join(' '), what: `corrupt policy ${q(policy)} → ${q(t.text)} (${t.how})` };
    }
    if (policy === '-' && roll < 0.4) return { line: [fields[0], rng.pick(['ACCEPT', 'DROP']), ...fields.slice(2)].join(' '), what: 'give a user chain a policy' };
    if (roll < 0.7 && base.block.builtins.has(name)) {
      return { line: [`:${name.toLowerCase()}`, ...fields.slice(1)].join(' '), what: `lower-case built-in chain declaration ${q(name)}` };
    }
    const t = typo(rng, name);
    return { line: [`:${t.text}`, ...fields.slice(1)].join(' '), what: `corrupt declared chain name ${q(name)} → ${q(t.text)} (${t.how})` };
  }
  if (base.type === 'table') {
    const name = base.text.slice(1);
    const t = rng.chance(0.25) ? { text: name.toUpperCase(), how: 'case' } : typo(rng, name);
    return { line: `*${t.text}`, what: `corrupt table name ${q(name)} → ${q(t.text)} (${t.how})` };
  }
  if (base.type === 'commit') {
    const line = rng.pick(['commit', 'COMMT', 'COMMIT x', 'COMMIT ', 'COMMITT', ' COMMIT']);
    return { line, what: `corrupt COMMIT → ${q(line)}` };
  }
  return undefined;
}

// --- numbers ---------------------------------------------------------------------------------

interface NumberSlot {
  readonly index: number;
  readonly bad: ReadonlyArray<readonly string[]>;
  readonly edge: ReadonlyArray<readonly string[]>;
}

function reversedRange(value: string): string {
  const m = /^(\d+):(\d+)$/.exec(value);
  if (m && Number(m[1]) < Number(m[2])) return `${m[2]}:${m[1]}`;
  const n = Number(value);
  return Number.isInteger(n) && n < 65535 ? `${n + 1}:${n}` : '1024:80';
}

function numberSlots(base: BaseLine, rule: Rule): NumberSlot[] {
  const v6 = base.block.family === 'ipv6';
  const slots: NumberSlot[] = [];
  const list = (n: number): string => Array.from({ length: n }, (_, i) => String(1000 + i * 7)).join(',');
  rule.groups.forEach((g, index) => {
    const value = g.values[0];
    if (value === undefined) return;
    const o = g.option;
    const add = (bad: string[][], edge: string[][]): void => {
      slots.push({ index, bad, edge });
    };
    if (['--dport', '--sport', '--destination-port', '--source-port', '--ctorigsrcport', '--ctorigdstport', '--ctreplsrcport', '--ctrepldstport'].includes(o)) {
      add([['65536'], ['1:2:3'], ['80-90'], ['99999'], ['080'], [reversedRange(value)], ['-1']], [['65535'], ['0'], ['1024:65535'], ['0x16']]);
    } else if (['--dports', '--sports', '--ports', '--destination-ports', '--source-ports'].includes(o)) {
      add([[list(16)], ['22,,80'], ['65536'], [reversedRange(value.split(',')[0] ?? value)], ['22-80'], [`${value},`]], [[list(15)], ['0'], ['65535'], [`${list(13)},2000:2010`]]);
    } else if (['-s', '-d', '--source', '--destination', '--src', '--dst', '--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst'].includes(o)) {
      const { address } = splitPrefix(value);
      if (v6) add([[`${address}/129`], ['2001:db8::g'], ['2001:db8:::1'], ['10.1.2.3'], [`${address}/64x`], [`${address}/-1`]], [[`${address}/128`], ['::/0'], ['2001:db8::/ffff:ffff::'], ['::ffff:1.2.3.4']]);
      else add([[`${address}/33`], ['300.1.2.3'], ['1.2.3.4.5'], [`${address}/24x`], ['1.2.3.256/24'], [`${address}/`]], [[`${address}/32`], ['0.0.0.0/0'], ['10.1.2'], ['10.0.0.0/255.255.255.0'], ['0x0a000001']]);
    } else if (['--src-range', '--dst-range'].includes(o)) {
      if (v6) add([['2001:db8::1-2001:db8::g'], ['10.0.0.1-10.0.0.9']], [['2001:db8::9-2001:db8::1']]);
      else add([['10.0.0.1-10.0.0.256'], ['300.0.0.1-300.0.0.2'], ['10.0.0.1-']], [['10.0.0.9-10.0.0.1'], ['10.0.0.1']]);
    } else if (['--to-destination', '--to-source', '--to'].includes(o)) {
      if (v6) add([['[2001:db8::1]:65536'], ['2001:db8::g'], ['10.0.0.1']], [['[2001:db8::1]'], ['2001:db8::1-2001:db8::5']]);
      else add([['10.0.0.1:65536'], ['10.0.0.1:80:90'], ['10.0.1'], ['10.0.0.1/24'], ['300.0.0.1']], [['10.0.0.9-10.0.0.1'], ['10.0.0.1']]);
    } else if (o === '--to-ports') {
      add([['65536'], ['8090-8080'], ['8080:8090']], [['1024-65535'], ['65535']]);
    } else if (['--mark', '--set-mark', '--set-xmark', '--ctmark', '--nfmask', '--ctmask'].includes(o)) {
      add([['0xfffffffff'], ['0x1/'], ['-1'], ['0x1/0x100000000'], ['abc'], ['4294967296']], [['0xffffffff'], ['4294967295'], ['0x1/0xffffffff']]);
    } else if (o === '--icmp-type') {
      add([['256'], ['8/256'], ['-1'], ['/0'], ['8/x']], [['255'], ['8/0'], ['any']]);
    } else if (o === '--icmpv6-type') {
      add([['256'], ['any'], ['128/256'], ['-1']], [['255'], ['128/0'], ['1/4']]);
    } else if (o === '--limit') {
      add([['0/sec'], ['10001/sec'], ['1/week'], ['10/secs'], ['/sec'], ['1/day']], [['10000/sec'], ['1/hour'], ['10'], ['1.5/sec']]);
    } else if (o === '--limit-burst') {
      add([['10001'], ['-1'], ['x'], ['0']], [['10000'], ['1']]);
    } else if (o === '--log-level') {
      add([['8'], ['warn'], ['EMERG'], ['-1']], [['7'], ['debug'], ['panic'], ['0']]);
    } else if (o === '--seconds' || o === '--hashlimit-htable-expire') {
      add([['abc'], ['-1'], ['4294967296']], [['1'], ['4294967295']]);
    } else if (o === '--hitcount') {
      add([['256'], ['x'], ['-1']], [['20'], ['1']]);
    } else if (o === '--hashlimit-burst') {
      add([['-1'], ['x'], ['4294967296']], [['1'], ['10000']]);
    } else if (['--hashlimit-above', '--hashlimit-upto', '--hashlimit'].includes(o)) {
      add([['0/sec'], ['1/week'], ['x']], [['1000000/sec'], ['1/hour']]);
    } else if (o === '--hashlimit-srcmask' || o === '--hashlimit-dstmask') {
      add([[v6 ? '129' : '33'], ['-1']], [[v6 ? '128' : '32'], ['0']]);
    } else if (o === '--connlimit-mask') {
      add([['-1'], ['x'], [v6 ? '129' : '33']], [['0'], [v6 ? '128' : '32']]);
    } else if (o === '--connlimit-above' || o === '--connlimit-upto') {
      add([['-1'], ['x']], [['0'], ['4294967295']]);
    } else if (o === '--uid-owner' || o === '--gid-owner') {
      add([['4294967296'], ['-1']], [['0'], ['0-100']]);
    } else if (o === '--mac-source') {
      add([['aa:bb:cc:dd:ee:ff:00'], ['aa-bb-cc-dd-ee-ff'], ['aabbccddeeff'], ['aa:bb:cc:dd:ee:gg']], [['AA:BB:CC:DD:EE:FF'], ['a:b:c:d:e:f']]);
    } else if (o === '--tcp-flags' && g.values.length === 2) {
      add([['SYN,FOO', 'SYN'], ['SYN,ACK', 'SYN,ECE'], ['ALL', 'BOGUS']], [['ALL', 'NONE'], ['syn,ack', 'syn'], ['SYN', 'ACK']]);
    } else if (o === '--mask') {
      add([['255.255.255.256'], ['1.2.3.4.5']], [['255.255.255.0'], ['0.0.0.0']]);
    } else if (o === '--length') {
      add([['65536'], ['100:50:1']], [['65535'], ['100:50']]);
    } else if (o === '--ttl-eq' || o === '--ttl-gt' || o === '--ttl-lt' || o === '--hl-eq') {
      add([['256'], ['-1']], [['255'], ['0']]);
    } else if (o === '-p' || o === '--protocol') {
      add([['256'], ['-1']], [[value === 'tcp' ? '6' : value === 'udp' ? '17' : '255']]);
    }
  });
  return slots;
}

const numberRule: Mutator = (rng, base, rule) => {
  const slots = numberSlots(base, rule);
  if (slots.length === 0) return undefined;
  const slot = rng.pick(slots);
  const g = rule.groups[slot.index] as Group;
  // About one in five number edits is a valid boundary value, to catch false errors as well.
  const edge = slot.edge.length > 0 && rng.chance(0.2);
  const values = rng.pick(edge ? slot.edge : slot.bad);
  const old = g.values.slice(0, values.length).join(' ');
  const rest = g.values.slice(values.length);
  return { line: replaceValues(rule, slot.index, [...values, ...rest]), what: `${edge ? 'boundary' : 'bad'} value for ${q(g.option)}: ${q(old)} → ${q(values.join(' '))}` };
};

// --- modules ---------------------------------------------------------------------------------

const moduleMutators: ReadonlyArray<{ name: string; fn: Mutator }> = [
  {
    name: 'tcp/udp swap',
    fn: (rng, _base, rule) => {
      const m = rule.modules.find((x) => x.name === 'tcp' || x.name === 'udp');
      if (!m) return undefined;
      const other = m.name === 'tcp' ? 'udp' : 'tcp';
      if (rng.chance(0.5) && rule.protocol === m.name) {
        const p = findGroup(rule, ['-p', '--protocol']);
        const proto = rng.pick([other, 'icmp', 'sctp']);
        return { line: replaceValues(rule, p, [proto]), what: `protocol ${q(rule.protocol)} → ${q(proto)} while keeping ${q(`-m ${m.name}`)}` };
      }
      return { line: replaceValues(rule, m.first, [other]), what: `${q(`-m ${m.name}`)} → ${q(`-m ${other}`)} with ${q(`-p ${rule.protocol ?? '(none)'}`)}` };
    },
  },
  {
    name: 'icmp family',
    fn: (rng, base, rule) => {
      const m = rule.modules.find((x) => x.name === 'icmp' || x.name === 'icmp6');
      if (m) {
        const other = m.name === 'icmp' ? 'icmp6' : 'icmp';
        return { line: replaceValues(rule, m.first, [other]), what: `${q(`-m ${m.name}`)} → ${q(`-m ${other}`)} (${base.block.family})` };
      }
      if (rng.chance(0.5)) return undefined;
      const inserted = base.block.family === 'ipv6' ? ['-m', 'icmp', '--icmp-type', '8'] : ['-m', 'icmp6', '--icmpv6-type', '128'];
      return { line: insertBeforeTarget(rule, inserted), what: `add ${q(inserted.join(' '))} in ${base.block.family}` };
    },
  },
  {
    name: 'unknown module',
    fn: (rng, _base, rule) => {
      const name = rng.pick(['foo', 'geoip', 'condition', 'tcpp', 'l2tp', 'unclean', 'ipp2p', 'layer7']);
      return { line: insertBeforeTarget(rule, ['-m', name]), what: `add non-existent module ${q(`-m ${name}`)}` };
    },
  },
  {
    name: 'port option without -p',
    fn: (rng, _base, rule) => {
      const p = findGroup(rule, ['-p', '--protocol']);
      if (p >= 0 && rule.groups.some((g) => ['--dport', '--sport', '--dports', '--sports', '--ports', '--tcp-flags', '--icmp-type', '--icmpv6-type', '--syn'].includes(g.option))) {
        return { line: replaceGroups(rule, p, p + 1, []), what: `drop ${q(tokensOf(rule, p, p + 1).join(' '))} although protocol options follow` };
      }
      if (p < 0 && rng.chance(0.5)) {
        const inserted = rng.pick([['--dport', '22'], ['-m', 'tcp', '--dport', '22'], ['-m', 'multiport', '--dports', '22,80']]);
        return { line: insertBeforeTarget(rule, inserted), what: `add ${q(inserted.join(' '))} without ${q('-p')}` };
      }
      return undefined;
    },
  },
  {
    name: 'multiport protocol',
    fn: (rng, _base, rule) => {
      const m = rule.modules.find((x) => x.name === 'multiport');
      const p = findGroup(rule, ['-p', '--protocol']);
      if (!m || p < 0) return undefined;
      const proto = rng.pick(['icmp', 'all', 'udp']);
      return { line: replaceValues(rule, p, [proto]), what: `${q('-m multiport')} with ${q(`-p ${proto}`)}` };
    },
  },
  {
    name: 'state/conntrack swap',
    fn: (_rng, _base, rule) => {
      const m = rule.modules.find((x) => x.name === 'state' || x.name === 'conntrack');
      if (!m) return undefined;
      const other = m.name === 'state' ? 'conntrack' : 'state';
      return { line: replaceValues(rule, m.first, [other]), what: `${q(`-m ${m.name}`)} → ${q(`-m ${other}`)} keeping its options` };
    },
  },
  {
    name: 'hook-restricted match',
    fn: (rng, _base, rule) => {
      const inserted = rng.pick([
        ['-m', 'mac', '--mac-source', '00:11:22:33:44:55'],
        ['-m', 'owner', '--uid-owner', '0'],
        ['-m', 'physdev', '--physdev-out', 'eth0'],
        ['-m', 'addrtype', '--dst-type', 'LOCAL', '--limit-iface-in'],
      ]);
      return { line: insertBeforeTarget(rule, inserted), what: `add ${q(inserted.join(' '))} in chain ${q(rule.chain)}` };
    },
  },
  {
    name: 'family-specific match',
    fn: (rng, base, rule) => {
      const inserted = base.block.family === 'ipv6' ? rng.pick([['-m', 'ttl', '--ttl-eq', '5'], ['-f'], ['-m', 'iprange', '--src-range', '10.0.0.1-10.0.0.5']]) : rng.pick([['-m', 'hl', '--hl-eq', '5'], ['-m', 'frag', '--fragid', '5'], ['-m', 'ipv6header', '--header', 'frag']]);
      return { line: insertBeforeTarget(rule, inserted), what: `add ${q(inserted.join(' '))} in ${base.block.family}` };
    },
  },
];

const moduleRule: Mutator = (rng, base, rule) => {
  const applicable = moduleMutators.map((m) => m.fn(rng, base, rule)).filter((e): e is Edit => e !== undefined);
  return applicable.length === 0 ? undefined : rng.pick(applicable);
};

// --- targets ---------------------------------------------------------------------------------

function pathTo(block: BaseBlock, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const c = stack.pop() as string;
    if (c === to) return true;
    if (seen.has(c)) continue;
    seen.add(c);
    stack.push(...(block.edges.get(c) ?? []));
  }
  return false;
}

const targetMutators: ReadonlyArray<{ name: string; weight: number; fn: Mutator }> = [
  {
    name: 'nat target',
    weight: 4,
    fn: (rng, base, rule) => {
      const family = base.block.family;
      const choice = rng.pick([
        ['-j', 'DNAT', '--to-destination', randomAddress(rng, family)],
        ['-j', 'SNAT', '--to-source', randomAddress(rng, family)],
        ['-j', 'MASQUERADE'],
        ['-j', 'REDIRECT'],
        ['-j', 'NETMAP', '--to', family === 'ipv6' ? '2001:db8::/64' : '10.0.0.0/24'],
      ]);
      return { line: replaceTarget(rule, choice), what: `target ${q(choice.join(' '))} in ${base.block.table} ${q(rule.chain)}` };
    },
  },
  {
    name: 'raw-only target',
    weight: 2,
    fn: (rng, base, rule) => {
      const choice = rng.pick([['-j', 'CT', '--notrack'], ['-j', 'NOTRACK'], ['-j', 'CT', '--zone', '1'], ['-j', 'TRACE']]);
      return { line: replaceTarget(rule, choice), what: `target ${q(choice.join(' '))} in ${base.block.table} ${q(rule.chain)}` };
    },
  },
  {
    name: 'filter-only target',
    weight: 2,
    fn: (rng, base, rule) => {
      const choice = rng.pick([['-j', 'REJECT'], ['-j', 'DROP'], ['-j', 'REJECT', '--reject-with', base.block.family === 'ipv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable']]);
      return { line: replaceTarget(rule, choice), what: `target ${q(choice.join(' '))} in ${base.block.table} ${q(rule.chain)}` };
    },
  },
  {
    name: 'mangle-only target',
    weight: 1,
    fn: (rng, base, rule) => {
      const choice = rng.pick([['-j', 'CHECKSUM', '--checksum-fill'], ['-j', 'TCPMSS', '--clamp-mss-to-pmtu'], ['-j', 'MARK', '--set-mark', '1'], ['-j', 'DSCP', '--set-dscp', '1']]);
      return { line: replaceTarget(rule, choice), what: `target ${q(choice.join(' '))} in ${base.block.table} ${q(rule.chain)}` };
    },
  },
  {
    name: 'undefined chain',
    weight: 3,
    fn: (rng, base, rule) => {
      const roll = rng.next();
      if (roll < 0.3 && base.block.userChains.length > 0) {
        const chain = rng.pick(base.block.userChains);
        const t = typo(rng, chain);
        if (base.block.userChains.includes(t.text)) return undefined;
        return { line: replaceTarget(rule, ['-j', t.text]), what: `jump to undefined chain ${q(t.text)} (typo of ${q(chain)})` };
      }
      if (roll < 0.5) return { line: replaceTarget(rule, ['-j', rng.pick(['accept', 'drop', 'Accept'])]), what: 'lower-case built-in verdict (a chain name then)' };
      if (roll < 0.7) return { line: replaceTarget(rule, ['-g', 'NOSUCHCHAIN']), what: `goto undefined chain ${q('NOSUCHCHAIN')}` };
      if (roll < 0.8) {
        const builtin = rng.pick([...base.block.builtins]);
        return { line: replaceTarget(rule, ['-j', builtin]), what: `jump to built-in chain ${q(builtin)}` };
      }
      return { line: replaceTarget(rule, ['-j', 'NOSUCHCHAIN']), what: `jump to undefined chain ${q('NOSUCHCHAIN')}` };
    },
  },
  {
    name: 'loop',
    weight: 3,
    fn: (rng, base, rule) => {
      const block = base.block;
      if (!block.userChains.includes(rule.chain)) return undefined;
      // Any chain from which the rule's chain can be reached closes a loop (itself included).
      const ancestors = block.userChains.filter((c) => pathTo(block, c, rule.chain));
      if (ancestors.length === 0) return undefined;
      const to = rng.pick(ancestors);
      const reach = block.reachable.has(rule.chain) ? 'reachable from a built-in chain' : 'not reachable from a built-in chain';
      const op = rng.chance(0.8) ? '-j' : '-g';
      return { line: replaceTarget(rule, [op, to]), what: `${op} ${to} in chain ${q(rule.chain)} closes a loop (${reach})` };
    },
  },
  {
    name: 'delete referenced chain',
    weight: 1,
    fn: (rng, base) => {
      const chains = base.block.userChains;
      if (chains.length === 0) return undefined;
      const chain = rng.pick(chains);
      const cmd = rng.pick(['-X', '-F', '-N']);
      return { line: `${cmd} ${chain}`, what: `replace the rule by ${q(`${cmd} ${chain}`)}` };
    },
  },
];

const targetRule: Mutator = (rng, base, rule) => {
  const total = targetMutators.reduce((s, m) => s + m.weight, 0);
  for (let attempt = 0; attempt < 8; attempt += 1) {
    let roll = rng.next() * total;
    const m = targetMutators.find((x) => (roll -= x.weight) < 0) ?? (targetMutators[0] as (typeof targetMutators)[number]);
    const edit = m.fn(rng, base, rule);
    if (edit) return edit;
  }
  return undefined;
};

// --- valid edits -----------------------------------------------------------------------------

const validMutators: ReadonlyArray<{ name: string; fn: Mutator }> = [
  {
    name: 'swap modules',
    fn: (rng, _base, rule) => {
      const pairs = rule.modules.slice(0, -1).map((m, i) => [m, rule.modules[i + 1]] as const).filter(([a, b]) => b !== undefined && a.last === b.first);
      if (pairs.length === 0) return undefined;
      const [a, b] = rng.pick(pairs);
      if (!b) return undefined;
      const swapped = [...tokensOf(rule, b.first, b.last), ...tokensOf(rule, a.first, a.last)];
      return { line: replaceGroups(rule, a.first, b.last, swapped), what: `swap ${q(`-m ${a.name}`)} and ${q(`-m ${b.name}`)} blocks` };
    },
  },
  {
    name: 'swap core options',
    fn: (rng, _base, rule) => {
      const core = rule.groups.map((g, i) => ({ g, i })).filter(({ g, i }) => i > 0 && ['-s', '-d', '-i', '-o', '-p'].includes(g.option));
      const pairs = core.slice(0, -1).map((c, k) => [c, core[k + 1]] as const).filter(([a, b]) => b !== undefined && b.i === a.i + 1);
      if (pairs.length === 0) return undefined;
      const [a, b] = rng.pick(pairs);
      if (!b) return undefined;
      const swapped = [...tokensOf(rule, b.i, b.i + 1), ...tokensOf(rule, a.i, a.i + 1)];
      return { line: replaceGroups(rule, a.i, b.i + 1, swapped), what: `swap ${q(a.g.option)} and ${q(b.g.option)}` };
    },
  },
  {
    name: 'other port',
    fn: (rng, _base, rule) => {
      const index = rule.groups.findIndex((g) => ['--dport', '--sport'].includes(g.option) && /^\d+$/.test(g.values[0] ?? ''));
      if (index < 0) return undefined;
      const port = String(rng.int(1, 65535));
      return { line: replaceValues(rule, index, [port]), what: `port ${q((rule.groups[index] as Group).values[0] ?? '')} → ${q(port)}` };
    },
  },
  {
    name: 'other address',
    fn: (rng, base, rule) => {
      const index = rule.groups.findIndex((g) => ['-s', '-d'].includes(g.option) && !(g.values[0] ?? '').includes(','));
      if (index < 0) return undefined;
      const family = base.block.family;
      const prefix = family === 'ipv6' ? rng.pick(['', '/128', '/64', '/48']) : rng.pick(['', '/32', '/24', '/16', '/8']);
      const address = randomAddress(rng, family) + prefix;
      return { line: replaceValues(rule, index, [address]), what: `address ${q((rule.groups[index] as Group).values[0] ?? '')} → ${q(address)}` };
    },
  },
  {
    name: 'add comment',
    fn: (rng, _base, rule) => {
      const text = rng.pick(['"x"', '"allow this"', '"a -j b"', 'plain']);
      return { line: insertBeforeTarget(rule, ['-m', 'comment', '--comment', text]), what: `add ${q(`-m comment --comment ${text}`)}` };
    },
  },
  {
    name: 'flip verdict',
    fn: (_rng, base, rule) => {
      if (!rule.target || base.block.table === 'nat' || !['ACCEPT', 'DROP'].includes(rule.target.name)) return undefined;
      const other = rule.target.name === 'ACCEPT' ? 'DROP' : 'ACCEPT';
      return { line: replaceGroups(rule, rule.target.first, rule.target.first + 1, ['-j', other]), what: `${q(rule.target.name)} → ${q(other)}` };
    },
  },
  {
    name: 'other states',
    fn: (rng, _base, rule) => {
      const index = findGroup(rule, ['--state', '--ctstate']);
      if (index < 0) return undefined;
      const states = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID'].filter(() => rng.chance(0.5));
      const value = (states.length > 0 ? states : ['NEW']).join(',');
      return { line: replaceValues(rule, index, [value]), what: `states → ${q(value)}` };
    },
  },
  {
    name: 'negate address',
    fn: (_rng, _base, rule) => {
      const index = rule.groups.findIndex((g) => ['-s', '-d'].includes(g.option) && !g.negated && !(g.values[0] ?? '').includes(','));
      if (index < 0) return undefined;
      const g = rule.groups[index] as Group;
      return { line: replaceGroups(rule, index, index + 1, ['!', ...rule.tokens.slice(g.start, g.end)]), what: `negate ${q(g.option)}` };
    },
  },
  {
    name: 'counters',
    fn: (rng, _base, rule) => {
      const counters = `[${rng.int(0, 999)}:${rng.int(0, 99999)}]`;
      return { line: `${counters} ${rule.tokens.join(' ')}`, what: `prefix counters ${q(counters)}` };
    },
  },
];

const validRule: Mutator = (rng, base, rule) => {
  const applicable = validMutators.map((m) => m.fn(rng, base, rule)).filter((e): e is Edit => e !== undefined);
  return applicable.length === 0 ? undefined : rng.pick(applicable);
};

function validStructural(rng: Prng, base: BaseLine): Edit | undefined {
  if (base.type !== 'decl') return undefined;
  const fields = base.text.split(/\s+/);
  const name = (fields[0] ?? ':').slice(1);
  const counters = `[${rng.int(0, 9999)}:${rng.int(0, 999999)}]`;
  if (base.block.builtins.has(name) && base.block.table !== 'nat') {
    const policy = rng.pick(['ACCEPT', 'DROP']);
    return { line: `:${name} ${policy} ${counters}`, what: `policy of ${q(name)} → ${q(policy)} with counters ${q(counters)}` };
  }
  return { line: `:${name} ${fields[1] ?? '-'} ${counters}`, what: `counters of ${q(name)} → ${q(counters)}` };
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

const RULE_MUTATORS: Readonly<Record<MutationKind, Mutator>> = {
  drop: dropRule,
  corrupt: corruptRule,
  number: numberRule,
  module: moduleRule,
  target: targetRule,
  valid: validRule,
};

const STRUCTURAL_MUTATORS: Partial<Record<MutationKind, (rng: Prng, base: BaseLine) => Edit | undefined>> = {
  drop: dropStructural,
  corrupt: corruptStructural,
  valid: validStructural,
};

/** Share of the cases taken from IPv6 bases; they are few lines, so they are drawn on purpose. */
const IPV6_SHARE = 0.15;
/** Share of drop/corrupt/valid cases that change a declaration, table or COMMIT line. */
const STRUCTURAL_SHARE = 0.15;

function caseFor(block: BaseBlock, index: number, line: string): { text: string; mutatedLine: number } {
  const lines = [...block.lines];
  lines[index] = line;
  return { text: joinLines(lines), mutatedLine: index + 1 };
}

/**
 * Generates `count` distinct mutation cases (default 600), deterministic for a given seed. Kinds
 * rotate so that each kind gets an equal share; files are drawn before lines so that the large
 * dumps do not dominate.
 */
export function generateMutations(count = 600, seed: number | string = 1): MutationCase[] {
  const rng = new Prng(seed);
  const blocks = loadBlocks(CORPUS_DIR);
  const pool = baseLines(blocks);
  const byFamilyAndFile = new Map<Family, Map<string, BaseLine[]>>();
  for (const b of pool) {
    const files = byFamilyAndFile.get(b.block.family) ?? new Map<string, BaseLine[]>();
    const list = files.get(b.block.file) ?? [];
    list.push(b);
    files.set(b.block.file, list);
    byFamilyAndFile.set(b.block.family, files);
  }
  const seen = new Set<string>(blocks.map((b) => joinLines(b.lines)));
  const cases: MutationCase[] = [];
  for (let i = 0; cases.length < count; i += 1) {
    if (i > count * 200) throw new Error(`could only generate ${cases.length} of ${count} distinct mutations`);
    const kind = MUTATION_KINDS[cases.length % MUTATION_KINDS.length] as MutationKind;
    const family: Family = byFamilyAndFile.has('ipv6') && rng.chance(IPV6_SHARE) ? 'ipv6' : 'ipv4';
    const files = byFamilyAndFile.get(family);
    if (!files) continue;
    const lines = files.get(rng.pick([...files.keys()])) ?? [];
    const structural = STRUCTURAL_MUTATORS[kind] !== undefined && rng.chance(STRUCTURAL_SHARE);
    const candidates = lines.filter((l) => (structural ? l.type !== 'rule' : l.type === 'rule'));
    if (candidates.length === 0) continue;
    const base = rng.pick(candidates);
    let edit: Edit | undefined;
    if (structural) edit = STRUCTURAL_MUTATORS[kind]?.(rng, base);
    else {
      const rule = parseRule(base.text);
      if (rule) edit = RULE_MUTATORS[kind](rng, base, rule);
    }
    if (!edit || edit.line === base.text) continue;
    const { text, mutatedLine } = caseFor(base.block, base.index, edit.line);
    if (seen.has(text)) continue;
    seen.add(text);
    const origin = `${base.block.file}:${base.block.firstLine + base.index}`;
    const id = `mut-${String(cases.length + 1).padStart(3, '0')}-${kind}`;
    cases.push({ id, kind, description: `${kind}: ${edit.what} [${origin}]`, text, family, mutatedLine, origin });
  }
  return cases;
}

/**
 * The unmutated table blocks that the mutations start from, one case each (duplicates dropped).
 * They must be accepted by the kernel and must draw no error from the checker; a false error here
 * would otherwise show up in every valid mutation of the block.
 */
export function controlCases(): MutationCase[] {
  const seen = new Set<string>();
  const out: MutationCase[] = [];
  for (const block of loadBlocks(CORPUS_DIR)) {
    if (!block.lines.every(usableRule)) continue;
    const text = joinLines(block.lines);
    if (seen.has(text)) continue;
    seen.add(text);
    const origin = `${block.file}:${block.firstLine}`;
    out.push({ id: `ctl-${String(out.length + 1).padStart(3, '0')}`, kind: 'control', description: `control: unmutated *${block.table} block [${origin}]`, text, family: block.family, mutatedLine: 1, origin });
  }
  return out;
}

/**
 * The pieces of a rule line that can be removed one at a time to find what makes the kernel reject
 * it: each module block (`-m name` with its options), then each single option group. Returns the
 * removed text and the remaining line; the `-A chain` part is never removed.
 */
export function removalCandidates(line: string): Array<{ removed: string; rest: string }> {
  const rule = parseRule(line);
  if (!rule) return [];
  const out: Array<{ removed: string; rest: string }> = [];
  for (const m of rule.modules) out.push({ removed: tokensOf(rule, m.first, m.last).join(' '), rest: replaceGroups(rule, m.first, m.last, []) });
  rule.groups.forEach((_, i) => {
    if (i > 0) out.push({ removed: tokensOf(rule, i, i + 1).join(' '), rest: replaceGroups(rule, i, i + 1, []) });
  });
  return out;
}

/** The chain a rule line appends to and the chain it jumps to, when it names them. */
export function chainsOfRule(line: string): string[] {
  const rule = parseRule(line);
  if (!rule) return [];
  return rule.target ? [rule.chain, rule.target.name] : [rule.chain];
}
