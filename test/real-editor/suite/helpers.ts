/**
 * Helpers shared by the real-editor tests: the workspace's files, the extension's API, and waiting
 * on real conditions (diagnostics published, a provider answering, a command finishing) with a
 * deadline instead of sleeping.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { IptablesApi } from '../../../client/src/extension.ts';

/** The extension's identifier: publisher and name from package.json. */
export const EXTENSION_ID = 'iptables-lsp.iptables-lsp';

/** How long a condition may take before the test fails: generous, since CI machines are slow. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** The URI of a file of the workspace the tests run in (a copy of test/real-editor/workspace). */
export function workspaceUri(relative: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests run with test/real-editor/workspace open as the workspace folder');
  return vscode.Uri.joinPath(folder.uri, ...relative.split('/'));
}

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that value;
 * fails with `what` and the last value seen when the deadline passes.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (e) {
      // A provider may throw while the server is still starting; keep polling until the deadline.
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `; last error: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Activates the extension (if opening a file has not done so already) and returns its API. */
export async function extensionApi(): Promise<IptablesApi> {
  const extension = vscode.extensions.getExtension<IptablesApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is installed`);
  return extension.isActive ? extension.exports : extension.activate();
}

/** Opens a workspace file in an editor and makes it the active one. */
export async function show(relative: string, selection?: vscode.Range): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(workspaceUri(relative));
  return vscode.window.showTextDocument(document, { preview: false, ...(selection ? { selection } : {}) });
}

/** The diagnostics of a document once the server has published some with the given code. */
export function diagnosticsWith(uri: vscode.Uri, code: string, timeoutMs?: number): Promise<vscode.Diagnostic[]> {
  return waitFor(`a '${code}' diagnostic in ${uri.toString()}`, () => {
    const all = vscode.languages.getDiagnostics(uri);
    return all.some((d) => codeOf(d) === code) && all;
  }, timeoutMs);
}

/** A diagnostic's code as a string (the server sends plain string codes). */
export function codeOf(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (code === undefined) return undefined;
  return typeof code === 'object' ? String(code.value) : String(code);
}

/** The 0-based line of the first line of a document containing `needle`. */
export function lineOf(document: vscode.TextDocument, needle: string): number {
  for (let line = 0; line < document.lineCount; line += 1) {
    if (document.lineAt(line).text.includes(needle)) return line;
  }
  assert.fail(`'${needle}' is not in ${document.uri.toString()}`);
}

/** The position `offset` characters into the first occurrence of `needle` in a document. */
export function positionOf(document: vscode.TextDocument, needle: string, offset = 0): vscode.Position {
  const line = lineOf(document, needle);
  return new vscode.Position(line, document.lineAt(line).text.indexOf(needle) + offset);
}

/** Every 0-based line of a document containing one of the needles, in order, without repeats. */
export function linesWith(document: vscode.TextDocument, ...needles: string[]): number[] {
  const out: number[] = [];
  for (let line = 0; line < document.lineCount; line += 1) {
    const text = document.lineAt(line).text;
    if (needles.some((n) => text.includes(n))) out.push(line);
  }
  return out;
}

/**
 * Runs a command that asks through quick picks and accepts each prompt's default (its active item),
 * as a user pressing Enter would, until the command finishes; returns the command's result. The
 * prompts are real VS Code quick picks: `workbench.action.acceptSelectedQuickOpenItem` is polled
 * until the command settles (accepting does nothing while no prompt is open).
 */
export async function acceptingPrompts<T>(command: string, ...args: unknown[]): Promise<T> {
  let settled = false;
  const result = Promise.resolve(vscode.commands.executeCommand<T>(command, ...args)).finally(() => {
    settled = true;
  });
  await waitFor(`${command} to finish with every prompt accepted`, async () => {
    if (settled) return true;
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    return settled;
  });
  return result;
}

/** The text of a hover's contents, whatever form each part has. */
export function hoverText(hovers: readonly vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : c.value))
    .join('\n');
}

/** A completion item's label as a string. */
export function labelOf(item: vscode.CompletionItem): string {
  return typeof item.label === 'string' ? item.label : item.label.label;
}
