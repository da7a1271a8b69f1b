/**
 * The language server. It only converts between LSP and the core: documents are checked with
 * `check`, results are cached per URI and version, and every handler is guarded so that one
 * failing request never takes the server down.
 */
import {
  createConnection,
  DiagnosticSeverity,
  DiagnosticTag,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Location,
} from 'vscode-languageserver/node.js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { check, type CheckResult, type Diagnostic, type SeverityOverrides } from '../core/index.ts';

const SEVERITY: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** Converts a core diagnostic to LSP. */
export function toLspDiagnostic(d: Diagnostic, uri: string): LspDiagnostic {
  return {
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'iptables',
    message: d.message,
    tags: d.tags?.map((t) => (t === 'unnecessary' ? DiagnosticTag.Unnecessary : DiagnosticTag.Deprecated)),
    relatedInformation: d.related?.map((r) => ({ location: { uri, range: r.range }, message: r.message })),
  };
}

/** Runs `fn`, logging instead of throwing, so that a bug in one request cannot kill the server. */
function guarded<T>(connection: Connection, name: string, fallback: T, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    connection.console.error(`iptables-lsp: ${name} failed: ${(e as Error).stack ?? e}`);
    return fallback;
  }
}

/** Starts the server on the process's IPC channel or stdio (chosen by the command line). */
export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, { version: number; result: CheckResult }>();
  const timers = new Map<string, NodeJS.Timeout>();
  let severities: SeverityOverrides = {};
  let family: 'ipv4' | 'ipv6' | undefined;

  const analyse = (doc: TextDocument): CheckResult => {
    const hit = cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.result;
    const result = check(doc.getText(), { fileName: doc.uri, family, severities });
    cache.set(doc.uri, { version: doc.version, result });
    return result;
  };

  const publish = (doc: TextDocument): void => {
    guarded(connection, 'diagnostics', undefined, () => {
      const result = analyse(doc);
      void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: result.diagnostics.map((d) => toLspDiagnostic(d, doc.uri)) });
    });
  };

  // Diagnostics are debounced so that typing does not re-check on every keystroke.
  const schedule = (doc: TextDocument): void => {
    clearTimeout(timers.get(doc.uri));
    timers.set(doc.uri, setTimeout(() => publish(doc), 150));
  };

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      definitionProvider: true,
      referencesProvider: true,
    },
  }));

  connection.onDidChangeConfiguration((change) => {
    const settings = (change.settings as { iptables?: { severity?: SeverityOverrides; family?: string } } | undefined)?.iptables;
    severities = settings?.severity ?? {};
    family = settings?.family === 'ipv4' || settings?.family === 'ipv6' ? settings.family : undefined;
    cache.clear();
    for (const d of documents.all()) schedule(d);
  });

  documents.onDidOpen((e) => publish(e.document));
  documents.onDidChangeContent((e) => schedule(e.document));
  documents.onDidClose((e) => {
    cache.delete(e.document.uri);
    clearTimeout(timers.get(e.document.uri));
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  /** The chain named at a position: a jump target or the chain of a command. */
  const chainAt = (uri: string, line: number, character: number) => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const { model } = analyse(doc);
    const rule = model.ruleByLine.get(line);
    if (rule) {
      for (const a of [rule.info.target?.nameArg, rule.info.chainArg, rule.info.newNameArg]) {
        if (a && a.start <= character && character <= a.end) return rule.table.chains.get(a.value);
      }
    }
    for (const t of model.tables) for (const c of t.chains.values()) {
      const d = c.declaration;
      if (d && d.line === line && d.start <= character && character <= d.end) return c;
    }
    return undefined;
  };

  connection.onDefinition((p, token) =>
    guarded(connection, 'definition', null, () => {
      if (token.isCancellationRequested) return null;
      const c = chainAt(p.textDocument.uri, p.position.line, p.position.character);
      if (!c?.declaration) return null;
      const d = c.declaration;
      return { uri: p.textDocument.uri, range: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } } } satisfies Location;
    }),
  );

  connection.onReferences((p, token) =>
    guarded(connection, 'references', [] as Location[], () => {
      if (token.isCancellationRequested) return [];
      const c = chainAt(p.textDocument.uri, p.position.line, p.position.character);
      if (!c) return [];
      const out: Location[] = [];
      const d = c.declaration;
      if (d && p.context.includeDeclaration) out.push({ uri: p.textDocument.uri, range: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } } });
      for (const r of [...c.references, ...c.mentions]) {
        const a = r.info.target?.name === c.name ? r.info.target.nameArg : r.info.chainArg;
        if (a) out.push({ uri: p.textDocument.uri, range: { start: { line: a.line, character: a.start }, end: { line: a.line, character: a.end } } });
      }
      return out;
    }),
  );

  documents.listen(connection);
  connection.listen();
}
