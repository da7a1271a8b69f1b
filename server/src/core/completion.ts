/**
 * Completion data: what may be typed at a position of an iptables-restore file. The context is
 * read from the words before the cursor on the line (the model gives the table, its chains, the
 * loaded modules and the interfaces seen in the file); the candidates come from the extension
 * table, so a new module or target is offered as soon as it is added there.
 */
import type { Model, Rule, Table } from './model.ts';
import { MATCHES, TARGETS, STANDARD_TARGETS, MATCH_BY_NAME, TARGET_BY_NAME, TABLES, specForFamily, type ExtensionSpec, type OptionSpec } from './extensions/extensions.ts';
import { PROTOCOL_NUMBERS } from './extensions/names.ts';
import type { Family } from './extensions/value-kinds.ts';
import { BASE_OPTION_DOCS, COMMAND_DOCS, STANDARD_TARGET_DOCS, describeExtension, describeOption } from './describe.ts';
import { chainDetail, tableAt } from './navigation.ts';

/** What a candidate is, so that editors can pick an icon. */
export type CompletionKind = 'command' | 'keyword' | 'module' | 'option' | 'target' | 'chain' | 'value' | 'interface' | 'table';

/** One completion candidate; it replaces the word being typed (`replaceStart` to the cursor). */
export interface CompletionCandidate {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  /** Markdown documentation. */
  readonly documentation?: string;
  /** Text to insert when it differs from the label. */
  readonly insertText?: string;
  /** Lower sorts first; candidates of equal rank sort by label. */
  readonly rank?: number;
}

/** The candidates at a position and the column where the word being typed starts. */
export interface CompletionResult {
  readonly replaceStart: number;
  readonly items: CompletionCandidate[];
}

/**
 * At most this many candidates are sent at once. A compute node's dump names 15,000 chains, and
 * offering all of them after `-j` sent 4.7 MB to the editor at every keystroke; beyond the limit
 * the list is narrowed to what matches the word being typed (see `narrowCandidates`) and marked
 * incomplete, so that the editor asks again as the word grows.
 */
export const MAX_CANDIDATES = 1000;

/**
 * The candidates an editor is sent: all of them up to `limit`; beyond, those whose label holds
 * the characters of `typed` in order (ignoring case; editors filter and rank further, more
 * strictly), best rank first, at most `limit`, with `incomplete` set when some were left out.
 */
export function narrowCandidates(items: readonly CompletionCandidate[], typed: string, limit = MAX_CANDIDATES): { items: CompletionCandidate[]; incomplete: boolean } {
  if (items.length <= limit) return { items: [...items], incomplete: false };
  const t = typed.toLowerCase();
  const matching = t === '' ? [...items] : items.filter((c) => holdsInOrder(c.label.toLowerCase(), t));
  if (matching.length <= limit) return { items: matching, incomplete: true };
  matching.sort((a, b) => (a.rank ?? 50) - (b.rank ?? 50) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return { items: matching.slice(0, limit), incomplete: true };
}

/** Whether the characters of `part` occur in `whole` in order. */
function holdsInOrder(whole: string, part: string): boolean {
  let k = 0;
  for (let i = 0; i < whole.length && k < part.length; i++) if (whole.charCodeAt(i) === part.charCodeAt(k)) k++;
  return k === part.length;
}

/** Commands valid in an iptables-restore file. */
const COMMANDS = ['A', 'I', 'D', 'R', 'N', 'X', 'P', 'F', 'E', 'Z', 'C'];
/** Commands whose first argument is an existing chain. */
const CHAIN_COMMANDS = new Set(['-A', '--append', '-I', '--insert', '-D', '--delete', '-R', '--replace', '-F', '--flush', '-P', '--policy', '-X', '--delete-chain', '-E', '--rename-chain', '-Z', '--zero', '-C', '--check']);
/** Protocols offered first: the ones rules use nearly always. */
const COMMON_PROTOCOLS = ['tcp', 'udp', 'icmp', 'ipv6-icmp', 'sctp', 'gre', 'esp', 'ah', 'udplite', 'dccp', 'all'];
const STATE_OPTIONS = new Set(['state', 'ctstate']);

/** Base options offered in a rule after the chain. */
const BASE_OPTIONS: readonly { label: string; doc: string }[] = [
  { label: '-s', doc: BASE_OPTION_DOCS.s },
  { label: '-d', doc: BASE_OPTION_DOCS.d },
  { label: '-p', doc: BASE_OPTION_DOCS.p },
  { label: '-i', doc: BASE_OPTION_DOCS.i },
  { label: '-o', doc: BASE_OPTION_DOCS.o },
  { label: '-m', doc: '`-m, --match module` — loads a match module; its options follow.' },
  { label: '-j', doc: '`-j, --jump target` — the target: a verdict, a target extension or a user chain (returns here).' },
  { label: '-g', doc: '`-g, --goto chain` — continues in a user chain without returning here.' },
  { label: '!', doc: '`!` — negates the next option.' },
];

/** The words of a line before a column, with where each starts (quotes are kept together). */
function wordsBefore(line: string, column: number): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  const re = /"(?:[^"\\]|\\.)*"?|[^\s"]+(?:"(?:[^"\\]|\\.)*"?)?/g;
  const head = line.slice(0, column);
  let m: RegExpExecArray | null;
  while ((m = re.exec(head)) !== null) out.push({ text: m[0], start: m.index });
  return out;
}

const extensionAllowed = (e: ExtensionSpec, family: Family, table: string | undefined): boolean =>
  (!e.family || e.family === family) && (!table || !e.tables || e.tables.includes(table));

/** Interfaces named anywhere in the file (-i, -o, --physdev-in/out), most used first. */
export function interfacesInFile(model: Model): string[] {
  // Counted while the model was built, so that completion never re-reads every rule.
  return [...model.interfaces].filter(([k]) => k !== '').sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
}

/** The extensions whose options apply at the cursor: loaded modules, the implicit protocol match, the target. */
function activeExtensions(words: readonly string[], family: Family): ExtensionSpec[] {
  const out: ExtensionSpec[] = [];
  let protocol: string | undefined;
  for (let k = 0; k < words.length - 1; k++) {
    const w = words[k];
    const next = words[k + 1];
    if (w === '-m' || w === '--match') {
      const m = MATCH_BY_NAME.get(next);
      if (m) out.push(specForFamily(m, family));
    } else if (w === '-p' || w === '--protocol') {
      protocol = next.toLowerCase();
    } else if (w === '-j' || w === '--jump') {
      const t = TARGET_BY_NAME.get(next);
      if (t) out.push(t);
    }
  }
  // iptables loads the protocol's match implicitly when an unknown option follows `-p tcp`, so
  // its options are valid without `-m tcp`.
  if (protocol) {
    const name = protocol === 'ipv6-icmp' || protocol === 'icmpv6' ? 'icmp6' : protocol;
    const m = MATCH_BY_NAME.get(name);
    if (m && !out.includes(m) && extensionAllowed(m, family, undefined)) out.unshift(m);
  }
  return out;
}

/** Candidates for the options of the active extensions (and the base options). */
function optionCandidates(words: readonly string[], family: Family): CompletionCandidate[] {
  const items: CompletionCandidate[] = [];
  const exts = activeExtensions(words, family);
  const given = new Set(words);
  exts.forEach((e, k) => {
    for (const o of e.options) {
      if (given.has(`--${o.name}`) && !o.multi) continue;
      items.push({ label: `--${o.name}`, kind: 'option', detail: `${e.name}: ${o.doc}`, documentation: describeOption(o, e), rank: 10 + (exts.length - 1 - k) });
    }
  });
  for (const b of BASE_OPTIONS) items.push({ label: b.label, kind: 'option', detail: b.doc.replace(/`/g, ''), documentation: b.doc, rank: 30 });
  return items;
}

/** The spec of the option a value is being typed for, searching the active extensions newest first. */
function optionSpecFor(name: string, words: readonly string[], family: Family): OptionSpec | undefined {
  const exts = activeExtensions(words, family);
  for (let k = exts.length - 1; k >= 0; k--) {
    const o = exts[k].options.find((x) => x.name === name || (x.aliases ?? []).includes(name));
    if (o) return o;
  }
  return undefined;
}

/** User chains (and, for commands, builtin chains) of a table, as candidates. */
function chainCandidates(t: Table | undefined, includeBuiltin: boolean): CompletionCandidate[] {
  if (!t) return [];
  const out: CompletionCandidate[] = [];
  for (const c of t.chains.values()) {
    if (c.builtin && !includeBuiltin) continue;
    out.push({ label: c.name, kind: 'chain', detail: `${c.builtin ? 'builtin chain' : 'chain'}, ${chainDetail(c)}`, rank: c.builtin ? 5 : 6 });
  }
  return out;
}

/** Targets valid for the family and table: verdicts, target extensions, and the table's user chains. */
function targetCandidates(t: Table | undefined, family: Family, gotoOnly: boolean): CompletionCandidate[] {
  const out = chainCandidates(t, false).map((c) => ({ ...c, rank: 1 }));
  if (gotoOnly) return out;
  for (const s of STANDARD_TARGETS) out.push({ label: s, kind: 'target', detail: 'verdict', documentation: STANDARD_TARGET_DOCS[s], rank: s === 'QUEUE' ? 3 : 0 });
  for (const e of TARGETS) {
    if (!extensionAllowed(e, family, t?.name) || e.unavailable) continue;
    out.push({ label: e.name, kind: 'target', detail: e.doc, documentation: describeExtension(e, 'target'), rank: 2 });
  }
  return out;
}

/**
 * The completion candidates at a 0-based position. `lineText` is the whole text of that line.
 */
export function completeAt(model: Model, lineText: string, line: number, character: number): CompletionResult {
  const words = wordsBefore(lineText, character);
  const last = words[words.length - 1];
  // The word being typed is the last one if it touches the cursor; otherwise a new word starts here.
  const typing = last && last.start + last.text.length === character ? last : undefined;
  const replaceStart = typing ? typing.start : character;
  const prev = (typing ? words.slice(0, -1) : words).map((w) => w.text);
  const before = prev[prev.length - 1];
  const table = tableAt(model, line);
  const family = model.family;
  const rule: Rule | undefined = model.ruleByLine.get(line);
  const tableName = table?.name ?? rule?.table.name;

  // At the start of a line: commands, and the line kinds of the restore format.
  if (prev.length === 0 || (prev.length === 1 && /^\[\d*:\d*\]$/.test(prev[0]))) {
    const items: CompletionCandidate[] = COMMANDS.map((c) => ({ label: `-${c}`, kind: 'command', detail: (COMMAND_DOCS[c] ?? '').replace(/`/g, ''), documentation: COMMAND_DOCS[c], rank: c === 'A' ? 0 : 1 }));
    if (replaceStart === 0) {
      for (const t of TABLES) items.push({ label: `*${t}`, kind: 'table', detail: `starts the ${t} table`, rank: 3 });
      items.push({ label: 'COMMIT', kind: 'keyword', detail: 'applies the table', rank: 2 });
      items.push({ label: ':', kind: 'keyword', detail: 'declares a chain: `:NAME POLICY [packets:bytes]`', insertText: ':', rank: 4 });
    }
    return { replaceStart, items };
  }
  if (before !== undefined) {
    if (CHAIN_COMMANDS.has(before)) return { replaceStart, items: chainCandidates(table, before !== '-E' && before !== '--rename-chain' && before !== '-X' && before !== '--delete-chain') };
    if ((prev[prev.length - 2] === '-P' || prev[prev.length - 2] === '--policy') && prev.length >= 2) {
      return { replaceStart, items: ['ACCEPT', 'DROP'].map((p, k) => ({ label: p, kind: 'value' as const, detail: 'policy', rank: k })) };
    }
    if (before === '-m' || before === '--match') {
      const items = MATCHES.filter((m) => extensionAllowed(m, family, tableName) && !m.unavailable).map((m) => ({ label: m.name, kind: 'module' as const, detail: m.doc, documentation: describeExtension(m, 'match'), rank: 1 }));
      return { replaceStart, items };
    }
    if (before === '-j' || before === '--jump') return { replaceStart, items: targetCandidates(table, family, false) };
    if (before === '-g' || before === '--goto') return { replaceStart, items: targetCandidates(table, family, true) };
    if (before === '-p' || before === '--protocol') {
      const seen = new Set<string>();
      const items: CompletionCandidate[] = [];
      COMMON_PROTOCOLS.forEach((p, k) => {
        if (family === 'ipv4' && p === 'ipv6-icmp') return;
        if (family === 'ipv6' && p === 'icmp') return;
        seen.add(p);
        items.push({ label: p, kind: 'value', detail: 'protocol', rank: k });
      });
      for (const name of PROTOCOL_NUMBERS.keys()) if (name === name.toLowerCase() && !seen.has(name)) items.push({ label: name, kind: 'value', detail: `protocol ${PROTOCOL_NUMBERS.get(name)}`, rank: 50 });
      return { replaceStart, items };
    }
    if (['-i', '-o', '--in-interface', '--out-interface', '--physdev-in', '--physdev-out'].includes(before)) {
      return { replaceStart, items: interfacesInFile(model).map((n, k) => ({ label: n, kind: 'interface' as const, detail: 'interface used in this file', rank: k })) };
    }
    if (before.startsWith('--')) {
      const spec = optionSpecFor(before.slice(2), prev, family);
      const params = spec?.args[0]?.params;
      // Choices the kernel refuses in this family (ip6tables' BROADCAST address type) are not offered.
      const choices = params?.choices?.filter((c) => !params.kernelRefuses?.choices.includes(c));
      if (spec && choices) {
        // Lists such as --state NEW,ESTABLISHED: complete the element after the last comma.
        const typed = typing?.text ?? '';
        const comma = typed.lastIndexOf(',');
        const isList = spec.args[0].kind === 'choice-list' || STATE_OPTIONS.has(spec.name);
        const start = isList && comma >= 0 ? replaceStart + comma + 1 : replaceStart;
        const already = new Set(isList ? typed.split(',') : []);
        return { replaceStart: start, items: choices.filter((c) => !already.has(c)).map((c, k) => ({ label: c, kind: 'value' as const, detail: `--${spec.name}`, rank: k })) };
      }
      if (spec && spec.args.length > 0) return { replaceStart, items: [] };
    }
  }
  return { replaceStart, items: optionCandidates(prev, family) };
}
