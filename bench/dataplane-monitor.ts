/**
 * The data-plane bench's consumer of the copies: flowtap's own monitor, as the local cloud runs
 * it (`flowtap monitor --iface any` in a monitor namespace, with the model, logs as JSON), for
 * the length of one measurement. What it read comes from its closing report (packets through
 * its engine) and its stats.log (tcpdump's counts, the kernel's drops among them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spawned, System } from '../src/system/index.js';

export interface MonitorReading {
  /** Packets the monitor's engine handled. */
  seen: number;
  /** tcpdump's counts at exit: handed to the monitor, and dropped by the kernel for want of buffer space. */
  captured: number;
  dropped: number;
}

const READY_MS = 15_000;
const STOP_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MonitorConsumer {
  private stderr = '';
  private running = true;

  private constructor(
    private readonly system: System,
    private readonly child: Spawned,
    private readonly logDir: string,
    readonly ns: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => {
      // The closing report is the last line; a run that logs a warning per second must not grow this forever.
      this.stderr = (this.stderr + d.toString('utf8')).slice(-(1 << 20));
    });
    // Notices go to stdout; they are in notice.log too, so reading them only keeps the pipe flowing.
    child.stdout?.resume();
    void child.exited.then(() => (this.running = false));
  }

  /** Starts the monitor in `ns` and returns once its capture program runs (plus a moment for it to attach). */
  static async start(system: System, ns: string, argv: string[], logDir: string, cwd: string): Promise<MonitorConsumer> {
    const child = system.spawn(argv, { ns, cwd, stdout: true, stderr: true });
    const m = new MonitorConsumer(system, child, logDir, ns);
    const startError = await child.startError;
    if (startError) throw new Error(`cannot start the monitor in ${ns}: ${startError.message}`);
    const deadline = Date.now() + READY_MS;
    // `ip netns exec` execs the command, so the pid is the monitor's and tcpdump is its child.
    while (!(await m.capturing())) {
      if (!m.running || Date.now() > deadline) {
        await m.kill();
        throw new Error(`the monitor in ${ns} did not start capturing: ${m.stderr.trim().slice(-500) || 'no output'}`);
      }
      await sleep(50);
    }
    await sleep(300);
    return m;
  }

  private async capturing(): Promise<boolean> {
    if (this.child.pid === undefined) return false;
    return (await this.system.run(['pgrep', '-P', String(this.child.pid), 'tcpdump'])).code === 0;
  }

  /** Stops the monitor as Ctrl-C would (it drains what tcpdump still holds) and reads what it saw. */
  async stop(): Promise<MonitorReading> {
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_MS);
    const { code } = await this.child.exited;
    clearTimeout(timer);
    const line = this.stderr
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('{'));
    if (code !== 0 || !line) throw new Error(`the monitor in ${this.ns} exited ${code}: ${this.stderr.trim().slice(-500)}`);
    const report = JSON.parse(line) as { summary: { packets: number } | null };
    const stats = this.lastStats();
    return { seen: report.summary?.packets ?? 0, captured: stats.captured, dropped: stats.dropped };
  }

  /** tcpdump's totals from the last stats.log row (written as the capture ends). */
  private lastStats(): { captured: number; dropped: number } {
    const file = join(this.logDir, 'stats.log');
    if (!existsSync(file)) throw new Error(`the monitor in ${this.ns} wrote no stats.log in ${this.logDir}`);
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'));
    if (!rows.length) throw new Error(`${file} has no row`);
    const last = JSON.parse(rows[rows.length - 1]) as Record<string, unknown>;
    const num = (k: string) => {
      const v = last[k];
      if (typeof v !== 'number') throw new Error(`${file}: no number in ${k}`);
      return v;
    };
    return { captured: num('run_pkts_proc'), dropped: num('run_pkts_dropped') };
  }

  async kill(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.child.exited;
    }
  }
}
