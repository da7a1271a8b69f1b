/**
 * Entry point of the real-editor suite, in the form VS Code's extension test runners load
 * (`extensionTestsPath`): `run()` runs the mocha (tdd) test files bundled next to this file and
 * rejects when any fails. The same bundle runs in code-server (scripts/real-editor/run-code-server.ts)
 * and in VS Code desktop through @vscode/test-electron (scripts/real-editor/run-electron.ts).
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

/** Reverts every document with unsaved changes to its file on disk. */
async function revertDirtyDocuments(): Promise<void> {
  for (const document of vscode.workspace.textDocuments) {
    if (!document.isDirty || document.uri.scheme !== 'file') continue;
    await vscode.window.showTextDocument(document, { preview: false });
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }
}

export async function run(): Promise<void> {
  // One retry per test: these tests drive a whole workbench (focus, views, quick picks) on CI
  // machines that are sometimes far slower than usual, and a condition the workbench settles late
  // must not fail the build once. A retry is never silent: it is logged below with the first
  // attempt's error, and a test that fails twice fails the suite.
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: 120_000,
    reporter: 'spec',
    retries: 1,
    rootHooks: {
      // A retry starts from the files on disk: the failed attempt may have left an edit unsaved.
      async beforeEach(this: Mocha.Context) {
        const retry = (this.currentTest as unknown as { currentRetry(): number } | undefined)?.currentRetry() ?? 0;
        if (retry > 0) await revertDirtyDocuments();
      },
    },
  });
  // REAL_EDITOR_GREP (e.g. "packet tracer") runs only the tests whose full title matches, for quicker iteration.
  const grep = process.env.REAL_EDITOR_GREP;
  if (grep) mocha.grep(grep);
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.cjs')).sort();
  if (files.length === 0) throw new Error(`no *.test.cjs files next to ${__filename}`);
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  const started = Date.now();
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('retry', (t: Mocha.Test, err: unknown) => {
      console.log(`!!! RETRY: "${t.fullTitle()}" failed its first attempt after ${t.duration ?? '?'} ms: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  console.log(`real-editor suite: ${failures === 0 ? 'passed' : `${failures} failed`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failures > 0) throw new Error(`${failures} real-editor test${failures === 1 ? '' : 's'} failed`);
}
