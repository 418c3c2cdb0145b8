/**
 * How an incremental transaction reaches nft. A process per transaction (`nft -j -e -a -f -`)
 * pays `ip netns exec`, the dynamic linker and libnftables' start-up every time: on this
 * project's 2-core machines that is most of a small change (one quarantine on a dvd-rental
 * node: ~38 ms as a process, ~4 ms through a live session, measured under load). A long-lived
 * controller applies reactions one after another, so it keeps one interactive nft per node
 * namespace and pays the start once.
 *
 * The session protocol (`sh -c 'exec nft -j [-e -a] -i 2>&1'`): a transaction is ONE input line
 * (nft commits each line as one batch, commands separated by `;`), followed by `describe meta
 * mark`, whose answer is one fixed line of text. Everything nft printed before that answer
 * belongs to the transaction: its JSON echo (what it added, with the handles the kernel gave;
 * deletions are not echoed) or its error, in the order nft wrote them, since stderr is the same
 * pipe. Both ways echo what the kernel committed, so the caller learns the new rules' handles
 * without listing them.
 *
 * The end marker must cost nothing: `describe` is answered from nft's own tables of types, with
 * no word to the kernel. A listing, even `list tables`, makes nft 1.0.6 fetch the namespace's
 * whole ruleset into its cache after every commit: on a node of 250 instances that was ~35 ms
 * of a quarantine's ~38 (bench/reaction-apply.ts), where the transaction itself takes ~3 ms.
 *
 * A session that dies, hangs past the timeout or prints more than the bound is ended and the
 * transaction fails (the caller then replaces the tables whole, which is right whatever part of
 * it went in); the next transaction starts another session.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { Spawned, System } from '../../system/index.js';
import { jsonRules, type NftJsonRule } from './apply.js';

export interface NftTransactions {
  /** Applies `script` (nft commands, one per line) as one transaction; ok with the rules nft echoed as added, in order. */
  transact(ns: string | null, script: string): Promise<Result<NftJsonRule[]>>;
  /** Ends what is long-lived. */
  close(): Promise<void>;
}

/** One `nft -j -e -a -f -` per transaction. */
export function oneShotTransactions(system: System): NftTransactions {
  return {
    async transact(ns, script) {
      const r = await system.run(['nft', '-j', '-e', '-a', '-f', '-'], { ...(ns ? { ns } : {}), input: script });
      if (r.code !== 0) return fail(refusal(r.stderr, ns));
      return echoed(r.stdout, ns);
    },
    async close() {},
  };
}

export interface NftSessionsOptions {
  /** A transaction not answered within this ends its session (default 10 s). */
  timeoutMs?: number;
  /** Output longer than this for one transaction ends its session (default 64 MiB): memory stays bounded. */
  maxBytes?: number;
  /**
   * Have nft echo what each transaction added (default true). The echo makes nft hold the whole
   * ruleset in its cache, rules included, where a plain `add rule` needs only tables, chains and
   * sets: past a few thousand rules that fetch costs more than a listing of the one changed
   * chain would. Without it a transaction answers no rules, like a one-shot `nft -f`.
   */
  echo?: boolean;
}

/** The end of every transaction's output: a command answered without the kernel, and the start of its answer. */
const SENTINEL = 'describe meta mark';
const SENTINEL_ANSWER = 'meta expression, datatype mark';

interface Pending {
  lines: string[];
  resolve: (r: Result<NftJsonRule[]>) => void;
  timer: NodeJS.Timeout;
}

/** One interactive nft in one namespace; one transaction at a time. */
class Session {
  private child: Spawned | null = null;
  private buf = '';
  private size = 0;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  started = 0;

  constructor(
    private readonly system: System,
    private readonly ns: string | null,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    private readonly echo: boolean,
  ) {}

  transact(script: string): Promise<Result<NftJsonRule[]>> {
    const next = this.queue.then(() => this.once(script));
    this.queue = next.catch(() => {});
    return next;
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

  private once(script: string): Promise<Result<NftJsonRule[]>> {
    const line = oneLine(script);
    if (!line.ok) return Promise.resolve(line);
    const c = this.child ?? this.start();
    const stdin = c.stdin;
    if (!stdin || stdin.destroyed) {
      this.end(c);
      return Promise.resolve(fail(diag('E_NFT_SESSION', 'the nft session has no input', this.where())));
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.abandon(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      this.pending = { lines: [], resolve, timer };
      stdin.write(`${line.value}\n${SENTINEL}\n`);
    });
  }

  private start(): Spawned {
    const c = this.system.spawn(['sh', '-c', `exec nft -j ${this.echo ? '-e -a ' : ''}-i 2>&1`], {
      ...(this.ns ? { ns: this.ns } : {}),
      stdin: true,
      stdout: true,
    });
    this.child = c;
    this.started++;
    this.buf = '';
    this.size = 0;
    c.stdin?.on('error', () => this.abandon('its input closed'));
    c.stdout?.on('data', (d: Buffer) => this.data(c, d.toString('utf8')));
    void c.exited.then((s) => {
      if (this.child === c) this.child = null;
      this.finish(fail(diag('E_NFT_SESSION', `the nft session ended (${s.signal ?? `code ${s.code}`})`, this.where())));
    });
    return c;
  }

  private data(c: Spawned, text: string): void {
    if (this.child !== c) return;
    this.size += text.length;
    if (this.size > this.maxBytes) return this.abandon(`more than ${this.maxBytes} bytes of output for one transaction`);
    this.buf += text;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const p = this.pending;
      // Output nobody waits for (after a timeout): not this transaction's.
      if (!p) continue;
      if (!line.startsWith(SENTINEL_ANSWER)) {
        p.lines.push(line);
        continue;
      }
      this.size = this.buf.length;
      const errors = p.lines.filter((l) => !l.startsWith('{'));
      if (errors.some((l) => l.startsWith('Error:'))) this.finish(fail(refusal(errors.join('\n'), this.ns)));
      else this.finish(echoed(p.lines.filter((l) => l.startsWith('{')).join('\n'), this.ns));
    }
  }

  private finish(r: Result<NftJsonRule[]>): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve(r);
  }

  private abandon(why: string): void {
    const c = this.child;
    this.finish(fail(diag('E_NFT_SESSION', `the nft session was ended: ${why}`, this.where())));
    if (c) this.end(c);
  }

  private end(c: Spawned): void {
    if (this.child === c) this.child = null;
    c.kill('SIGKILL');
  }

  private where() {
    return this.ns ? { file: this.ns } : undefined;
  }
}

/** One interactive nft per namespace, started at its first transaction. */
export class NftSessions implements NftTransactions {
  private readonly sessions = new Map<string, Session>();
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly echo: boolean;

  constructor(
    private readonly system: System,
    opts: NftSessionsOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBytes = opts.maxBytes ?? 64 << 20;
    this.echo = opts.echo ?? true;
  }

  /** Sessions started over this object's life (a restart after a failure counts again). */
  get started(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.started;
    return n;
  }

  transact(ns: string | null, script: string): Promise<Result<NftJsonRule[]>> {
    const key = ns ?? '';
    let s = this.sessions.get(key);
    if (!s) {
      s = new Session(this.system, ns, this.timeoutMs, this.maxBytes, this.echo);
      this.sessions.set(key, s);
    }
    return s.transact(script);
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}

/**
 * The script as one input line. Its commands are one per line by construction (the incremental
 * renderer writes them so); a `#` comment line would swallow the rest, so it is refused.
 */
function oneLine(script: string): Result<string> {
  const lines = script.split('\n').filter((l) => l.trim() !== '');
  if (lines.some((l) => l.trimStart().startsWith('#')))
    return fail(diag('E_NFT_SESSION', 'a transaction for the nft session must not hold comment lines'));
  return ok(lines.join('; '));
}

function echoed(json: string, ns: string | null): Result<NftJsonRule[]> {
  try {
    return ok(json.trim() ? jsonRules(json) : []);
  } catch (e) {
    return fail(diag('E_NFT_READ', `nft's echo is not JSON: ${(e as Error).message}`, ns ? { file: ns } : undefined));
  }
}

/** nft's error lines, each a diagnostic (the input line and carets that follow each are dropped). */
function refusal(text: string, ns: string | null): Diagnostic[] {
  const errors = text.split('\n').filter((l) => /Error:/.test(l));
  const file = `nft transaction${ns ? ` for ${ns}` : ''}`;
  return (errors.length ? errors : [text.trim() || 'nft failed']).map((l) =>
    diag('E_NFT_REJECTED', l.replace(/^[^:]*:\d+:\d+(?:-\d+)?: /, '').trim(), { file }),
  );
}
