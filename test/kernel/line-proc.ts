/**
 * Helpers shared by the kernel tests that send probes between network namespaces: running a
 * command inside a namespace, and a line-oriented child process (the probe agent) to send lines
 * to and await lines from.
 */
import { spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** PATH with the sbin directories, where ip and the iptables tools live. */
export const ENV = { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` };

/** Runs `args` inside namespace `ns` (or directly when `ns` is undefined); throws on failure. */
export function ip(ns: string | undefined, ...args: string[]): void {
  const r = ns ? spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', env: ENV }) : spawnSync(args[0], args.slice(1), { encoding: 'utf8', env: ENV });
  if (r.status !== 0) throw new Error(`${ns ?? ''} ${args.join(' ')}: ${r.stderr}`);
}

/** A line-oriented child process: send lines, await lines. */
export class LineProc {
  private buf = '';
  private lines: string[] = [];
  private waiters: ((l: string | undefined) => void)[] = [];
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      this.buf += d;
      let k: number;
      while ((k = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, k);
        this.buf = this.buf.slice(k + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }
  write(s: string): void {
    this.child.stdin.write(s);
  }
  /** The next line, or undefined after `ms` milliseconds. */
  next(ms: number): Promise<string | undefined> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve) => {
      const w = (x: string | undefined): void => {
        clearTimeout(timer);
        resolve(x);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((y) => y !== w);
        resolve(undefined);
      }, ms);
      this.waiters.push(w);
    });
  }
  /** Takes every line received so far that nobody awaited. */
  drain(): string[] {
    const l = this.lines;
    this.lines = [];
    return l;
  }
  kill(): void {
    this.child.kill('SIGKILL');
  }
}
