/**
 * The core's public entry points. Everything here is pure TypeScript with no editor dependency:
 * the language server, the CLI and the tests all call these functions.
 */
import { parse as parseSyntax, type ParseResult } from './syntax.ts';
import { buildModel, detectFamily, type Model } from './model.ts';
import { CommandChecks, validate } from './validate.ts';
import { applySeverities, type Diagnostic, type SeverityOverrides } from './diagnostics.ts';
import type { Family } from './extensions/value-kinds.ts';
import { analyse, type AnalysisOptions } from './analysis/analyse.ts';

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
}

/** The result of checking one document. */
export interface CheckResult {
  readonly family: Family;
  readonly parsed: ParseResult;
  readonly model: Model;
  readonly diagnostics: Diagnostic[];
}

/** Splits a document into lines and arguments; never throws. */
export function parse(text: string): ParseResult {
  return parseSyntax(text);
}

/** Parses, builds the model and runs every validity check. Never throws on user input. */
export function check(text: string, options: CheckOptions = {}): CheckResult {
  const family = detectFamily(text, { override: options.family, fileName: options.fileName });
  const parsed = parseSyntax(text);
  const commands = new CommandChecks(family);
  const model = buildModel(parsed, family, commands);
  const found = validate(parsed, model, commands);
  if (options.analyses !== undefined && options.analyses !== false) {
    const errorLines = new Set(found.filter((d) => d.severity === 'error').map((d) => d.range.start.line));
    const tuned = options.analyses === true ? {} : options.analyses;
    found.push(...analyse(model, { errorLines, ...tuned }).diagnostics);
    found.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  }
  const diagnostics = applySeverities(found, options.severities);
  return { family, parsed, model, diagnostics };
}
export { detectFamily } from './model.ts';
export { analyse, type AnalysisOptions, type AnalysisResult } from './analysis/analyse.ts';
export { LineDiagnostics } from './line-diagnostics.ts';
