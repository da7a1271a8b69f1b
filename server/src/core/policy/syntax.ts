/**
 * Lexer and parser of the `neutron-policy` language. The grammar is generic (a file is a sequence
 * of `kind [name] { statement… }` blocks, a statement is a line of words); the meaning of block
 * kinds and statements is given by model.ts, which also reports unknown ones. One Chevrotain
 * lexer and one reused parser instance with error recovery; parsing never throws.
 */
import { createToken, Lexer, EmbeddedActionsParser, type IToken } from 'chevrotain';
import type { Range } from '../diagnostics.ts';

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\f\v]+/, group: Lexer.SKIPPED });
const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: Lexer.SKIPPED });
const Newline = createToken({ name: 'Newline', pattern: /\r?\n|\r/, line_breaks: true });
const LCurly = createToken({ name: 'LCurly', pattern: /\{/ });
const RCurly = createToken({ name: 'RCurly', pattern: /\}/ });
const Comma = createToken({ name: 'Comma', pattern: /,/ });
const Word = createToken({ name: 'Word', pattern: /[^\s{},#]+/ });

const allTokens = [WhiteSpace, Comment, Newline, LCurly, RCurly, Comma, Word];
const policyLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });

/** One word of a statement or block header, with its source range. */
export interface WordNode {
  readonly text: string;
  readonly range: Range;
}

/** One statement: the words of one line inside a block (commas are separators and dropped). */
export interface StatementNode {
  readonly words: readonly WordNode[];
  readonly range: Range;
}

/** One block `kind [name] { … }`. */
export interface BlockNode {
  readonly kind: WordNode;
  readonly name?: WordNode;
  /** Extra words between the name and `{`. */
  readonly extra: readonly WordNode[];
  readonly statements: readonly StatementNode[];
  /** The whole block, from its kind to its closing brace (or the last token read). */
  readonly range: Range;
  /** The block header (kind and name). */
  readonly headerRange: Range;
}

/** A syntax problem found by the lexer or the parser. */
export interface PolicySyntaxError {
  readonly range: Range;
  readonly message: string;
}

/** The result of parsing a policy file. */
export interface PolicySyntax {
  readonly blocks: readonly BlockNode[];
  readonly errors: readonly PolicySyntaxError[];
}

function tokenRange(t: IToken): Range {
  const line = (t.startLine ?? 1) - 1;
  const character = (t.startColumn ?? 1) - 1;
  const endLine = (t.endLine ?? t.startLine ?? 1) - 1;
  const endChar = t.endColumn ?? character + t.image.length;
  return { start: { line, character }, end: { line: endLine, character: endChar } };
}

function span(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

function word(t: IToken): WordNode {
  return { text: t.image, range: tokenRange(t) };
}

/** The parser; one instance is reused for every document. */
class PolicyParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { recoveryEnabled: true });
    this.performSelfAnalysis();
  }

  /** Blocks read so far; kept outside the rule's result so that a failed parse keeps them. */
  public blocks: BlockNode[] = [];
  /** Header ranges of blocks whose closing brace is missing. */
  public unclosed: Range[] = [];

  /** file := (Newline | block)* */
  public file = this.RULE('file', (): BlockNode[] => {
    const blocks = this.blocks;
    this.MANY(() => {
      this.OR([
        { ALT: () => { this.CONSUME(Newline); } },
        { ALT: () => {
            const b = this.SUBRULE(this.block);
            this.ACTION(() => {
              if (b) blocks.push(b);
            });
          } },
      ]);
    });
    return blocks;
  });

  /** block := Word Word* '{' (Newline | statement)* '}' */
  private block = this.RULE('block', (): BlockNode | undefined => {
    const kind = this.CONSUME(Word);
    const names: IToken[] = [];
    this.MANY(() => {
      const n = this.CONSUME2(Word);
      this.ACTION(() => names.push(n));
    });
    this.CONSUME(LCurly);
    const statements: StatementNode[] = [];
    this.MANY2(() => {
      this.OR([
        { ALT: () => { this.CONSUME2(Newline); } },
        { ALT: () => {
            const s = this.SUBRULE(this.statement);
            this.ACTION(() => {
              if (s) statements.push(s);
            });
          } },
      ]);
    });
    let close: IToken | undefined;
    this.OPTION(() => {
      close = this.CONSUME(RCurly);
    });
    return this.ACTION((): BlockNode | undefined => {
      if (!kind || kind.image === undefined || Number.isNaN(kind.startOffset)) return undefined;
      const kindNode = word(kind);
      const valid = names.filter((n) => n.image !== undefined && !Number.isNaN(n.startOffset));
      const first = valid[0];
      const header = first ? span(kindNode.range, tokenRange(valid[valid.length - 1] as IToken)) : kindNode.range;
      const lastStatement = statements[statements.length - 1];
      const endRange = close && !Number.isNaN(close.startOffset) ? tokenRange(close) : lastStatement ? lastStatement.range : header;
      if (!close || Number.isNaN(close.startOffset)) this.unclosed.push(header);
      const node: BlockNode = {
        kind: kindNode,
        ...(first ? { name: word(first) } : {}),
        extra: valid.slice(1).map(word),
        statements,
        range: span(kindNode.range, endRange),
        headerRange: header,
      };
      return node;
    });
  });

  /** statement := (Word | ',')+ — ends at a newline or at the block's closing brace. */
  private statement = this.RULE('statement', (): StatementNode | undefined => {
    const words: IToken[] = [];
    this.AT_LEAST_ONE(() => {
      this.OR([
        { ALT: () => {
            const w = this.CONSUME(Word);
            this.ACTION(() => words.push(w));
          } },
        { ALT: () => { this.CONSUME(Comma); } },
      ]);
    });
    return this.ACTION((): StatementNode | undefined => {
      const valid = words.filter((w) => w.image !== undefined && !Number.isNaN(w.startOffset));
      if (valid.length === 0) return undefined;
      const nodes = valid.map(word);
      return { words: nodes, range: span((nodes[0] as WordNode).range, (nodes[nodes.length - 1] as WordNode).range) };
    });
  });
}

let parserInstance: PolicyParser | undefined;

/** Splits a policy document into blocks and statements; never throws. */
export function parsePolicySyntax(text: string): PolicySyntax {
  const errors: PolicySyntaxError[] = [];
  const lexed = policyLexer.tokenize(text);
  for (const e of lexed.errors) {
    const line = (e.line ?? 1) - 1;
    const character = (e.column ?? 1) - 1;
    errors.push({ range: { start: { line, character }, end: { line, character: character + Math.max(1, e.length) } }, message: `unexpected character '${text.substr(e.offset, e.length)}'` });
  }
  parserInstance ??= new PolicyParser();
  const parser = parserInstance;
  parser.blocks = [];
  parser.unclosed = [];
  parser.input = lexed.tokens;
  try {
    parser.file();
  } catch (e) {
    errors.push({ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, message: `the parser stopped: ${(e as Error).message}` });
  }
  const blocks = parser.blocks;
  for (const r of parser.unclosed) errors.push({ range: r, message: 'the block is not closed by `}`' });
  for (const e of parser.errors) {
    const t = e.token;
    let range: Range;
    if (t && !Number.isNaN(t.startOffset) && t.tokenType !== undefined && t.image !== '') range = tokenRange(t);
    else {
      const last = lexed.tokens[lexed.tokens.length - 1];
      range = last ? { start: tokenRange(last).end, end: tokenRange(last).end } : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    }
    errors.push({ range, message: describeParserError(e.message, t) });
  }
  return { blocks, errors };
}

function describeParserError(message: string, t: IToken | undefined): string {
  if (!t || t.image === '' || Number.isNaN(t.startOffset)) return 'unexpected end of file: a block is not closed by `}`';
  if (t.image === '{') return "unexpected '{': a block header is `kind name {` and blocks cannot be nested";
  if (t.image === '}') return "unexpected '}' without a block to close";
  if (/Expecting.*LCurly/.test(message)) return `expected '{' after the block header, found '${t.image.replace(/\r?\n/, '\\n')}'`;
  return `unexpected '${t.image.replace(/\r?\n/, '\\n')}'`;
}
