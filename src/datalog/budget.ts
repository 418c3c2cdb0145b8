/**
 * The bounds of one evaluation: tuples, wall-clock time and memory. A runaway program (a
 * rule that derives without end, a join that explodes) must end in one E_DL_LIMIT naming
 * the rule to blame, well before the process runs out of memory or a JavaScript Map hits
 * its maximum size.
 *
 * The joins call `check()` only every STEPS_PER_CHECK visited rows, so the clock and the
 * memory probe cost nothing measurable per tuple.
 */
import { diag, type Diagnostic } from '../diagnostics/index.js';
import type { Rule } from './ast.js';
import { formatRule } from './format.js';

/** Defaults that fit a command line: a few seconds, a few hundred MB. */
export const DEFAULT_MAX_TUPLES = 50_000_000;
export const DEFAULT_MAX_SECONDS = 10;
export const DEFAULT_MAX_MB = 512;

/** Rows a join may visit between two clock reads (well under a millisecond of work). */
const STEPS_PER_CHECK = 1 << 14;
/** Reading the process's memory costs a system call: do it on every 8th check only. */
const CHECKS_PER_MEMORY = 8;

/** Where the bounds are read from; the real one uses the process, tests pass a fake. */
export interface ResourceProbe {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Bytes the process holds now (resident set). */
  memoryBytes(): number;
}

const processProbe: ResourceProbe = {
  now: () => performance.now(),
  memoryBytes: () => process.memoryUsage.rss(),
};

export interface Bounds {
  maxTuples: number;
  maxSeconds: number;
  maxMb: number;
}

/** Unwinds the join closures when evaluation cannot go on; caught by evaluate, never seen by callers. */
export class Stop extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

const HINT = 'Does it derive without bound (e.g. through plus), or join atoms that share no variable?';

type Exceeded = 'tuples' | 'time' | 'memory' | 'size';

export class Budget {
  /** Rows the joins may still visit before the next check; exec.ts counts it down. */
  left = STEPS_PER_CHECK;
  /** Index of the rule whose join is running, or -1. */
  running = -1;
  private total = 0;
  private checks = 0;
  private readonly deadline: number;
  private readonly memoryStart: number;
  /** New tuples per rule in this round and the one before. */
  private cur: Float64Array;
  private prev: Float64Array;
  private readonly totals: Float64Array;

  constructor(
    private readonly rules: readonly Rule[],
    private readonly bounds: Bounds,
    private readonly probe: ResourceProbe = processProbe,
  ) {
    this.deadline = probe.now() + bounds.maxSeconds * 1000;
    this.memoryStart = probe.memoryBytes();
    this.cur = new Float64Array(rules.length);
    this.prev = new Float64Array(rules.length);
    this.totals = new Float64Array(rules.length);
  }

  /** A tuple of the program or the input was stored. */
  stored(): void {
    if (++this.total > this.bounds.maxTuples) throw new Stop(this.exceeded('tuples'));
  }

  /** Rule `rule` stored a new tuple. */
  derived(rule: number): void {
    this.cur[rule]++;
    this.totals[rule]++;
    this.stored();
  }

  /** A fixpoint iteration begins: the counts of the last two rounds name the culprit. */
  round(): void {
    const t = this.prev;
    this.prev = this.cur;
    this.cur = t.fill(0);
  }

  check(): void {
    this.left = STEPS_PER_CHECK;
    if (this.probe.now() > this.deadline) throw new Stop(this.exceeded('time'));
    if (++this.checks % CHECKS_PER_MEMORY === 0 && this.probe.memoryBytes() - this.memoryStart > this.bounds.maxMb * 2 ** 20) {
      throw new Stop(this.exceeded('memory'));
    }
  }

  /** A Map, Set or typed array grew past what JavaScript allows (a RangeError). */
  tooLarge(e: RangeError): Diagnostic {
    return this.exceeded('size', e.message);
  }

  private exceeded(kind: Exceeded, detail = ''): Diagnostic {
    const b = this.bounds;
    const what =
      kind === 'tuples'
        ? `evaluation stopped after ${b.maxTuples} tuples (maxTuples)`
        : kind === 'time'
          ? `evaluation stopped after ${b.maxSeconds} s (maxSeconds)`
          : kind === 'memory'
            ? `evaluation stopped past ${b.maxMb} MB of memory (maxMb)`
            : `evaluation stopped: its tables outgrew JavaScript's limits (${detail})`;
    let best = -1;
    let most = 0;
    for (let i = 0; i < this.rules.length; i++) {
      const n = this.cur[i] + this.prev[i];
      if (n > most) {
        most = n;
        best = i;
      }
    }
    if (best >= 0) {
      const r = this.rules[best];
      return diag(
        'E_DL_LIMIT',
        `${what}: rule ${best} keeps deriving (${this.totals[best]} tuples so far): ${formatRule(r)} ${HINT}`,
        r.loc,
      );
    }
    if (this.running >= 0) {
      const r = this.rules[this.running];
      return diag('E_DL_LIMIT', `${what}: the join of rule ${this.running} was running: ${formatRule(r)} ${HINT}`, r.loc);
    }
    return diag('E_DL_LIMIT', `${what} while loading facts`);
  }
}
