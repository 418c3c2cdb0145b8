/**
 * The node's ruleset read through one long-lived `nft -j -i` child. Starting nft costs more CPU
 * than listing a node's tables (libnftables' start-up, the dynamic linker, the process itself),
 * and a level-1 agent lists every period: a session pays the start once. In interactive mode with
 * JSON output nft answers each command with exactly one line, so a listing is a line written and a
 * line read. `list ruleset` always answers (an empty ruleset is its metainfo alone); a command nft
 * refuses would answer on stderr only, which is why no other command goes through here.
 *
 * A session that dies, hangs past the timeout or answers too much is ended; the next listing
 * starts another, and one that cannot start falls back to a one-shot `nft -j list ruleset`.
 */
import type { Spawned } from '../system/index.js';
import type { NodeAccess } from './netns.js';

export interface NftListerOptions {
  /** A listing not answered within this is abandoned and the session ended (default 10 s). */
  timeoutMs?: number;
  /** An answer longer than this ends the session (default 256 MiB): memory stays bounded. */
  maxBytes?: number;
}

export interface Listing {
  code: number;
  stdout: string;
  stderr: string;
}

interface Pending {
  resolve: (l: Listing) => void;
  timer: NodeJS.Timeout;
}

const LIST = 'list ruleset\n';

export class NftLister {
  private child: Spawned | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private errText = '';
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  /** Sessions started, and listings answered by one (the rest went one-shot). */
  readonly stats = { sessions: 0, listed: 0, oneShot: 0 };

  constructor(
    private readonly node: NodeAccess,
    opts: NftListerOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBytes = opts.maxBytes ?? 256 << 20;
  }

  /** The ruleset as `nft -j list ruleset` prints it; one listing at a time. */
  list(): Promise<Listing> {
    const next = this.queue.then(() => this.listOnce());
    this.queue = next.catch(() => {});
    return next;
  }

  /** The live session's pid, for the collector's cost. */
  pids(): number[] {
    const pid = this.child?.pid;
    return pid === undefined ? [] : [pid];
  }

  async close(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c) return;
    c.stdin?.end();
    const timer = setTimeout(() => c.kill('SIGKILL'), 2000);
    await c.exited;
    clearTimeout(timer);
  }

  private async listOnce(): Promise<Listing> {
    const c = this.child ?? this.start();
    if (!c.stdin || c.stdin.destroyed) {
      this.stats.oneShot++;
      return this.node.run(['nft', '-j', 'list', 'ruleset']);
    }
    const answer = new Promise<Listing>((resolve) => {
      const timer = setTimeout(() => this.abandon(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      this.pending = { resolve, timer };
    });
    c.stdin.write(LIST);
    const got = await answer;
    if (got.code === 0) this.stats.listed++;
    return got;
  }

  private start(): Spawned {
    const c = this.node.system.spawn(['nft', '-j', '-i'], { ns: this.node.ns, stdin: true, stdout: true, stderr: true });
    this.child = c;
    this.stats.sessions++;
    this.chunks = [];
    this.size = 0;
    this.errText = '';
    c.stdin?.on('error', () => this.abandon('its input closed'));
    c.stdout?.on('data', (d: Buffer) => this.data(c, d));
    c.stderr?.on('data', (d: Buffer) => {
      // Kept only to explain a failure; bounded like the answer.
      if (this.errText.length < 4096) this.errText += d.toString('utf8');
    });
    void c.exited.then((s) => {
      if (this.child === c) this.child = null;
      this.answer({ code: 1, stdout: '', stderr: this.errText.trim() || `nft -j -i exited (${s.signal ?? `code ${s.code}`})` });
    });
    return c;
  }

  private data(c: Spawned, d: Buffer): void {
    if (this.child !== c) return;
    let from = 0;
    for (let nl = d.indexOf(10, from); nl >= 0 && this.child === c; nl = d.indexOf(10, from)) {
      if (this.size + nl - from > this.maxBytes) return this.abandon(`an answer over ${this.maxBytes} bytes`);
      this.chunks.push(d.subarray(from, nl));
      const line = Buffer.concat(this.chunks).toString('utf8');
      this.chunks = [];
      this.size = 0;
      from = nl + 1;
      this.answer({ code: 0, stdout: line, stderr: '' });
    }
    if (from < d.length && this.child === c) {
      this.chunks.push(d.subarray(from));
      this.size += d.length - from;
      if (this.size > this.maxBytes) this.abandon(`an answer over ${this.maxBytes} bytes`);
    }
  }

  private answer(l: Listing): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve(l);
  }

  private abandon(why: string): void {
    const c = this.child;
    this.child = null;
    this.chunks = [];
    this.size = 0;
    c?.kill('SIGKILL');
    this.answer({ code: 1, stdout: '', stderr: `nft -j -i: ${why}` });
  }
}
