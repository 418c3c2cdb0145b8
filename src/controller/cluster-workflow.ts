/**
 * The firewall workflow of an application on a cluster: the firewall is inferred and applied
 * once on start, then again after every change to what it is inferred from (a pod deployed or
 * gone, a workload, Service, namespace or requirements change). Changes are debounced, so the
 * burst of events a rollout makes is one workflow, and workflows run one at a time.
 *
 * Each workflow is a chain of 'config' records sharing one `workflow` id, as the local cloud's
 * workflows are (workflows.ts): `rendered` (what triggered it, the rules inferred), then
 * `applied` (the policies created, replaced, unchanged and deleted) or `failed`. There is no
 * `verified` step: a cluster's CNI enforces the policies and nothing here can probe from inside
 * pods. Every lifecycle event is a 'lifecycle' record.
 */
import type { BrokerRecord } from '../broker/index.js';
import { type Diagnostic, FlowtapError } from '../diagnostics/index.js';
import type { Ruleset } from '../firewall/index.js';
import type { App } from '../model/index.js';
import type { LifecycleEvent } from '../orchestrator/index.js';
import { lifecycleRecord } from './records.js';

export interface PolicyChanges {
  created: string[];
  replaced: string[];
  unchanged: string[];
  deleted: string[];
}

/** What the workflow needs of a cluster; the Kubernetes adapter's KubernetesCluster has it all. */
export interface ClusterFirewall {
  readonly app: App;
  onEvent(listener: (e: LifecycleEvent) => void): () => void;
  /** Changes to the model other than pods': the namespace, workloads, Services, requirements. */
  onChange(listener: (c: { type: string; kind: string; name: string }) => void): () => void;
  /** Throws (a FlowtapError) while no firewall can be inferred safely. */
  inferredFirewall(): Ruleset;
  applyFirewall(ruleset: Ruleset): Promise<PolicyChanges>;
}

export interface ClusterWorkflow {
  workflow: string;
  /** `deployed` for the first one (the application as found), `changed` after. */
  kind: 'deployed' | 'changed';
  /** What started it, summarised: `start`, `deployed web-5d9c7-x2k4p, ...`, `Deployment cache added`. */
  trigger: string[];
  /** Lifecycle events and model changes it covers. */
  changes: number;
  rules?: number;
  policies?: PolicyChanges;
  /** Why it failed, on one line; `errors` has the diagnostics when there are any. */
  error?: string;
  errors?: Diagnostic[];
  ms: number;
  ok: boolean;
}

/** Cancels what it scheduled. */
type Schedule = (fn: () => void, ms: number) => () => void;

export interface ClusterWorkflowOptions {
  cluster: ClusterFirewall;
  /** Stores records in the broker; a failure is logged and the workflows go on. */
  append: (records: BrokerRecord[]) => Promise<void>;
  /** The deployment the records belong to (on a cluster: when the namespace was made). */
  deployment: string;
  /** Quiet time after the last change before a workflow starts (default 300 ms). */
  debounceMs?: number;
  /** Longest a change waits when changes never stop coming (default 10 × debounceMs). */
  maxDelayMs?: number;
  now?: () => number;
  schedule?: Schedule;
  onEvent?: (e: LifecycleEvent) => void;
  onWorkflow?: (w: ClusterWorkflow) => void;
  log?: (line: string) => void;
}

/** Pod events that change what the firewall is inferred from; `deploying` pods have no address yet. */
const MODEL_EVENTS: ReadonlySet<string> = new Set(['deployed', 'terminated', 'failed']);
const CHANGE_WORDS: Record<string, string> = { ADDED: 'added', MODIFIED: 'changed', DELETED: 'removed' };
/** Names listed per group of a trigger; a rollout of 100 pods is summarised, not listed. */
const NAMES_SHOWN = 3;

const realSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class ClusterWorkflows {
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  private readonly schedule: Schedule;
  private readonly log: (line: string) => void;
  /** Group (`deployed`, `Deployment added`) -> names, in arrival order. */
  private pending = new Map<string, string[]>();
  private pendingCount = 0;
  private firstPendingAt = 0;
  private cancelTimer: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private writes: Promise<void> = Promise.resolve();
  private offs: (() => void)[] = [];
  private stopped = false;
  private last = 0;
  readonly history: ClusterWorkflow[] = [];

  constructor(private readonly opts: ClusterWorkflowOptions) {
    this.debounceMs = opts.debounceMs ?? 300;
    this.maxDelayMs = opts.maxDelayMs ?? this.debounceMs * 10;
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? realSchedule;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Follows the cluster and runs the first workflow; resolves once that one has ended. */
  async start(): Promise<ClusterWorkflow> {
    const c = this.opts.cluster;
    this.offs.push(
      c.onEvent((e) => this.onEvent(e)),
      c.onChange((ch) => this.note(`${ch.kind}|${CHANGE_WORDS[ch.type] ?? ch.type.toLowerCase()}`, ch.name)),
    );
    return this.runNow('deployed', ['start'], 0);
  }

  /** Stops following; a running workflow ends first, changes still waiting are dropped (the policies in force stay). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.offs.splice(0)) off();
    this.cancelTimer?.();
    this.cancelTimer = null;
    await this.running;
    await this.writes;
  }

  private onEvent(e: LifecycleEvent): void {
    const app = this.opts.cluster.app;
    this.write([lifecycleRecord(app.tenant, app.name, e)]);
    this.opts.onEvent?.(e);
    if (MODEL_EVENTS.has(e.type)) this.note(e.type, e.instance ?? e.service ?? '?');
  }

  private note(group: string, name: string): void {
    if (this.stopped) return;
    if (this.pendingCount === 0) this.firstPendingAt = this.now();
    const names = this.pending.get(group) ?? [];
    if (!names.includes(name)) names.push(name);
    this.pending.set(group, names);
    this.pendingCount++;
    this.arm();
  }

  /** Fires after the quiet time, but no later than the longest wait from the first change. */
  private arm(): void {
    this.cancelTimer?.();
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - this.now()));
    this.cancelTimer = this.schedule(() => {
      this.cancelTimer = null;
      void this.fire();
    }, wait);
  }

  private async fire(): Promise<void> {
    // One at a time: what came in meanwhile waits for the running one, then goes as one.
    if (this.running) {
      await this.running;
      // Another fire, or a timer armed since, takes these changes.
      if (this.cancelTimer || this.busy() || this.pendingCount === 0) return;
    }
    if (this.stopped || this.pendingCount === 0) return;
    const trigger = [...this.pending].map(([group, names]) => summarise(group, names));
    const count = this.pendingCount;
    this.pending = new Map();
    this.pendingCount = 0;
    await this.runNow('changed', trigger, count);
  }

  private busy(): boolean {
    return this.running !== null;
  }

  private async runNow(kind: ClusterWorkflow['kind'], trigger: string[], changes: number): Promise<ClusterWorkflow> {
    let done!: () => void;
    this.running = new Promise((r) => (done = r));
    try {
      return await this.workflow(kind, trigger, changes);
    } finally {
      this.running = null;
      done();
    }
  }

  private async workflow(kind: ClusterWorkflow['kind'], trigger: string[], changes: number): Promise<ClusterWorkflow> {
    const c = this.opts.cluster;
    const t0 = this.now();
    // Ids stay unique when two workflows start within one millisecond.
    this.last = Math.max(t0, this.last + 1);
    const workflow = `${kind}-${this.last.toString(36)}`;
    const app = c.app;
    const record = (data: Record<string, unknown>) =>
      this.write([
        {
          ts: this.now(),
          kind: 'config',
          tenant: app.tenant,
          app: app.name,
          provenance: workflow,
          data: { workflow, kind, deployment: this.opts.deployment, trigger, ...data },
        },
      ]);
    const out: ClusterWorkflow = { workflow, kind, trigger, changes, ms: 0, ok: false };
    try {
      const ruleset = c.inferredFirewall();
      out.rules = ruleset.rules.length;
      record({ step: 'rendered', rules: out.rules, changes });
      out.policies = await c.applyFirewall(ruleset);
      out.ms = this.now() - t0;
      out.ok = true;
      record({ step: 'applied', ...out.policies, ms: out.ms });
    } catch (e) {
      out.error = (e instanceof Error ? e.message : String(e)).replaceAll('\n', '; ');
      if (e instanceof FlowtapError) out.errors = e.diagnostics;
      out.ms = this.now() - t0;
      record({ step: 'failed', error: out.error, ...(out.errors ? { errors: out.errors } : {}), ms: out.ms });
    }
    this.history.push(out);
    this.opts.onWorkflow?.(out);
    return out;
  }

  /** In order, one batch after the other; a store that fails loses those records, not the loop. */
  private write(records: BrokerRecord[]): void {
    this.writes = this.writes
      .then(() => this.opts.append(records))
      .catch((e: unknown) => this.log(`cannot store ${records.length} record(s): ${(e as Error)?.message ?? e}`));
  }
}

/** `deployed a, b, c and 7 more`, `Deployment cache added` (a change's group is `KIND|verb`). */
function summarise(group: string, names: string[]): string {
  const shown = `${names.slice(0, NAMES_SHOWN).join(', ')}${names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : ''}`;
  const [what, verb] = group.split('|');
  return verb === undefined ? `${what} ${shown}` : `${what} ${shown} ${verb}`;
}

/** One line for people: `changed-lx2k9a0 (deployed web-1, web-2; Deployment cache added): 5 rules; created cache-flowtap; 2 unchanged; 41 ms`. */
export function describeClusterWorkflow(w: ClusterWorkflow): string {
  const head = `workflow ${w.workflow} (${w.trigger.join('; ')})`;
  if (!w.ok) return `${head}: failed after ${w.ms} ms: ${w.error}`;
  const p = w.policies!;
  const parts = [`${w.rules} rules`];
  for (const [word, names] of [
    ['created', p.created],
    ['replaced', p.replaced],
    ['deleted', p.deleted],
  ] as const)
    if (names.length) parts.push(`${word} ${names.join(', ')}`);
  parts.push(`${p.unchanged.length} unchanged`);
  return `${head}: ${parts.join('; ')}; ${w.ms} ms`;
}
