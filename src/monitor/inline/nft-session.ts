import { realSystem, type Spawned, type System } from '../../system/index.js';

export interface NftSessionOptions {
  /** The interactive nft to run (default `nft -i`); each input line is one transaction. */
  argv?: string[];
  /** Runs it (default: the real system). */
  system?: System;
  /** Network namespace whose ruleset it changes (default: the caller's). */
  ns?: string;
  /** An error nft reported for one of the lines, or the session's own trouble. */
  onError?: (message: string) => void;
  /** Restarts allowed after the child dies by itself (default 5). */
  restarts?: number;
}

/**
 * A long-lived `nft -i` child: verdicts are one line each on its stdin, so a verdict costs a
 * write, not a process. nft answers nothing on success and reports errors on stderr; a child
 * that dies is restarted (a few times) and the lines written meanwhile are lost, which the
 * gate tolerates: an approval not applied leaves a segment held, and its retransmission is
 * approved again.
 */
export class NftSession {
  private child: Spawned | null = null;
  private readonly argv: string[];
  private readonly system: System;
  private readonly ns: string | undefined;
  private readonly onError: (message: string) => void;
  private restartsLeft: number;
  private closing = false;
  private errBuf = '';
  errors = 0;
  lines = 0;

  constructor(opts: NftSessionOptions = {}) {
    this.argv = opts.argv ?? ['nft', '-i'];
    this.system = opts.system ?? realSystem;
    this.ns = opts.ns;
    this.onError = opts.onError ?? (() => {});
    this.restartsLeft = opts.restarts ?? 5;
    this.start();
  }

  /** Bytes written and not yet taken by nft: the verdict backlog. */
  get backlog(): number {
    return this.child?.stdin?.writableLength ?? 0;
  }

  get running(): boolean {
    return this.child !== null;
  }

  write(line: string): void {
    if (line.includes('\n')) throw new Error('an nft session line must be one line');
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    this.lines++;
    stdin.write(`${line}\n`);
  }

  /** Ends the session after nft has taken every line written so far. */
  async close(): Promise<void> {
    this.closing = true;
    const c = this.child;
    if (!c) return;
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    c.stdin?.end();
    await c.exited;
    clearTimeout(timer);
  }

  private start(): void {
    const c = this.system.spawn(this.argv, { ns: this.ns, stdin: true, stderr: true });
    this.child = c;
    c.stdin?.on('error', (e) => this.onError(`nft input: ${e.message}`));
    c.stderr?.on('data', (d: Buffer) => this.stderr(d.toString('utf8')));
    void Promise.all([c.startError, c.exited]).then(([startError, status]) => {
      if (this.child === c) this.child = null;
      if (startError) {
        // Not there at all: starting it again would not help.
        this.onError(`cannot run ${this.argv[0]}: ${startError.message}`);
        return;
      }
      if (this.closing) return;
      this.onError(`nft exited (${status.signal ?? `code ${status.code}`})`);
      if (this.restartsLeft-- > 0) this.start();
    });
  }

  private stderr(text: string): void {
    this.errBuf += text;
    // nft prints "Error: ..." followed by the offending line and a marker line.
    for (let nl = this.errBuf.indexOf('\n'); nl >= 0; nl = this.errBuf.indexOf('\n')) {
      const line = this.errBuf.slice(0, nl);
      this.errBuf = this.errBuf.slice(nl + 1);
      if (line.startsWith('Error:')) {
        this.errors++;
        this.onError(line);
      }
    }
    if (this.errBuf.length > 65536) this.errBuf = '';
  }
}
