/**
 * Custom requests behind the editor's packet tracer. They only convert between JSON and the core:
 * `iptables/trace` traces a packet through the document's model, `iptables/packetFromRule` builds
 * the prefilled packet of "Why would this be dropped?".
 */
import type { Connection } from 'vscode-languageserver/node.js';
import type { CheckResult } from '../core/index.ts';
import { PacketSyntaxError, packetFromRule, parsePacket, trace, traceToJson, traceToText, type PrefilledTrace, type TraceJson, type TracePath } from '../core/trace/index.ts';

/** Parameters of `iptables/trace`. */
export interface TraceParams {
  readonly uri: string;
  readonly packet: string;
  readonly path: TracePath;
}

/** Answer of `iptables/trace`: the trace, or a message saying what is wrong with the packet. */
export type TraceAnswer = { readonly ok: true; readonly trace: TraceJson; readonly text: string } | { readonly ok: false; readonly error: string };

const PATHS: readonly TracePath[] = ['input', 'forward', 'output'];

/** Registers the tracer's requests; `analyse` returns the cached check of a document. */
export function registerTraceRequests(connection: Connection, analyse: (uri: string) => CheckResult | undefined): void {
  connection.onRequest('iptables/trace', (p: TraceParams): TraceAnswer => {
    try {
      const result = analyse(p.uri);
      if (!result) return { ok: false, error: 'the document is not open or is too large to analyse' };
      if (!PATHS.includes(p.path)) return { ok: false, error: `unknown path '${p.path}': use input, forward or output` };
      const packet = parsePacket(p.packet, result.family);
      const r = trace(result.model, packet, p.path);
      return { ok: true, trace: traceToJson(r), text: traceToText(r) };
    } catch (e) {
      if (e instanceof PacketSyntaxError) return { ok: false, error: e.message };
      connection.console.error(`iptables-lsp: trace failed: ${(e as Error).stack ?? e}`);
      return { ok: false, error: `internal error: ${(e as Error).message}` };
    }
  });

  connection.onRequest('iptables/packetFromRule', (p: { uri: string; line: number }): PrefilledTrace | null => {
    try {
      const rule = analyse(p.uri)?.model.ruleByLine.get(p.line);
      return rule ? packetFromRule(rule) : null;
    } catch (e) {
      connection.console.error(`iptables-lsp: packetFromRule failed: ${(e as Error).stack ?? e}`);
      return null;
    }
  });
}
