/**
 * Small helpers shared by the kernel oracle tests: line arithmetic on iptables-save files and a
 * bounded-concurrency map. Only Node built-ins are used, so the tests add no dependencies.
 */

/** The 1-based lines of a text, without their line terminators, in order. */
export function splitLines(text: string): string[] {
  // A final newline does not start a new line for iptables-restore, so it is dropped here; the
  // rest is split on LF only because iptables-restore itself treats a CR as part of the line.
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return body === '' ? [] : body.split('\n');
}

/** Joins lines back into a file that ends with a newline, as iptables-save writes them. */
export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** True when the 1-based line `line` of `lines` is a COMMIT line exactly as iptables-restore wants it. */
export function isCommitLine(lines: readonly string[], line: number): boolean {
  return lines[line - 1] === 'COMMIT';
}

/** A table block: the 1-based lines of its `*table` header and of its COMMIT (or the last line when it is missing). */
export interface Block {
  readonly table: string;
  readonly start: number;
  readonly end: number;
}

/** Every `*table … COMMIT` block of a file, in order; an unterminated block runs to the end of the file. */
export function tableBlocks(lines: readonly string[]): Block[] {
  const blocks: Block[] = [];
  let open: { table: string; start: number } | undefined;
  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.startsWith('*')) {
      // A second header while a block is open is an error the kernel reports itself; for the
      // purpose of locating blocks it simply starts the next one.
      if (open !== undefined) blocks.push({ ...open, end: line - 1 });
      open = { table: text.slice(1).trim().split(/\s+/)[0] ?? '', start: line };
    } else if (text === 'COMMIT' && open !== undefined) {
      blocks.push({ ...open, end: line });
      open = undefined;
    }
  });
  // A missing COMMIT makes the kernel name the line after the last one, so the block includes it.
  if (open !== undefined) blocks.push({ ...open, end: lines.length + 1 });
  return blocks;
}

/** The block containing the 1-based line, if any. */
export function blockOf(lines: readonly string[], line: number): Block | undefined {
  return tableBlocks(lines).find((block) => block.start <= line && line <= block.end);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in input order.
 * The kernel runs are I/O bound (process start-up, namespace creation), so a few in parallel help
 * even on two cores, while a small bound keeps the machine responsive.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Formats milliseconds as seconds with one decimal, for the timing lines the tests print. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
