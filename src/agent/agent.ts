/**
 * The node agent: runs the collectors its settings make active, each at its period, ships
 * what they collect, and reports what that costs. Settings change at run time from the bus
 * (verbosity changes on the control subject, acknowledged with a 'config' record); so does
 * the node's configuration (pushes on the config subject, acknowledged with their version).
 *
 * Collector runs and control changes go through one lane, one at a time: a run's CPU is then
 * its own, and a change never lands in the middle of a run. Shipping runs beside the lane, so
 * a broker that hangs delays records, never collection.
 *
 * Notices take neither the lane nor the batches: at every level, each new row of a monitor's
 * notice.log is published on the bus as soon as it is written (notices.ts), then stored with
 * the next batch.
 */
import { createHash } from 'node:crypto';
import type { BrokerRecord, Subscription } from '../broker/index.js';
import { diag, fail, FlowtapError, ok, type Result } from '../diagnostics/index.js';
import type { Collector, Draft } from './collector.js';
import { ConfigApplier } from './config-push.js';
import { CostMeter, realCpuReader, type CostReport, type CpuReader } from './cost.js';
import { countersCollector } from './counters.js';
import { flowsCollector } from './flows.js';
import { instanceLogsCollector } from './instance-logs.js';
import { interfacesCollector } from './interfaces.js';
import { monitorLogsCollector } from './monitor-logs.js';
import { nodeAccess, realNetnsProbe } from './netns.js';
import { NoticeWatcher, type NoticeStats } from './notices.js';
import { checkOptions, type AgentOptions } from './options.js';
import {
  applyVerbosity,
  COLLECTORS,
  DEFAULT_PERIOD_MS,
  initialSettings,
  isActive,
  parseVerbosity,
  passes,
  type CollectorName,
  type Settings,
} from './settings.js';
import { Shipper, type LossReport, type ShipperStats } from './shipper.js';
import { syscallsCollector } from './syscalls.js';
import { ALL_NODES, configSubject, controlPattern, recordsSubject, subjectToken } from './subjects.js';

/** The name under which the agent reports the cost of everything that is not a collector run. */
const AGENT_COST = 'agent';
/**
 * The backstop of the shipper's flushes: a period's records go out right after the period's
 * run, acknowledgements and notices at once, so this only bounds what else waits. Each flush is
 * a transaction (and in the embedded store a checkpoint): at level 1 one a period, not one a second.
 */
const FLUSH_MS = 5000;

export interface AgentStats {
  active: CollectorName[];
  settings: Settings;
  shipper: ShipperStats;
  /** Runs per collector since the start. */
  runs: Partial<Record<CollectorName, number>>;
  /** The notices path: rows read, skipped, and how many reads' notices the bus refused (stored all the same). */
  notices: NoticeStats & { publishFailures: number };
}

export interface AgentHandle {
  settings(): Settings;
  /** The same as a message on the control subject (acknowledged the same way). */
  apply(change: unknown): Promise<Result<Settings>>;
  /** The same as a message on the config subject. */
  configure(push: unknown): Promise<void>;
  stats(): AgentStats;
  /** Ships what is buffered now; false when the store refused. */
  flush(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Starts an agent. An entry point: options that cannot work (an instance in the node's own
 * namespace, the agent itself inside an instance's) are thrown as FlowtapError.
 */
export async function runAgent(opts: AgentOptions, cpu: CpuReader = realCpuReader): Promise<AgentHandle> {
  const checked = checkOptions(opts);
  if (!checked.ok) throw new FlowtapError(checked.errors);
  const probe = opts.netns ?? realNetnsProbe;
  const own = probe.own();
  const inside = opts.instances.find((i) => own !== null && probe.named(i.ns) === own);
  if (inside)
    throw new FlowtapError(
      diag(
        'E_AGENT_NS',
        `the agent runs in instance ${inside.name}'s namespace (${inside.ns}); it must run in the node's, where instances cannot reach it`,
      ),
    );
  const agent = new Agent(opts, cpu);
  const handle = agent.handle();
  try {
    await agent.start();
  } catch (e) {
    // A bus that refused a subscription must not leave collectors (a bpftrace child) running.
    await handle.stop();
    throw e;
  }
  return handle;
}

class Agent {
  private settings: Settings;
  private readonly collectors = new Map<CollectorName, Collector>();
  private readonly active = new Set<CollectorName>();
  private readonly nextDue = new Map<CollectorName, number>();
  private readonly runs: Partial<Record<CollectorName, number>> = {};
  /** Each collector's settings as it last heard of them. */
  private readonly applied = new Map<CollectorName, string>();
  private readonly meter: CostMeter;
  private readonly shipper: Shipper;
  private readonly applier: ConfigApplier;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly costPeriodMs: number;
  private lane: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private nextCost = 0;
  private subs: Subscription[] = [];
  private stopped = false;
  private readonly notices: NoticeWatcher;
  /** Notice publishes, one after the other so the bus has them in the order they were written. */
  private publishing: Promise<void> = Promise.resolve();
  private publishFailures = 0;

  constructor(
    private readonly o: AgentOptions,
    cpu: CpuReader,
  ) {
    this.now = o.now ?? Date.now;
    this.log = o.log ?? ((l) => process.stderr.write(`flowtap agent ${o.node}: ${l}\n`));
    this.costPeriodMs = o.costPeriodMs ?? 5000;
    this.settings = initialSettings(o.level ?? 1, o.periodMs ?? DEFAULT_PERIOD_MS, o.settings);
    this.meter = new CostMeter(cpu, this.now);
    const node = nodeAccess(o.system, o.nodeNs, o.netns ?? realNetnsProbe);
    this.applier = new ConfigApplier(node, o.node, o.onConfig, this.now, o.ovsBridge ? { ovsBridge: o.ovsBridge } : {});
    this.shipper = new Shipper({
      ...o.shipping,
      store: o.broker.store,
      bus: o.broker.bus,
      subjectOf: (r) => recordsSubject(o.tenant, o.app, o.node, r.kind),
      lossRecord: (loss) => this.stamp({ kind: 'agent-cost', data: lossData(loss) }),
      onShipped: (source, n, bytes) => this.meter.shipped(source, n, bytes),
      onError: (m) => this.log(m),
      now: this.now,
    });
    const made: Record<CollectorName, () => Collector> = {
      counters: () => countersCollector(node, o.tables, o.monitors, o.instances),
      interfaces: () => interfacesCollector(node, o.instances),
      flows: () => flowsCollector(node, o.instances),
      logs: () => instanceLogsCollector(o.instances),
      'monitor-logs': () => monitorLogsCollector(o.monitors, o.instances, o.monitorLogs),
      syscalls: () =>
        syscallsCollector(o.system, o.instances, {
          probe: o.netns ?? realNetnsProbe,
          onHandlerCpu: (us) => this.meter.addSelfCpu('syscalls', us),
          wake: () => this.wake('syscalls'),
        }),
    };
    for (const c of COLLECTORS) this.collectors.set(c, o.collectors?.[c] ?? made[c]());
    this.notices = new NoticeWatcher({
      monitors: o.monitors,
      instances: o.instances,
      deliver: (drafts) => this.publishNotices(drafts),
      pollMs: o.noticePollMs,
      now: this.now,
      log: this.log,
    });
  }

  async start(): Promise<void> {
    // First: a notice written while the agent starts up is an alert all the same.
    await this.notices.start();
    this.meter.startResidual(AGENT_COST);
    this.nextCost = this.now() + this.costPeriodMs;
    await this.inLane(() => this.reconcile());
    this.ack({ what: 'agent', event: 'started', settings: summary(this.settings, this.active) });
    const { tenant, app, node } = this.o;
    const bus = this.o.broker.bus;
    // One subscription for this node's and every node's changes keeps them in the order they were sent.
    const control = controlPattern(tenant, app);
    this.subs.push(
      await bus.subscribe(
        control,
        async (m) => {
          const target = m.subject.slice(m.subject.lastIndexOf('.') + 1);
          if (target !== subjectToken(node) && target !== ALL_NODES) return;
          await this.control(m.data, m.seq);
        },
        this.o.replayControl === false ? {} : { fromTime: this.o.controlSince ?? 0 },
      ),
    );
    // Durable: a restarted agent takes the pushes made while it was down, and not again the
    // ones it acknowledged. A node's first agent takes every push made for the node so far
    // (versions skip the stale ones), so a push sent before it subscribed is not lost.
    this.subs.push(
      await bus.subscribe(configSubject(tenant, app, node), (m) => this.configure(m.data, m.seq), {
        durable: configConsumer(tenant, app, node),
        fromTime: 0,
      }),
    );
    this.flushTimer = setInterval(() => void this.shipper.flush(), this.o.flushMs ?? FLUSH_MS);
    this.schedule();
  }

  handle(): AgentHandle {
    return {
      settings: () => structuredClone(this.settings),
      apply: (change) => this.control(change, null),
      configure: (push) => this.configure(push, null),
      stats: () => ({
        active: [...this.active],
        settings: structuredClone(this.settings),
        shipper: this.shipper.stats(),
        runs: { ...this.runs },
        notices: { ...this.notices.stats(), publishFailures: this.publishFailures },
      }),
      flush: () => this.shipper.flush(true),
      stop: () => this.stop(),
    };
  }

  /** Runs `fn` after everything queued before it; one at a time. */
  private inLane<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn);
    this.lane = run.catch(() => undefined);
    return run;
  }

  private stamp(d: Draft): BrokerRecord {
    const { tenant, app, node } = this.o;
    return { ...d, ts: d.ts ?? this.now(), tenant, app, node };
  }

  /** Records of the agent itself (acknowledgements, cost) are shipped whatever the filters say. */
  private emit(d: Draft): void {
    this.shipper.enqueue(this.stamp(d), AGENT_COST);
  }

  /**
   * Whatever the level and the filters: a notice is an alert to react to, not context to
   * sample. Published at once (one message per read of a notice.log, on the records subject of
   * kind notice, the shape the shipper publishes), then stored with the next batch and not
   * published again; a notice the bus refused is published with that batch instead.
   */
  private publishNotices(drafts: Draft[]): void {
    const records = drafts.map((d) => this.stamp(d));
    const { tenant, app, node } = this.o;
    const subject = recordsSubject(tenant, app, node, 'notice');
    this.publishing = this.publishing.then(async () => {
      let published = true;
      try {
        await this.o.broker.bus.publish(subject, { records });
      } catch (e) {
        published = false;
        this.publishFailures++;
        this.log(`cannot publish ${records.length} notices on ${subject} now (${errorText(e)}); they go with the next batch`);
      }
      for (const r of records) this.shipper.enqueue(r, AGENT_COST, published);
      // Stored soon rather than at the next flush: a controller may look its context up by the notice.
      void this.shipper.flush();
    });
  }

  private ack(data: Record<string, unknown>): void {
    this.emit({ kind: 'config', data });
    void this.shipper.flush();
  }

  private async control(msg: unknown, seq: number | null): Promise<Result<Settings>> {
    return this.inLane(async () => {
      const parsed = parseVerbosity(msg);
      const next = parsed.ok
        ? applyVerbosity(
            this.settings,
            parsed.value,
            this.o.instances.map((i) => i.name),
          )
        : parsed;
      // The sender's id leads the acknowledgement, so `flowtap verbosity` finds its answers by it.
      const id = requestId(msg);
      if (!next.ok) {
        this.ack({ what: 'verbosity', ...id, outcome: 'rejected', seq, request: msg, errors: next.errors.map((e) => e.message) });
        return fail(next.errors);
      }
      this.settings = next.value;
      await this.reconcile();
      this.ack({ what: 'verbosity', ...id, outcome: 'applied', seq, request: msg, settings: summary(this.settings, this.active) });
      this.schedule();
      return ok(structuredClone(this.settings));
    });
  }

  private async configure(msg: unknown, seq: number | null): Promise<void> {
    await this.inLane(async () => {
      const a = await this.applier.apply(msg);
      if (a.outcome === 'failed' || a.outcome === 'rejected')
        this.log(`configuration ${a.kind} version ${a.version} ${a.outcome}: ${(a.errors ?? []).join('; ')}`);
      this.ack({ what: 'config', seq, ...a });
    });
  }

  /** Starts what the settings switch on, stops what they switch off, tells the others of changes. */
  private async reconcile(): Promise<void> {
    const now = this.now();
    for (const name of COLLECTORS) {
      const c = this.collectors.get(name)!;
      const s = this.settings[name];
      const before = this.applied.get(name);
      this.applied.set(name, JSON.stringify(s));
      const want = isActive(name, s);
      if (want && !this.active.has(name)) {
        try {
          await c.start?.(s);
        } catch (e) {
          this.meter.error(name, [`start: ${errorText(e)}`]);
        }
        this.active.add(name);
        // Right away: records appear within a period of the change, not two.
        this.nextDue.set(name, now);
      } else if (!want && this.active.has(name)) {
        this.meter.sampleChildren(name, c.childPids?.() ?? []);
        try {
          await c.stop?.();
        } catch (e) {
          this.meter.error(name, [`stop: ${errorText(e)}`]);
        }
        this.meter.sampleChildren(name, []);
        this.active.delete(name);
        this.nextDue.delete(name);
        // The last window's cost, so the drop in cost shows as soon as the level does.
        this.emitCost(this.meter.report(name, s.level, s.periodMs), true);
        this.meter.reset(name);
      } else if (want && before !== this.applied.get(name)) {
        try {
          await c.update?.(s);
        } catch (e) {
          this.meter.error(name, [`update: ${errorText(e)}`]);
        }
        const due = this.nextDue.get(name) ?? now;
        this.nextDue.set(name, Math.min(due, now + s.periodMs));
      }
    }
  }

  private wake(name: CollectorName): void {
    if (!this.active.has(name) || this.stopped) return;
    this.nextDue.set(name, this.now());
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let due = this.nextCost;
    for (const d of this.nextDue.values()) due = Math.min(due, d);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, due - this.now()));
  }

  private async tick(): Promise<void> {
    this.timer = null;
    await this.inLane(async () => {
      for (const name of COLLECTORS) {
        if (this.stopped) return;
        const due = this.nextDue.get(name);
        if (due === undefined || due > this.now()) continue;
        await this.runCollector(name);
      }
      if (this.now() >= this.nextCost) {
        this.nextCost = this.now() + this.costPeriodMs;
        this.emitCost(this.meter.residualReport(AGENT_COST, this.maxLevel(), this.costPeriodMs), false, this.noticeCounts());
      }
    }).catch((e) => this.log(`tick: ${errorText(e)}`));
    // A period's records together, in one transaction.
    void this.shipper.flush();
    this.schedule();
  }

  private async runCollector(name: CollectorName): Promise<void> {
    const c = this.collectors.get(name)!;
    const s = this.settings[name];
    const started = this.now();
    await this.meter.measure(name, async () => {
      try {
        const r = await c.collect(s, started);
        for (const d of r.records) if (passes(s, d.kind, d.instance)) this.shipper.enqueue(this.stamp(d), name);
        if (r.errors?.length) this.meter.error(name, r.errors);
      } catch (e) {
        this.meter.error(name, [errorText(e)]);
      }
      this.meter.sampleChildren(name, c.childPids?.() ?? []);
    });
    this.runs[name] = (this.runs[name] ?? 0) + 1;
    // Keep the beat: the next run is a period after this one was due, not after it ended.
    const due = this.nextDue.get(name) ?? started;
    this.nextDue.set(name, Math.max(due + s.periodMs, this.now()));
    this.emitCost(this.meter.report(name, s.level, s.periodMs), false);
  }

  private emitCost(r: CostReport, final: boolean, extra: Record<string, unknown> = {}): void {
    if (r.errors) this.log(`${r.collector}: ${r.errors.join('; ')}`);
    this.emit({ kind: 'agent-cost', data: { ...r, ...extra, ...(final ? { final: true } : {}) } });
  }

  /** The notices path's counts since the start, in the agent's own cost record: skipped rows are visible there. */
  private noticeCounts(): Record<string, unknown> {
    return { notices: { ...this.notices.stats(), publishFailures: this.publishFailures } };
  }

  private maxLevel(): number {
    return Math.max(...COLLECTORS.map((c) => this.settings[c].level));
  }

  private async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    for (const s of this.subs) await s.unsubscribe().catch(() => undefined);
    // Notices read until now are published and in the buffer before the last flush.
    await this.notices.stop();
    await this.publishing;
    await this.inLane(async () => {
      for (const name of [...this.active]) {
        const c = this.collectors.get(name)!;
        this.meter.sampleChildren(name, c.childPids?.() ?? []);
        await c.stop?.().catch(() => undefined);
        this.meter.sampleChildren(name, []);
        const s = this.settings[name];
        this.emitCost(this.meter.report(name, s.level, s.periodMs), true);
      }
      this.active.clear();
      this.emitCost(this.meter.residualReport(AGENT_COST, this.maxLevel(), this.costPeriodMs), true, this.noticeCounts());
      this.emit({ kind: 'config', data: { what: 'agent', event: 'stopped' } });
    });
    if (!(await this.shipper.flush(true))) {
      const st = this.shipper.stats();
      this.log(`stopping with ${st.buffered} records (${st.bufferedBytes} bytes) the store did not take`);
    }
  }
}

/** The durable consumer of a node's configuration pushes: 1-64 letters, digits, `_` or `-`, as buses take them. */
export function configConsumer(tenant: string, app: string, node: string): string {
  const name = `agent-config-${tenant}-${app}-${node}`.replace(/[^A-Za-z0-9_-]/g, '_');
  if (name.length <= 64) return name;
  // Long names keep a readable head and a hash that tells them apart.
  return `${name.slice(0, 51)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

function lossData(loss: LossReport): Record<string, unknown> {
  return { collector: 'shipper', event: 'loss', ...loss };
}

function summary(settings: Settings, active: Set<CollectorName>): Record<string, unknown> {
  return Object.fromEntries(COLLECTORS.map((c) => [c, { ...settings[c], active: active.has(c) }]));
}

function requestId(msg: unknown): { id?: string } {
  const id = (msg as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? { id } : {};
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
