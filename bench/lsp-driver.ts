/**
 * Drives the real language server inside this process, with no change to the server's code.
 *
 * `startServer()` (server/src/lsp/server.ts) takes no streams: like every vscode-languageserver
 * server it picks its transport from the command line. We load the shipped bundle dist/server.cjs
 * with `--node-ipc` on the command line, so it reads messages from `process.on('message')` and
 * writes them with `process.send`; this module plays the other end of that channel in the same
 * process: `process.send` is replaced by a function that hands the message to the client side, and
 * the client emits `message` events on `process`. Every message is serialised to JSON and parsed
 * again, so the timings include the (de)serialisation that an editor connection costs. A message
 * to the server is delivered on a later turn of the event loop, as the real IPC channel does. A
 * message from the server reaches the client as soon as the server's current task ends: an editor
 * is another process, which reads what the server wrote while the server goes on with its next
 * task (delivered on a later turn, a reply waited for whatever the server had queued meanwhile,
 * such as a publication of the whole document's diagnostics, and was timed as if the server had
 * answered after it).
 *
 * The client side is a minimal JSON-RPC 2.0 client: requests with ids and timings, notifications,
 * and waiting for `textDocument/publishDiagnostics` of a given document version. Requests the server
 * sends to the client are answered with `null`.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

/** A JSON-RPC 2.0 message, as far as the client needs to look into it. */
interface Message {
  readonly jsonrpc?: string;
  readonly id?: number | string | null;
  readonly method?: string;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: { readonly code: number; readonly message: string };
}

/** The answer to a request, with the time from sending it to receiving the answer. */
export interface Timed<T> {
  readonly result?: T;
  readonly error?: { readonly code: number; readonly message: string };
  readonly ms: number;
}

/** A `textDocument/publishDiagnostics` notification as the client received it. */
export interface Published {
  readonly uri: string;
  readonly version?: number;
  readonly count: number;
  /** `performance.now()` when the client received it. */
  readonly at: number;
}

/** The longest the client waits for an answer before it gives up; a hung server must not hang the benchmark. */
const TIMEOUT_MS = 120_000;

/** The signature of `process.send` as vscode-jsonrpc's IPCMessageWriter calls it. */
type Send = (message: unknown, sendHandle?: unknown, options?: unknown, callback?: (error: Error | null) => void) => boolean;

/** A language server running in this process, and the client end of its connection. */
export class InProcessServer {
  private nextId = 1;
  private readonly pending = new Map<number, (message: Message) => void>();
  private readonly waiters: { uri: string; version: number | undefined; resolve: (p: Published) => void }[] = [];
  private readonly completeWaiters: { uri: string; version: number; resolve: (at: number) => void }[] = [];
  /** Messages the server logged with `window/logMessage` at error level (its guarded handlers' failures). */
  readonly errors: string[] = [];
  private readonly keepAlive: NodeJS.Timeout;

  private constructor() {
    // Nothing else may keep the event loop alive while the client waits for the server.
    this.keepAlive = setInterval(() => undefined, 1_000);
  }

  /**
   * Loads the bundled server at `bundlePath` (dist/server.cjs, which calls `startServer()` when it
   * is loaded) on an in-process IPC channel, and performs the LSP initialize handshake.
   */
  static async start(bundlePath: string): Promise<InProcessServer> {
    const client = new InProcessServer();
    const send: Send = (message, _sendHandle, _options, callback) => {
      const json = JSON.stringify(message);
      process.nextTick(() => client.receive(JSON.parse(json) as Message));
      callback?.(null);
      return true;
    };
    (process as { send?: Send }).send = send;
    const argv = process.argv;
    process.argv = [...argv.slice(0, 2), '--node-ipc'];
    try {
      createRequire(import.meta.url)(resolve(bundlePath));
    } finally {
      process.argv = argv;
    }
    // No processId: the server would otherwise poll this process forever and keep it alive.
    const init = await client.request('initialize', { processId: null, rootUri: null, capabilities: {}, clientInfo: { name: 'iptables-lsp bench' } });
    if (init.error) throw new Error(`initialize failed: ${init.error.message}`);
    client.notify('initialized', {});
    return client;
  }

  /** Sends a request and resolves with its answer and round-trip time. */
  request<T = unknown>(method: string, params: unknown): Promise<Timed<T>> {
    const id = this.nextId++;
    return new Promise<Timed<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      const start = performance.now();
      this.pending.set(id, (message) => {
        clearTimeout(timer);
        const ms = performance.now() - start;
        resolve(message.error ? { error: message.error, ms } : { result: message.result as T, ms });
      });
      this.deliver({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends a notification. */
  notify(method: string, params: unknown): void {
    this.deliver({ jsonrpc: '2.0', method, params });
  }

  /**
   * Resolves with the next diagnostics published for `uri` (and `version`, when given). Register
   * the wait before sending the message that triggers the publication.
   */
  nextDiagnostics(uri: string, version?: number): Promise<Published>;
  /**
   * The same, but resolves with undefined (and stops waiting) when `until` resolves first: for a
   * publication the server may leave out (it does not send a version's diagnostics again when the
   * client already has the same).
   */
  nextDiagnostics(uri: string, version: number, until: Promise<unknown>): Promise<Published | undefined>;
  nextDiagnostics(uri: string, version?: number, until?: Promise<unknown>): Promise<Published | undefined> {
    return new Promise<Published | undefined>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} v${version ?? '?'} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      const waiter = {
        uri,
        version,
        resolve: (p: Published | undefined) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      this.waiters.push(waiter);
      void until?.then(() => {
        const k = this.waiters.indexOf(waiter);
        if (k < 0) return;
        this.waiters.splice(k, 1);
        waiter.resolve(undefined);
      });
    });
  }

  /**
   * Resolves with the time (`performance.now()`) at which the server said it has published the last
   * diagnostics of `uri` at `version` (its `iptables/diagnosticsComplete` notification, sent after
   * the rule-set analysis). Register the wait before sending the message that triggers it.
   */
  diagnosticsComplete(uri: string, version: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`diagnostics of ${uri} v${version} not complete within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      this.completeWaiters.push({
        uri,
        version,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  /** Stops the client's keep-alive timer; the server itself stays loaded until the process exits. */
  stop(): void {
    clearInterval(this.keepAlive);
  }

  /** Hands a message to the server on a later turn, serialised as the IPC channel would. */
  private deliver(message: Message): void {
    const json = JSON.stringify(message);
    setImmediate(() => (process as NodeJS.EventEmitter).emit('message', JSON.parse(json)));
  }

  /** Handles one message from the server. */
  private receive(message: Message): void {
    // Other code in the process (e.g. a loader) may use process.send too; only JSON-RPC is ours.
    if (message.jsonrpc !== '2.0') return;
    if (message.method === undefined) {
      if (typeof message.id === 'number') {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
      return;
    }
    if (message.id !== undefined && message.id !== null) {
      this.deliver({ jsonrpc: '2.0', id: message.id, result: null });
      return;
    }
    if (message.method === 'textDocument/publishDiagnostics') {
      const at = performance.now();
      const p = message.params as { uri: string; version?: number; diagnostics: unknown[] };
      const published: Published = { uri: p.uri, version: p.version, count: p.diagnostics.length, at };
      const i = this.waiters.findIndex((w) => w.uri === p.uri && (w.version === undefined || w.version === p.version));
      if (i >= 0) {
        const [waiter] = this.waiters.splice(i, 1);
        waiter?.resolve(published);
      }
      return;
    }
    if (message.method === 'iptables/diagnosticsComplete') {
      const at = performance.now();
      const p = message.params as { uri: string; version: number };
      const i = this.completeWaiters.findIndex((w) => w.uri === p.uri && w.version === p.version);
      if (i >= 0) this.completeWaiters.splice(i, 1)[0]?.resolve(at);
      return;
    }
    if (message.method === 'window/logMessage') {
      const p = message.params as { type: number; message: string };
      if (p.type === 1) this.errors.push(p.message);
      // LSP_LOG=1 shows the server's log (how long each analysis took, how much it replayed).
      if (process.env.LSP_LOG) console.error(p.message);
    }
  }
}
