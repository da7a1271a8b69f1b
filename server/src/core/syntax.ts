/**
 * Lexer and line parser for the iptables-save / iptables-restore input language.
 *
 * The language is line based: `iptables-restore` reads one line at a time and decides what a
 * line is from its first character (`*` table, `:` chain, `#` comment, `COMMIT`, otherwise a
 * rule whose words are handed to the same option parser as the `iptables` command). We keep that
 * structure: one Chevrotain lexer tokenises the whole text, and one reused Chevrotain parser
 * (error recovery on) groups the tokens into line nodes. The meaning of a rule's words is decided
 * later, by the data-driven rule interpreter, because it depends on which modules are loaded.
 */
import { createToken, Lexer, EmbeddedActionsParser, type IToken, type TokenType } from 'chevrotain';

/** Whether `offset` is the first character of a line; line-start tokens only match there. */
function atLineStart(text: string, offset: number): boolean {
  return offset === 0 || text.charCodeAt(offset - 1) === 10 /* \n */;
}

/** Builds a custom pattern that matches `re` (sticky) only at the start of a line. */
function lineStartPattern(re: RegExp): (text: string, offset: number) => RegExpExecArray | null {
  const sticky = new RegExp(re.source, 'y');
  return (text, offset) => {
    if (!atLineStart(text, offset)) return null;
    sticky.lastIndex = offset;
    return sticky.exec(text);
  };
}

export const Newline = createToken({ name: 'Newline', pattern: /\r?\n/, line_breaks: true });
export const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\f\v]+/, group: Lexer.SKIPPED });
/** A comment: `#` as the first character of a line, as iptables-restore requires. */
export const Comment = createToken({
  name: 'Comment',
  pattern: lineStartPattern(/#[^\r\n]*/),
  start_chars_hint: ['#'],
  line_breaks: false,
});
/** `*table` at the start of a line. */
export const TableHeader = createToken({
  name: 'TableHeader',
  pattern: lineStartPattern(/\*[^\s]*/),
  start_chars_hint: ['*'],
  line_breaks: false,
});
/** `:CHAIN` at the start of a line. */
export const ChainHeader = createToken({
  name: 'ChainHeader',
  pattern: lineStartPattern(/:[^\s]*/),
  start_chars_hint: [':'],
  line_breaks: false,
});
/**
 * An argument, split as iptables-restore splits a line into argv: a run of non-blank characters,
 * or a double-quoted segment (blanks and backslash escapes inside); a closing quote ends the
 * argument, so `a"b c"d` is the two arguments `ab c` and `d`.
 */
/** Category of the two argument tokens, so that the grammar consumes either without an OR. */
export const AnyArg = createToken({ name: 'AnyArg', pattern: Lexer.NA });
export const Word = createToken({ name: 'Word', categories: [AnyArg], pattern: /[^\s"]+(?:"(?:[^"\\\r\n]|\\[^\r\n])*")?|"(?:[^"\\\r\n]|\\[^\r\n])*"/ });
/** An argument whose double quote is never closed: iptables takes the rest of the line into it. */
export const UnterminatedWord = createToken({
  name: 'UnterminatedWord',
  categories: [AnyArg],
  pattern: /[^\s"]*"(?:[^"\\\r\n]|\\[^\r\n])*\\?(?![^\r\n])/,
});

const allTokens: TokenType[] = [Newline, Whitespace, Comment, TableHeader, ChainHeader, UnterminatedWord, Word, AnyArg];

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

/** The kinds of line in an iptables-restore file. */
export type LineNode =
  | { kind: 'blank'; line: number }
  | { kind: 'comment'; line: number; text: string; start: number; end: number }
  | { kind: 'table'; line: number; header: Arg; rest: Arg[] }
  | { kind: 'chain'; line: number; header: Arg; rest: Arg[] }
  | { kind: 'commit'; line: number; keyword: Arg; rest: Arg[] }
  | { kind: 'rule'; line: number; args: Arg[] };

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
 * Decodes one argument the way iptables-restore does: a double quote toggles quoting, inside
 * quotes a backslash escapes the next character, and outside quotes a backslash is literal.
 */
export function decodeArg(raw: string): string {
  if (raw.indexOf('"') < 0) return raw;
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quoted && c === '\\' && i + 1 < raw.length) {
      out += raw[++i];
    } else if (c === '"') {
      quoted = !quoted;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Line/column lookup for token offsets. The lexer only tracks offsets (full position tracking
 * costs a third of the lexing time); tokens are converted in order, so a cursor over the line
 * start offsets advances monotonically and each lookup is O(1) amortised.
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

/** Positions of the text being parsed; set by `parse` before the parser runs. */
let positions = new Positions('');

function toArg(tok: IToken): Arg {
  const raw = tok.image;
  const line = positions.line(tok.startOffset);
  const start = positions.column(tok.startOffset);
  return {
    value: raw.indexOf('"') < 0 ? raw : decodeArg(raw),
    raw,
    line,
    start,
    end: start + raw.length,
    unterminated: tok.tokenType === UnterminatedWord,
  };
}

const lineOf = (tok: IToken): number => positions.line(tok.startOffset);

/**
 * The line parser. The grammar is deliberately flat (a line is a head token and arguments up to
 * the newline) because iptables-restore itself gives words meaning only through its option parser.
 */
class LineParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true, skipValidations: true });
    this.performSelfAnalysis();
  }

  /** file := line* */
  public file = this.RULE('file', (): LineNode[] => {
    const lines: LineNode[] = [];
    this.MANY(() => {
      const node = this.SUBRULE(this.line);
      if (node) lines.push(node);
    });
    return lines;
  });

  private line = this.RULE('line', (): LineNode | undefined => {
    return this.OR([
      { ALT: () => {
          const nl = this.CONSUME(Newline);
          return this.ACTION((): LineNode => ({ kind: 'blank', line: lineOf(nl) }));
        } },
      { ALT: () => {
          const c = this.CONSUME(Comment);
          this.OPTION(() => this.CONSUME2(Newline));
          return this.ACTION((): LineNode => {
            const start = positions.column(c.startOffset);
            return { kind: 'comment', line: lineOf(c), text: c.image, start, end: start + c.image.length };
          });
        } },
      { ALT: () => {
          const h = this.CONSUME(TableHeader);
          const rest = this.SUBRULE(this.args);
          return this.ACTION((): LineNode => ({ kind: 'table', line: lineOf(h), header: toArg(h), rest }));
        } },
      { ALT: () => {
          const h = this.CONSUME(ChainHeader);
          const rest = this.SUBRULE2(this.args);
          return this.ACTION((): LineNode => ({ kind: 'chain', line: lineOf(h), header: toArg(h), rest }));
        } },
      { ALT: () => {
          const first = this.CONSUME(AnyArg);
          const rest = this.SUBRULE3(this.args);
          return this.ACTION((): LineNode => {
            const head = toArg(first);
            const line = head.line;
            if (head.raw === 'COMMIT' && head.start === 0) return { kind: 'commit', line, keyword: head, rest };
            return { kind: 'rule', line, args: [head, ...rest] };
          });
        } },
    ]);
  });

  /** args := (Word | UnterminatedWord | line-start token out of place)* Newline? */
  private args = this.RULE('args', (): Arg[] => {
    const out: Arg[] = [];
    this.MANY(() => {
      const t = this.CONSUME(AnyArg);
      this.ACTION(() => out.push(toArg(t)));
    });
    this.OPTION(() => this.CONSUME(Newline));
    return out;
  });
}

/** The one parser instance, reused for every document (Chevrotain parsers are reusable). */
const parser = new LineParser();

/**
 * Splits `text` into line nodes. Never throws on user input: lexer and parser problems become
 * entries of `errors` on the line where they occur.
 */
export function parse(text: string): ParseResult {
  const errors: SyntaxProblem[] = [];
  const lexed = lexer.tokenize(text);
  positions = new Positions(text);
  for (const e of lexed.errors) {
    const line = positions.line(e.offset);
    const start = positions.column(e.offset);
    errors.push({ line, start, end: start + Math.max(1, e.length), message: `unexpected character '${text.substr(e.offset, 1)}'` });
  }
  parser.input = lexed.tokens;
  let lines: LineNode[] = [];
  try {
    lines = parser.file();
  } catch (err) {
    // The parser recovers from every error we know of; this guard keeps the promise that parsing
    // never throws even if Chevrotain meets a case it cannot recover from.
    errors.push({ line: 0, start: 0, end: 1, message: `internal parser error: ${(err as Error).message}` });
  }
  for (const e of parser.errors) {
    const tok = e.token;
    const line = Number.isNaN(tok.startOffset) ? 0 : positions.line(tok.startOffset);
    const start = Number.isNaN(tok.startOffset) ? 0 : positions.column(tok.startOffset);
    errors.push({ line: Number.isNaN(line) ? 0 : line, start: Number.isNaN(start) ? 0 : start, end: (Number.isNaN(start) ? 0 : start) + Math.max(1, tok.image.length), message: e.message });
  }
  const lineCount = checkRawLines(text, errors);
  return { lines, errors, lineCount };
}

/** iptables-restore reads lines with fgets into a buffer of this many characters. */
const MAX_LINE = 10239;

/**
 * Checks what only the raw text shows (the tokens hide blanks and carriage returns): CRLF line
 * endings, lines of only blanks, over-long lines, blanks around COMMIT and a final COMMIT without
 * newline. Returns the number of lines.
 */
function checkRawLines(text: string, errors: SyntaxProblem[]): number {
  let line = 0;
  let crReported = false;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    const last = nl < 0;
    if (last) nl = text.length;
    if (last && pos === text.length && pos > 0) break;
    const raw = text.slice(pos, nl);
    const hasCr = raw.endsWith('\r');
    const body = hasCr ? raw.slice(0, -1) : raw;
    if (hasCr && !crReported) {
      crReported = true;
      errors.push({ line, start: body.length, end: body.length + 1, code: 'crlf-line-endings', message: 'this line ends with a carriage return (Windows line endings): iptables-restore reads it as part of the last word; convert the file to LF line endings' });
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
