import { spawn, type ChildProcess } from 'node:child_process';

export interface NftSessionOptions {
  /** The interactive nft to run (default `nft -i`); each input line is one transaction. */
  argv?: string[];
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
  private child: ChildProcess | null = null;
  private readonly argv: string[];
  private readonly onError: (message: string) => void;
  private restartsLeft: number;
  private closing = false;
  private errBuf = '';
  errors = 0;
  lines = 0;

  constructor(opts: NftSessionOptions = {}) {
    this.argv = opts.argv ?? ['nft', '-i'];
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
  close(): Promise<void> {
    this.closing = true;
    const c = this.child;
    if (!c) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.stdin?.end();
    });
  }

  private start(): void {
    const [cmd, ...args] = this.argv;
    const c = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = c;
    c.stdin?.on('error', (e) => this.onError(`nft input: ${e.message}`));
    c.stderr?.on('data', (d: Buffer) => this.stderr(d.toString('utf8')));
    c.on('error', (e) => this.onError(`cannot run ${cmd}: ${e.message}`));
    c.on('exit', (code, signal) => {
      if (this.child === c) this.child = null;
      if (this.closing) return;
      this.onError(`nft exited (${signal ?? `code ${code}`})`);
      if (this.restartsLeft-- > 0) this.start();
    });
  }

  private stderr(text: string): void {
    this.errBuf += text;
    // nft prints "Error: ..." followed by the offending line and a marker line.
    let nl: number;
    while ((nl = this.errBuf.indexOf('\n')) >= 0) {
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
