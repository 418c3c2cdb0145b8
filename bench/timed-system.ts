import type { RunOptions, RunResult, System } from '../src/system/index.js';

/**
 * The system driver with every run timed, summed by a kind the bench names (`nft -f`, `bundle`,
 * ...), so a table can say where an operation's time went. Spawned children are not timed.
 */
export class TimedSystem implements System {
  private spent = new Map<string, number>();
  constructor(
    private readonly inner: System,
    private readonly kindOf: (argv: string[]) => string,
  ) {}
  async run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    const t0 = performance.now();
    const r = await this.inner.run(argv, opts);
    const kind = this.kindOf(argv);
    this.spent.set(kind, (this.spent.get(kind) ?? 0) + performance.now() - t0);
    return r;
  }
  spawn(...a: Parameters<System['spawn']>) {
    return this.inner.spawn(...a);
  }
  daemon(...a: Parameters<System['daemon']>) {
    return this.inner.daemon(...a);
  }
  alive(pid: number) {
    return this.inner.alive(pid);
  }
  stop(...a: Parameters<System['stop']>) {
    return this.inner.stop(...a);
  }
  /** Milliseconds spent since the last take, by kind. */
  take(): Map<string, number> {
    const out = this.spent;
    this.spent = new Map();
    return out;
  }
}
