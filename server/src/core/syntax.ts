/**
 * Lexer and line parser for the iptables-save / iptables-restore input language.
 *
 * The language is line based: `iptables-restore` reads one line at a time and decides what a
 * line is from its first character (`*` table, `:` chain, `#` comment, `COMMIT`, otherwise a
 * rule whose words are handed to the same option parser as the `iptables` command). We keep that
 * structure: one Chevrotain lexer classifies the lines, one reused Chevrotain parser (error
 * recovery on) builds the line nodes, and `splitArgs` splits a line into words with
 * iptables-restore's quoting rules. The meaning of a rule's words is decided
 * later, by the data-driven rule interpreter, because it depends on which modules are loaded.
 */
import { createToken, Lexer, EmbeddedActionsParser, type IToken, type TokenType } from 'chevrotain';

/*
 * Every token is a whole line including its line break, classified by its first characters
 * exactly as iptables-restore does: `#` comment, `*` table, `:` chain, `COMMIT`, else a rule (or
 * a blank line). Because every token starts at the beginning of a line, the patterns need no
 * look-behind (only the rule line's is a function, for speed), and the lexer produces one token per line instead of one per word (or two, with a
 * separate line-break token), which keeps large dumps (100k+ lines) fast and small in memory.
 * Words are split afterwards by `splitArgs`, and for rule lines only when they are asked for.
 */
/*
 * A line's content: anything but a line feed, and a carriage return only where no line feed
 * follows it (iptables-restore reads lines with fgets, so a lone carriage return is part of a word;
 * the one of a CRLF ending is kept out of the content so that CRLF files still split into lines).
 * Written so that lines without a carriage return take the fast path of one character class.
 */
/** A comment: `#` as the first character of a line. */
export const CommentLine = createToken({ name: 'CommentLine', pattern: /#[^\r\n]*(?:\r(?!\n)[^\r\n]*)*(?:\r?\n)?/, line_breaks: true });
/** `*table`. */
export const TableLine = createToken({ name: 'TableLine', pattern: /\*[^\r\n]*(?:\r(?!\n)[^\r\n]*)*(?:\r?\n)?/, line_breaks: true });
/** `:CHAIN POLICY [packets:bytes]`. */
export const ChainLine = createToken({ name: 'ChainLine', pattern: /:[^\r\n]*(?:\r(?!\n)[^\r\n]*)*(?:\r?\n)?/, line_breaks: true });
/** `COMMIT`, possibly followed by words (which are an error). */
export const CommitLine = createToken({ name: 'CommitLine', pattern: /COMMIT(?![^ \t\r\n])[^\r\n]*(?:\r(?!\n)[^\r\n]*)*(?:\r?\n)?/, line_breaks: true });
/**
 * A rule line: everything up to and including the next line feed (a carriage return before it,
 * lone or of a CRLF ending, belongs to the line as above), or the rest of a text that does not end
 * in a line feed. The same match as the regular expression
 * `[^\r\n]*(?:\r(?!\n)[^\r\n]*)*\r?\n|(?=[^\n])[^\r\n]*(?:\r(?!\n)[^\r\n]*)*`, found by searching
 * for the line feed, which is six times faster: most lines of a dump are rules.
 */
export function matchRuleLine(text: string, offset: number): [string] | null {
  if (offset >= text.length) return null;
  const lf = text.indexOf('\n', offset);
  return [text.slice(offset, lf < 0 ? text.length : lf + 1)];
}
/** Anything else: a rule or command line (also lines with leading blanks), or a blank line. */
export const RuleLine = createToken({ name: 'RuleLine', pattern: { exec: matchRuleLine }, line_breaks: true });

const allTokens: TokenType[] = [CommentLine, TableLine, ChainLine, CommitLine, RuleLine];

const lexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: false,
  skipValidations: true,
});

/** One argument of a line, with its decoded value and its source range (0-based, columns). */
export interface Arg {
  /** The argument as iptables sees it: quotes removed, escapes resolved. */
  readonly value: string;
  /** The raw source text of the argument. */
  readonly raw: string;
  readonly line: number;
  readonly start: number;
  readonly end: number;
  /** True when a double quote was left open. */
  readonly unterminated: boolean;
}

/**
 * A rule or command line. Its words are not kept: a 100k-line dump would hold millions of small
 * objects for the whole life of the document. `args` splits the line again on each access (about
 * a microsecond for a typical rule), so callers that need the words more than once keep the array.
 */
export class RuleLineNode {
  /** The node kind, on the prototype rather than in every node. */
  get kind(): 'rule' {
    return 'rule';
  }

  constructor(
    /** The whole text the line belongs to. */
    private readonly source: string,
    readonly line: number,
    /** Offset of the line's first character in `source`. */
    readonly offset: number,
    /** Offset just after the line's last character (before the line break). */
    readonly endOffset: number,
  ) {}

  /** The line's text, without its line break. */
  get text(): string {
    return this.source.slice(this.offset, this.endOffset);
  }

  /** The line's words, split as iptables-restore splits them (a new array on every access). */
  get args(): Arg[] {
    // Read from the whole text rather than a slice of the line: characters of a slice cost an
    // indirection each, and this runs over every character of every rule.
    return splitArgs(this.source, this.line, -this.offset, this.offset, this.endOffset);
  }
}

/**
 * A string with the characters of `s` that refers to no longer string. V8 makes a slice of a
 * string (what `split` and `slice` return) a view of it, which keeps all of it in memory: a line
 * kept from one version of a document to the next would keep that version's whole text. The
 * concatenation below is flattened into a string of its own before it is sliced. (V8 copies
 * slices shorter than 13 characters anyway.)
 */
export function detached(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** The kinds of line in an iptables-restore file. */
export type LineNode =
  | { kind: 'blank'; line: number }
  | { kind: 'comment'; line: number; text: string; start: number; end: number }
  | { kind: 'table'; line: number; header: Arg; rest: Arg[] }
  | { kind: 'chain'; line: number; header: Arg; rest: Arg[] }
  | { kind: 'commit'; line: number; keyword: Arg; rest: Arg[] }
  | RuleLineNode;

/** A syntax problem found while splitting the text into lines and arguments. */
export interface SyntaxProblem {
  readonly line: number;
  readonly start: number;
  readonly end: number;
  readonly message: string;
  /** Diagnostic code; `syntax-error` when absent. */
  readonly code?: string;
}

/** The result of `parse`: every line of the text in order, plus the syntax problems. */
export interface ParseResult {
  readonly lines: LineNode[];
  readonly errors: SyntaxProblem[];
  /** Number of lines in the text (a final line without newline counts). */
  readonly lineCount: number;
}

/**
 * Splits one line into arguments exactly as iptables-restore builds its argv: blanks (space, tab)
 * separate words; a double quote opens a quoted segment in which blanks are kept and a backslash
 * escapes the next character; the closing quote ends the word (`a"b c"d` is `ab c` and `d`); an
 * unclosed quote runs to the end of the line. Outside quotes a backslash is an ordinary character.
 * `column` is the column of `text[0]` on its line; only `text[from]` up to `text[to]` (excluded) is split.
 */
export function splitArgs(text: string, line: number, column = 0, from = 0, to = text.length): Arg[] {
  const out: Arg[] = [];
  const n = to;
  let i = from;
  while (i < n) {
    const c0 = text.charCodeAt(i);
    if (c0 === 32 || c0 === 9) {
      i++;
      continue;
    }
    const start = i;
    let value: string | undefined;
    let unterminated = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9) break;
      if (c === 34 /* " */) {
        value = text.slice(start, i);
        i++;
        let closed = false;
        // Copy runs of plain characters with one slice each: building the value one character at
        // a time made a string per character, the main cost of splitting commented dumps.
        let run = i;
        while (i < n) {
          const q = text.charCodeAt(i);
          if (q === 92 /* \ */) {
            value += text.slice(run, i);
            if (i + 1 < n) value += text[i + 1];
            i += 2;
            run = i;
            continue;
          }
          if (q === 34) {
            value += text.slice(run, i);
            closed = true;
            i++;
            break;
          }
          i++;
        }
        if (!closed) value += text.slice(run, Math.min(i, n));
        if (i > n) i = n;
        unterminated = !closed;
        // The closing quote ends the word, as in iptables' add_param_to_argv.
        break;
      }
      i++;
    }
    const raw = text.slice(start, i);
    out.push({ value: value ?? raw, raw, line, start: column + start, end: column + i, unterminated });
  }
  return out;
}

/** Decodes one argument's raw text (used by editor features that rebuild words). */
export function decodeArg(raw: string): string {
  const args = splitArgs(raw, 0);
  return args.length === 1 ? args[0].value : raw;
}

/**
 * Line lookup for token offsets. The lexer only tracks offsets (full position tracking costs a
 * third of the lexing time); tokens are converted in order, so a cursor over the line start
 * offsets advances monotonically and each lookup is O(1) amortised.
 */
class Positions {
  private readonly starts: number[] = [0];
  private cursor = 0;
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  /** The 0-based line of an offset. */
  line(offset: number): number {
    const s = this.starts;
    if (offset < s[this.cursor]) this.cursor = 0;
    while (this.cursor + 1 < s.length && s[this.cursor + 1] <= offset) this.cursor++;
    return this.cursor;
  }
  /** The 0-based column of an offset on its line. */
  column(offset: number): number {
    return offset - this.starts[this.line(offset)];
  }
}

/** What the parser's actions need while it runs; set by `parse`. */
let source = '';
/** Offset in `source` of the chunk being parsed (token offsets are relative to it). */
let chunkBase = 0;
let positions = new Positions('');

/** The length of a line token's content: its image without the line break. */
function contentLength(image: string): number {
  let n = image.length;
  if (n > 0 && image.charCodeAt(n - 1) === 10) {
    n--;
    if (n > 0 && image.charCodeAt(n - 1) === 13) n--;
  }
  return n;
}

/** Whether `source[from, to)` holds only blanks (space, tab): a line without words. */
function onlyBlanks(from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = source.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/**
 * A copy of a word that is kept for the life of the document. The copy is made at an allocation
 * site of its own on purpose: V8 moves an allocation site to the old generation ("pretenuring")
 * once most of its objects survive, and if the words of the kept header lines came from
 * `splitArgs` directly, every transient word of every rule line would then be allocated in the
 * old generation too (measured: a third more time and memory on a 130k-line dump).
 */
function kept(a: Arg): Arg {
  return { value: a.value, raw: a.raw, line: a.line, start: a.start, end: a.end, unterminated: a.unterminated };
}

/** Splits a header line (`*table`, `:chain`, COMMIT) into its first word and the rest. */
function headerAndRest(image: string, line: number): [Arg, Arg[]] {
  const words = splitArgs(image.slice(0, contentLength(image)), line);
  const rest: Arg[] = [];
  for (let k = 1; k < words.length; k++) rest.push(kept(words[k]));
  return [kept(words[0]), rest];
}

/**
 * The line parser. The grammar is deliberately flat (a file is a sequence of lines, each one
 * token) because iptables-restore itself decides a line's meaning from its first characters and
 * gives words meaning only through its option parser (see rule.ts).
 */
class LineParser extends EmbeddedActionsParser {
  /** The nodes built by the current run. */
  private nodes: LineNode[] = [];

  constructor() {
    super(allTokens, { recoveryEnabled: true, skipValidations: true });
    this.performSelfAnalysis();
  }

  /** Runs the parser over the current input, appending the nodes to `out`. */
  run(out: LineNode[]): void {
    this.nodes = out;
    try {
      this.file();
    } finally {
      this.nodes = [];
    }
  }

  /**
   * The alternatives of a line, built once: an array literal inside the rule would allocate five
   * objects and five closures for every line of the file, and an ACTION closure more (Chevrotain's
   * advice is to cache alternatives). `RECORDING_PHASE` stands for ACTION: nothing is built while
   * Chevrotain records the grammar.
   */
  private readonly lineAlternatives = [
    { ALT: (): void => { const t = this.CONSUME(CommentLine); if (!this.RECORDING_PHASE) this.comment(t); } },
    { ALT: (): void => { const t = this.CONSUME(TableLine); if (!this.RECORDING_PHASE) this.table(t); } },
    { ALT: (): void => { const t = this.CONSUME(ChainLine); if (!this.RECORDING_PHASE) this.chain(t); } },
    { ALT: (): void => { const t = this.CONSUME(CommitLine); if (!this.RECORDING_PHASE) this.commit(t); } },
    { ALT: (): void => { const t = this.CONSUME(RuleLine); if (!this.RECORDING_PHASE) this.rule(t); } },
  ];

  /** file := (CommentLine | TableLine | ChainLine | CommitLine | RuleLine)* */
  private file = this.RULE('file', (): void => {
    this.MANY(() => {
      this.OR(this.lineAlternatives);
    });
  });

  private comment(t: IToken): void {
    const end = contentLength(t.image);
    this.nodes.push({ kind: 'comment', line: positions.line(chunkBase + t.startOffset), text: t.image.slice(0, end), start: 0, end });
  }

  private table(t: IToken): void {
    const [first, words] = headerAndRest(t.image, positions.line(chunkBase + t.startOffset));
    // iptables-restore reads the table name with strtok, which skips blanks: `* filter`
    // is the filter table. The header then spans both words, named as one.
    const next = first.value === '*' ? words[0] : undefined;
    const header = next ? { ...first, value: `*${next.value}`, raw: t.image.slice(first.start, next.end), end: next.end } : first;
    const rest = next ? words.slice(1) : words;
    this.nodes.push({ kind: 'table', line: header.line, header, rest });
  }

  private chain(t: IToken): void {
    const [header, rest] = headerAndRest(t.image, positions.line(chunkBase + t.startOffset));
    this.nodes.push({ kind: 'chain', line: header.line, header, rest });
  }

  private commit(t: IToken): void {
    const [keyword, rest] = headerAndRest(t.image, positions.line(chunkBase + t.startOffset));
    this.nodes.push({ kind: 'commit', line: keyword.line, keyword, rest });
  }

  private rule(t: IToken): void {
    const offset = chunkBase + t.startOffset;
    const line = positions.line(offset);
    const end = offset + contentLength(t.image);
    // A line of only blanks has no words; the raw-line check reports it.
    this.nodes.push(onlyBlanks(offset, end) ? { kind: 'blank', line } : new RuleLineNode(source, line, offset, end));
  }
}

/** The one parser instance, reused for every document (Chevrotain parsers are reusable). */
const parser = new LineParser();

/**
 * Splits `text` into line nodes. Never throws on user input: lexer and parser problems become
 * entries of `errors` on the line where they occur.
 */
export function parse(text: string): ParseResult {
  const errors: SyntaxProblem[] = [];
  const lines: LineNode[] = [];
  source = text;
  positions = new Positions(text);
  try {
    // The text is lexed and parsed in chunks of whole lines. The grammar is a flat sequence of
    // lines, so this changes no result, but the tokens of a chunk are garbage as soon as it is
    // parsed: tokens of the whole text would live through all of the parsing, get promoted to
    // V8's old generation, and raise the peak memory of a big dump by a tenth of its size.
    for (let base = 0; base < text.length; ) {
      let stop = text.indexOf('\n', Math.min(text.length, base + CHUNK));
      stop = stop < 0 ? text.length : stop + 1;
      parseChunk(text, base, stop, lines, errors);
      base = stop;
    }
  } finally {
    // Let go of the text: the parser instance outlives this document.
    parser.input = [];
    source = '';
    chunkBase = 0;
    positions = new Positions('');
  }
  const lineCount = checkRawLines(text, errors);
  return { lines, errors, lineCount };
}

/** About how many characters are lexed at a time (a chunk ends at the next line break). */
const CHUNK = 1 << 18;

/** Lexes and parses `text[from, to)`, appending its nodes and problems. */
function parseChunk(text: string, from: number, to: number, lines: LineNode[], errors: SyntaxProblem[]): void {
  const lexed = lexer.tokenize(from === 0 && to === text.length ? text : text.slice(from, to));
  chunkBase = from;
  for (const e of lexed.errors) {
    const offset = from + e.offset;
    const line = positions.line(offset);
    const start = positions.column(offset);
    errors.push({ line, start, end: start + Math.max(1, e.length), message: `unexpected character '${text.substr(offset, 1)}'` });
  }
  parser.input = lexed.tokens;
  try {
    parser.run(lines);
  } catch (err) {
    // The parser recovers from every error we know of; this guard keeps the promise that parsing
    // never throws even if Chevrotain meets a case it cannot recover from.
    errors.push({ line: positions.line(from), start: 0, end: 1, message: `internal parser error: ${(err as Error).message}` });
  }
  for (const e of parser.errors) {
    const tok = e.token;
    const offset = Number.isNaN(tok.startOffset) ? from : from + tok.startOffset;
    const line = positions.line(offset);
    const start = positions.column(offset);
    errors.push({ line, start, end: start + Math.max(1, tok.image.length), message: e.message });
  }
  parser.input = [];
}

/** iptables-restore reads lines with fgets into a buffer of this many characters. */
export const MAX_LINE = 10239;

/**
 * Checks what only the raw text shows (the tokens hide blanks and carriage returns): a byte-order
 * mark, CRLF line endings, lines of only blanks, over-long lines, blanks around COMMIT and a final
 * COMMIT without newline. Returns the number of lines.
 */
function checkRawLines(text: string, errors: SyntaxProblem[]): number {
  let line = 0;
  let crReported = false;
  let pos = 0;
  let nextCr = text.indexOf('\r');
  // Editors on Windows may save UTF-8 with a byte-order mark; iptables-restore takes it for part of
  // the first word, and the errors that follow from that alone would not say why.
  if (text.charCodeAt(0) === 0xfeff) {
    errors.push({ line: 0, start: 0, end: 1, code: 'byte-order-mark', message: 'the file starts with a byte-order mark (U+FEFF, written by some Windows editors): iptables-restore reads it as part of the first word and refuses the line; save the file without it' });
  }
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    const last = nl < 0;
    if (last) nl = text.length;
    if (last && pos === text.length && pos > 0) break;
    // The line's text is only sliced for the rare lines that need a closer look (blank first
    // character, COMMIT, carriage return, over-long): this loop sees every line of the file.
    const hasCr = nl > pos && text.charCodeAt(nl - 1) === 13;
    const first = text.charCodeAt(pos);
    // A carriage return before the line's end: the next one in the text is searched for only once
    // the last one found lies behind, so the whole file is searched once.
    if (nextCr >= 0 && nextCr < pos) nextCr = text.indexOf('\r', pos);
    const hasInnerCr = nextCr >= 0 && nextCr < (hasCr ? nl - 1 : nl);
    const needsText = hasCr || hasInnerCr || first === 32 || first === 9 || first === 12 || first === 11 || first === 67 /* C */ || nl - pos > MAX_LINE;
    if (!needsText) {
      line++;
      if (last) break;
      pos = nl + 1;
      continue;
    }
    const raw = text.slice(pos, nl);
    const body = hasCr ? raw.slice(0, -1) : raw;
    if (hasCr && !crReported) {
      crReported = true;
      errors.push({ line, start: body.length, end: body.length + 1, code: 'crlf-line-endings', message: 'this line ends with a carriage return (Windows line endings): iptables-restore reads it as part of the last word; convert the file to LF line endings' });
    }
    if (hasInnerCr) {
      const at = nextCr - pos;
      errors.push({ line, start: at, end: at + 1, code: 'carriage-return', message: 'a carriage return (\\r) inside the line (old Mac or mixed line endings?): iptables-restore keeps it as part of the word, which it then refuses unless the word is free text such as a comment' });
    }
    if (body.length > 0 && /^[ \t\f\v]+$/.test(body)) {
      errors.push({ line, start: 0, end: body.length, code: 'missing-command', message: 'a line of only blanks is read as a rule without a command (no command specified): delete the blanks' });
    }
    if (raw.length > MAX_LINE) {
      errors.push({ line, start: MAX_LINE, end: raw.length, code: 'line-too-long', message: `line of ${raw.length} characters: iptables-restore reads at most ${MAX_LINE} and parses the rest as a new line` });
    }
    if (body !== 'COMMIT' && body.trim() === 'COMMIT' && body.startsWith('COMMIT')) {
      errors.push({ line, start: 6, end: body.length, code: 'syntax-error', message: "blanks after COMMIT: iptables-restore only accepts a line that is exactly 'COMMIT'" });
    }
    if (last && body === 'COMMIT') {
      errors.push({ line, start: 0, end: 6, code: 'missing-final-newline', message: 'the final COMMIT has no newline after it: iptables-legacy-restore rejects it (Bad argument `COMMIT\'); end the file with a newline' });
    }
    line++;
    if (last) break;
    pos = nl + 1;
  }
  return Math.max(1, line);
}
