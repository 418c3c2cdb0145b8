/**
 * The recording fake of the system driver: every call is recorded in order, and answered by
 * a responder (default: success with empty output). Tests assert the exact commands a plan
 * or an operation issues, without root.
 */
import { PassThrough } from 'node:stream';
import {
  inNamespace,
  type DaemonSpec,
  type ExitStatus,
  type RunOptions,
  type RunResult,
  type SpawnOptions,
  type Spawned,
  type System,
} from './system.js';

export type RecordedCall =
  | { kind: 'run'; argv: string[]; ns?: string; input?: string }
  | { kind: 'spawn'; argv: string[]; ns?: string }
  | { kind: 'daemon'; argv: string[]; ns?: string; env?: Record<string, string>; cwd?: string; log: string; pid: number }
  | { kind: 'stop'; pids: number[] };

export type Responder = (argv: string[], opts: RunOptions) => Partial<RunResult> | undefined;
/** Answers one line written to a spawned child's stdin (an interactive `nft -j -i`), on its stdout and stderr. */
export type SessionResponder = (argv: string[], line: string) => Partial<RunResult> | undefined;

export class RecordingSystem implements System {
  readonly calls: RecordedCall[] = [];
  private nextPid = 1000;
  private readonly live = new Set<number>();

  /** Lines written to spawned children, in order. */
  readonly sessionLines: string[] = [];

  constructor(
    private readonly responder: Responder = () => undefined,
    private readonly session?: SessionResponder,
  ) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ kind: 'run', argv, ...(opts.ns ? { ns: opts.ns } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}) });
    const r = this.responder(argv, opts) ?? {};
    return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  spawn(argv: string[], opts: SpawnOptions = {}): Spawned {
    this.calls.push({ kind: 'spawn', argv, ...(opts.ns ? { ns: opts.ns } : {}) });
    const pid = this.nextPid++;
    let finish: (s: ExitStatus) => void = () => {};
    const exited = new Promise<ExitStatus>((r) => (finish = r));
    const stdout = opts.stdout ? new PassThrough() : null;
    const stderr = opts.stderr ? new PassThrough() : null;
    const stdin = opts.stdin ? new PassThrough() : null;
    // A child that has exited answers nothing more.
    let ended = false;
    if (stdin && this.session) {
      const answer = this.session;
      let buf = '';
      stdin.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        for (let nl = buf.indexOf('\n'); nl >= 0 && !ended; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.sessionLines.push(line);
          const r = answer(argv, line) ?? {};
          if (r.stdout) stdout?.write(r.stdout);
          if (r.stderr) stderr?.write(r.stderr);
          if (r.code !== undefined && r.code !== 0) {
            ended = true;
            stdout?.end();
            finish({ code: r.code, signal: null });
          }
        }
      });
    }
    return {
      pid,
      stdin,
      stdout,
      stderr,
      exited,
      startError: Promise.resolve(null),
      kill: () => {
        ended = true;
        stdout?.end();
        finish({ code: null, signal: 'SIGTERM' });
      },
    };
  }

  daemon(spec: DaemonSpec): { pid: number } {
    const pid = this.nextPid++;
    this.live.add(pid);
    this.calls.push({
      kind: 'daemon',
      argv: spec.argv,
      ...(spec.ns ? { ns: spec.ns } : {}),
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      log: spec.log,
      pid,
    });
    return { pid };
  }

  alive(pid: number): boolean {
    return this.live.has(pid);
  }

  async stop(pids: number[]): Promise<void> {
    this.calls.push({ kind: 'stop', pids });
    for (const p of pids) this.live.delete(p);
  }

  /** The commands run so far, as the shell would show them (namespaces spelled out). */
  commandLines(): string[] {
    return this.calls.flatMap((c) =>
      c.kind === 'stop'
        ? [`stop ${c.pids.join(' ')}`]
        : c.kind === 'daemon'
          ? [`daemon ${inNamespace(c.ns, c.argv).join(' ')}`]
          : [inNamespace(c.ns, c.argv).join(' ')],
    );
  }
}
