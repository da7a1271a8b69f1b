/**
 * The core's public entry points. Everything here is pure TypeScript with no editor dependency:
 * the language server, the CLI and the tests all call these functions.
 */
import { parse as parseSyntax, type ParseResult } from './syntax.ts';
import { buildModel, detectFamily, type Model, type ModelObserver } from './model.ts';
import { CommandChecks, validateInParts } from './validate.ts';
import { appendOnlyTables, checkEdit, optionsKey, type IncrementalState } from './incremental.ts';
import { applySeverities, type Diagnostic, type SeverityOverrides } from './diagnostics.ts';
import type { Family } from './extensions/value-kinds.ts';
import { analyse, RuleReader, type AnalysisOptions } from './analysis/analyse.ts';

export type { Diagnostic, Severity, Range, Position, RelatedInfo, SeverityOverrides } from './diagnostics.ts';
export { DIAGNOSTIC_CODES } from './diagnostics.ts';
export type { Model, Table, Chain, Rule, Span } from './model.ts';
export type { Family } from './extensions/value-kinds.ts';
export type { ParseResult, LineNode, Arg } from './syntax.ts';

/** Options for `check`. */
export interface CheckOptions {
  /** Force the address family; otherwise it is detected (first line, file name, addresses). */
  readonly family?: Family;
  /** The file name, used to detect the family (`ip6tables*`, `rules.v6`). */
  readonly fileName?: string;
  /** Severity per diagnostic code; `off` drops the code. */
  readonly severities?: SeverityOverrides;
  /**
   * Runs the rule-set analysis (unreachable, shadowed, redundant rules …) after the validity
   * checks when `true` or an object (which tunes it: budget, entry packets). Off by default here;
   * the CLI turns it on (`--no-analysis` turns it off).
   */
  readonly analyses?: boolean | AnalysisOptions;
  /**
   * With the analysis off, still read the rules for it while the model is built, for an analysis
   * run later (`analysisInput`): the language server publishes validity first and analyses after.
   */
  readonly prepareAnalysis?: boolean;
  /**
   * Keep what the check of a later, edited version may reuse (see `previous`): the language server
   * checks a document again after every edit. It costs memory (the diagnostics by where they come
   * from, and with the analysis prepared, every rule's reading); off unless given.
   */
  readonly incremental?: boolean;
  /**
   * The check of the version before, made with `incremental` and the same options. When the text
   * differs from it in one `-A` line that keeps its chain and target (incremental.ts), the check
   * is made from it instead of from scratch, with the same result. Its model is then updated in
   * place: it must not be used afterwards.
   */
  readonly previous?: CheckResult;
  /** The text's lines (`text.split('\n')`), when the caller has them already (with `incremental`). */
  readonly lines?: readonly string[];
}

/** What a later run of the analysis needs from a check (see `CheckOptions.prepareAnalysis`). */
export interface AnalysisInput {
  /** The rules as read while the model was built; the analysis takes them out as it goes. */
  readonly readings: RuleReader;
  /** Lines with errors: their tables are not analysed. */
  readonly errorLines: ReadonlySet<number>;
}

/** The result of checking one document. */
export interface CheckResult {
  readonly family: Family;
  readonly parsed: ParseResult;
  readonly model: Model;
  /** Validity diagnostics, and the analysis's when it ran. */
  readonly diagnostics: Diagnostic[];
  /** Present when `prepareAnalysis` asked for it and the analysis did not run already. */
  readonly analysisInput?: AnalysisInput;
  /** With `incremental`: what the check of the next version may reuse (incremental.ts). */
  readonly incremental?: IncrementalState;
}

/** Splits a document into lines and arguments; never throws. */
export function parse(text: string): ParseResult {
  return parseSyntax(text);
}

/** Parses, builds the model and runs every validity check. Never throws on user input. */
export function check(text: string, options: CheckOptions = {}): CheckResult {
  const family = detectFamily(text, { override: options.family, fileName: options.fileName });
  const analysing = options.analyses !== undefined && options.analyses !== false;
  const key = options.incremental ? optionsKey(options) : undefined;
  const lines = key !== undefined ? (options.lines ?? text.split('\n')) : undefined;
  const prev = options.previous;
  if (key !== undefined && lines && prev?.incremental) {
    const edited = checkEdit(lines, family, key, prev.model, prev.parsed, prev.incremental, analysing || options.prepareAnalysis === true);
    if (edited) return finish(edited.family, edited.parsed, edited.model, edited.found, edited.state.readings, options, edited.state);
  }
  const parsed = parseSyntax(text);
  const commands = new CommandChecks(family);
  // The analysis reads the rules while the model is built, so that each is interpreted once.
  const readings = analysing || options.prepareAnalysis ? new RuleReader(family, { keep: key !== undefined }) : undefined;
  const model = buildModel(parsed, family, readings ? bothObservers(commands, readings) : commands);
  const { diagnostics: found, parts } = validateInParts(parsed, model, commands, key !== undefined);
  const state: IncrementalState | undefined =
    key !== undefined && lines && parts ? { key, lines, commands, parts, appendOnly: appendOnlyTables(model), readings, fromPrevious: false } : undefined;
  return finish(family, parsed, model, found, readings, options, state);
}

/** The end of a check: the analysis when asked for, and the user's severities. */
function finish(family: Family, parsed: ParseResult, model: Model, found: Diagnostic[], readings: RuleReader | undefined, options: CheckOptions, incremental: IncrementalState | undefined): CheckResult {
  const analysing = options.analyses !== undefined && options.analyses !== false;
  if (analysing) {
    const errorLines = errorLinesOf(found, options.severities);
    const tuned = options.analyses === true ? {} : options.analyses;
    // A loop rather than push(...xs): spreading passes every element as an argument on the stack,
    // which overflows past about 150,000 findings (a dump with that many unreachable rules).
    for (const d of analyse(model, { errorLines, reachability: false, readings, ...tuned }).diagnostics) found.push(d);
    found.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  }
  const diagnostics = applySeverities(found, options.severities);
  return {
    family,
    parsed,
    model,
    diagnostics,
    analysisInput: !analysing && readings ? { readings, errorLines: errorLinesOf(found, options.severities) } : undefined,
    ...(incremental ? { incremental } : {}),
  };
}

/**
 * The lines of diagnostics that are errors with the user's severities (a table holding one is not
 * analysed). A code the user turned down, such as `jump-too-deep` where only the legacy backend
 * is used, does not stop the analysis.
 */
function errorLinesOf(found: readonly Diagnostic[], severities: SeverityOverrides | undefined): Set<number> {
  return new Set(found.filter((d) => (severities?.[d.code] ?? d.severity) === 'error').map((d) => d.range.start.line));
}

/** One observer that tells two others everything, in order. */
function bothObservers(a: ModelObserver, b: ModelObserver): ModelObserver {
  return {
    declared: (t, c) => (a.declared(t, c), b.declared(t, c)),
    command: (t, r, info, text, rest) => (a.command(t, r, info, text, rest), b.command(t, r, info, text, rest)),
    tableEnd: (t) => (a.tableEnd(t), b.tableEnd(t)),
  };
}
export { detectFamily } from './model.ts';
export { analyse, analyseAsync, RuleReader, tableEnd, type AnalysisOptions, type AsyncAnalysisOptions, type AnalysisResult } from './analysis/analyse.ts';
export { LineDiagnostics, lineStarts } from './line-diagnostics.ts';
