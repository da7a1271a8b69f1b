/**
 * Reading the files the command line is given, with the same rules everywhere: a file or a named
 * pipe (`<(iptables-save)`) is read; a device or a socket is refused, since reading /dev/zero or a
 * socket would never end; a file too big to be held as text is refused before it is read.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';

/**
 * The largest file read: V8's longest string is about 512 MiB, so a bigger file could not be held
 * as text at all.
 */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

/** The reason `stat` failed, in words. */
export function statProblem(e: unknown): string {
  return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
}

/**
 * Why what `st` describes cannot be read as text, or undefined when it can. A named pipe is read
 * only when `pipes` (a pipe given by name, e.g. `<(iptables-save)`; one found while searching a
 * directory may never be written to).
 */
export function kindProblem(st: Stats, pipes: boolean): string | undefined {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return pipes ? undefined : 'a named pipe';
  if (!st.isFile()) return 'not a file (a device or socket)';
  if (st.size > MAX_FILE_BYTES) return `it has ${(st.size / 2 ** 20).toFixed(0)} MiB, more than the ${MAX_FILE_BYTES / 2 ** 20} MiB iptables-lsp reads`;
  return undefined;
}

/** Why a path given on the command line cannot be read as text, or undefined when it can. */
export function unreadable(path: string): string | undefined {
  try {
    return kindProblem(statSync(path), true);
  } catch (e) {
    return statProblem(e);
  }
}

/** Reads a file given on the command line as UTF-8 text; throws an Error with a clear message. */
export function readInput(path: string): string {
  const why = unreadable(path);
  if (why) throw new Error(`cannot read '${path}': ${why}`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read '${path}': ${(e as Error).message}`);
  }
}
