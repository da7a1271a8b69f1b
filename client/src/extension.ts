/**
 * The VS Code extension: starts the bundled language server over IPC for `iptables` documents and
 * registers the extension's commands (restart the server, fix all, and the command code lenses use
 * to show a chain's jumps).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node.js';
import { registerTrace, type TraceState } from './trace-view.ts';
import { registerNeutron } from './neutron-view.ts';

let client: LanguageClient | undefined;

/**
 * What `activate()` returns (`vscode.extensions.getExtension('iptables-lsp.iptables-lsp').exports`):
 * state that VS Code's API cannot read back, for scripts and the real-editor tests.
 */
export interface IptablesApi {
  /** The packet tracer's results view, its data and the lines it decorated. */
  readonly trace: TraceState;
}

/** A position or location as the server sends them (plain JSON). */
interface JsonPosition { line: number; character: number }
interface JsonLocation { uri: string; range: { start: JsonPosition; end: JsonPosition } }

/** Called by VS Code when an iptables document is opened. */
export async function activate(context: vscode.ExtensionContext): Promise<IptablesApi> {
  const module = context.asAbsolutePath(path.join('dist', 'server.cjs'));
  const serverOptions: ServerOptions = {
    // `gc` for the server's collection once the documents rest (server/src/lsp/idle-collector.ts).
    run: { module, transport: TransportKind.ipc, options: { execArgv: ['--expose-gc'] } },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--expose-gc', '--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: 'iptables' }, { language: 'neutron-policy' }],
    synchronize: { configurationSection: 'iptables' },
  };
  client = new LanguageClient('iptables', 'iptables', serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand('iptables.restartServer', async () => {
      await client?.restart();
    }),
    vscode.commands.registerCommand('iptables.fixAll', async () => {
      await vscode.commands.executeCommand('editor.action.sourceAction', { kind: 'source.fixAll', apply: 'first' });
    }),
    // Code lenses carry plain JSON; VS Code's peek view needs its own types.
    vscode.commands.registerCommand('iptables.showReferences', async (uri: string, position: JsonPosition, locations: JsonLocation[]) => {
      const toPos = (p: JsonPosition): vscode.Position => new vscode.Position(p.line, p.character);
      await vscode.commands.executeCommand(
        'editor.action.showReferences',
        vscode.Uri.parse(uri),
        toPos(position),
        locations.map((l) => new vscode.Location(vscode.Uri.parse(l.uri), new vscode.Range(toPos(l.range.start), toPos(l.range.end)))),
      );
    }),
  );
  const trace = registerTrace(context, client);
  registerNeutron(context, client);
  await client.start();
  return { trace };
}

/** Called by VS Code on shutdown. */
export async function deactivate(): Promise<void> {
  await client?.stop();
}
