/**
 * The security controller's closed loop. It follows the notices the agents publish, evaluates
 * the reaction rules on each, passes every concluded action through the guardrails, carries it
 * out through the orchestrator, reads the rules it installed back from the kernel, and later
 * confirms that the offending flow stopped. Reactions expire, can be undone, and wait for an
 * operator where the guardrails say so; every step is a 'reaction' record, so the broker holds
 * the whole chain from a connection's uid to the rules installed, and a restarted controller
 * picks up exactly where the records leave it.
 *
 * Notices and administrator requests go through one lane, one at a time: two reactions never
 * render the data plane at once, and an undo never overtakes the apply it undoes.
 */
import { createHash } from 'node:crypto';
import { appSubject, recordsPattern } from '../agent/index.js';
import type { Broker, BrokerRecord, BusMessage, StoredRecord, Subscription } from '../broker/index.js';
import { diag, FlowtapError, type Diagnostic } from '../diagnostics/index.js';
import type { ApplyReport, Drift } from '../dataplane/index.js';
import type { Fact } from '../datalog/index.js';
import { modelFacts } from '../model/index.js';
import { isProbeSourcePort } from '../net/index.js';
import type { NodePush, Orchestrator, SpecChange } from '../orchestrator/index.js';
import { dropsSince, installedRules, installsRules, ruleLine } from './confirm.js';
import { carryOut, takeBack, type EffectsEnv } from './effects.js';
import { runWorkflow, type WorkflowEnv, type WorkflowOutcome } from './workflows.js';
import { reactionHistory } from './history.js';
import {
  actionKey,
  blastRadius,
  decide,
  describeAction,
  foldReactions,
  instancesByIp,
  isActive,
  noticeFacts,
  noticeView,
  offenderOf,
  propose,
  reactionRecord,
  type InstancesByIp,
  type NoticeView,
  type Reaction,
  type ReactionEvent,
  type ReactionProgram,
} from './reaction/index.js';
import { lifecycleRecord } from './records.js';

export interface ControllerOptions {
  orchestrator: Orchestrator;
  broker: Broker;
  program: ReactionProgram;
  /** Record what would be done, with its blast radius; change nothing. */
  dryRun?: boolean;
  /** Reactions applied per minute before the rest wait for an operator (default 30). */
  maxPerMinute?: number;
  /** How long after an apply the offending flow must have stopped (default 2 s). */
  confirmWindowMs?: number;
  /** Where generated files (inline redirect policies) go. */
  workDir: string;
  /** Durable consumer of the notices: a restarted controller handles what arrived while it was down. */
  durable?: string;
  /**
   * Configure the deployment through its agents and verify it with the live probe: once for a
   * deployment not configured yet, and for every reconfigure request. Off, a reconfigure is
   * applied by the orchestrator directly and not verified.
   */
  workflows?: boolean;
  /** How often expiries are checked (default 1 s). */
  tickMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export interface ControllerStats {
  notices: number;
  /** Notice messages that were not notices (counted, skipped). */
  malformed: number;
  /** Notices no rule reacted to. */
  unanswered: number;
  /** Unauthorized_Connection notices of flowtap's own probe matrix, recorded and not reacted to. */
  probe: number;
  reactions: number;
  drift: Drift[];
}

/** An administrator's request on the admin subject; answered by a record carrying its `request` id. */
export type AdminRequest =
  | { request: string; op: 'approve' | 'undo' | 'keep'; reaction: string; by?: string }
  | { request: string; op: 'reconfigure'; change: SpecChange; by?: string }
  /**
   * flowtap's own live probe matrix is about to run (for at most `ms`) or has ended: its denied
   * attempts are a scan by design, not an attack.
   */
  | { request: string; op: 'probe' | 'probe-end'; ms?: number; by?: string };

export const adminSubject = (tenant: string, app: string) => appSubject(tenant, app, 'admin');
/** Lifecycle records of changes other processes make (the CLI's operations), for the controller to follow. */
export const lifecycleSubject = (tenant: string, app: string) => appSubject(tenant, app, 'lifecycle');
/** Every step of every reaction is also published here, for live views. */
const reactionsSubject = (tenant: string, app: string) => appSubject(tenant, app, 'reactions');

const SEEN_MAX = 10_000;
const PROBE_NOTE = 'FlowTap::Unauthorized_Connection';
const PROBE_GRACE_MS = 3000;
const MINUTE = 60_000;

/** When a notice reached this controller, and when the bus took it in (the agent had shipped it). */
interface Arrival {
  received: number;
  published?: number;
}

export class SecurityController {
  private readonly o: Orchestrator;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly ledger = new Map<string, Reaction>();
  private readonly seen = new Set<string>();
  /** Monitor time of the latest notice per offender (`note|source`), to tell whether a flow stopped. */
  private readonly lastNotice = new Map<string, number>();
  private readonly applied: number[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly subs: Subscription[] = [];
  private readonly effects: EffectsEnv;
  private lane: Promise<unknown> = Promise.resolve();
  private writes: Promise<unknown> = Promise.resolve();
  private tick: NodeJS.Timeout | null = null;
  private cached: { facts: Fact[]; byIp: InstancesByIp; services: Map<string, string> } | null = null;
  private viewKey = '';
  private viewApp: unknown = null;
  private current: string | undefined;
  private stopped = false;
  /** While flowtap's own probe matrix runs (ms, monitor time). */
  private probing: { from: number; until: number } | null = null;
  /** When the deployment served was made: its reactions are this controller's, older ones are not. */
  private deployment = '';
  readonly stats: ControllerStats = { notices: 0, malformed: 0, unanswered: 0, probe: 0, reactions: 0, drift: [] };

  constructor(private readonly opts: ControllerOptions) {
    this.o = opts.orchestrator;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? ((l) => process.stderr.write(`flowtap controller: ${l}\n`));
    this.effects = { orchestrator: this.o, bus: opts.broker.bus, workDir: opts.workDir, baseLevel: this.o.spec().agents?.level ?? 1 };
  }

  private get tenant(): string {
    return this.o.app.tenant;
  }
  private get appName(): string {
    return this.o.app.name;
  }

  /**
   * Rebuilds the ledger from the broker, repairs drift, then follows notices and requests.
   * Rules in force are never touched on the way: what was installed stays installed.
   */
  async start(): Promise<void> {
    this.o.onEvent((e) => {
      const rec = lifecycleRecord(this.tenant, this.appName, e, { by: 'controller', ...(this.current ? { reaction: this.current } : {}) });
      this.write([this.current ? { ...rec, provenance: this.current } : rec]);
    });
    this.deployment = (await this.o.status({ probe: false })).since;
    for (const r of foldReactions(await this.history(), this.deployment).values()) this.ledger.set(r.id, r);
    this.stats.drift = await this.o.reconcile();
    // What was lifted by hand while no controller ran.
    await this.followContext('the deployment as found at start');
    for (const d of this.stats.drift.filter((x) => !x.inForce))
      this.log(
        `drift on ${d.node}: ${d.missing.length} rule(s) missing, ${d.extra.length} extra${d.reason ? ` (${d.reason})` : ''}; repaired`,
      );
    const { tenant, appName: app } = this;
    // One durable consumer per deployment: a restart resumes it, a new deployment of the same app
    // (whose notices before the controller came are not its business) gets a fresh one.
    const durable =
      this.opts.durable ?? `ctl-${createHash('sha256').update(`${tenant}/${app}/${this.deployment}`).digest('hex').slice(0, 16)}`;
    this.subs.push(await this.opts.broker.bus.subscribe(recordsPattern(tenant, app, 'notice'), (m) => this.onNotices(m), { durable }));
    this.subs.push(await this.opts.broker.bus.subscribe(adminSubject(tenant, app), (m) => this.onAdmin(m)));
    // Another process changed the deployment (a shell's `flowtap release`): the ledger follows.
    this.subs.push(
      await this.opts.broker.bus.subscribe(lifecycleSubject(tenant, app), (m) => {
        const by = (m.data as BrokerRecord | null)?.data?.by;
        if (by !== 'controller') void this.enqueue(() => this.followContext(`a lifecycle event from ${String(by ?? 'another process')}`));
      }),
    );
    this.tick = setInterval(() => void this.enqueue(() => this.expire()), this.opts.tickMs ?? 1000);
    this.log(
      `${this.opts.dryRun ? 'dry run: ' : ''}following notices of ${tenant}/${app}; ${[...this.ledger.values()].filter(isActive).length} reaction(s) in force or waiting`,
    );
    if (this.workflows())
      this.configured = this.deployedOnce().catch((e) => {
        this.log(`the deployed workflow failed: ${errorText(e)}`);
        return null;
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tick) clearInterval(this.tick);
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.subs.splice(0)) await s.unsubscribe().catch(() => undefined);
    await this.lane.catch(() => undefined);
    await this.writes.catch(() => undefined);
  }

  reactions(): Reaction[] {
    return [...this.ledger.values()];
  }

  /**
   * Handles one notice record (what the subscription does with each); resolves with its reactions.
   * `published`: when the bus took the message in (its own clock), for the latency split.
   */
  notice(rec: BrokerRecord, published?: number): Promise<Reaction[]> {
    const arrival: Arrival = { received: this.now(), ...(published !== undefined ? { published } : {}) };
    return this.enqueue(() => this.react(rec, arrival));
  }

  /** An administrator's request, as if it came on the admin subject; resolves with the reaction concerned. */
  admin(req: AdminRequest): Promise<Reaction | undefined> {
    // A change of the deployment through the agents: the change in the lane, the probe after it, outside.
    if (req.op === 'reconfigure' && this.workflows())
      return this.workflow('changed', (push) => this.o.reconfigure(req.change, { push }), {
        request: req.request,
        change: req.change,
        ...(req.by ? { by: req.by } : {}),
      }).then(() => undefined);
    return this.enqueue(() => this.handleAdmin(req));
  }

  /** Whether configuration goes through the agents (and is verified): the option, and agents to go through. */
  private workflows(): boolean {
    return this.opts.workflows === true && this.o.spec().agents !== undefined;
  }

  /** Resolves when the deployed workflow this start began (if any) has ended. */
  configured: Promise<WorkflowOutcome | null> = Promise.resolve(null);

  private workflow(
    kind: 'deployed' | 'changed',
    deliver: (push: NodePush) => Promise<Record<string, ApplyReport>>,
    extra: Record<string, unknown> = {},
  ): Promise<WorkflowOutcome> {
    const env: WorkflowEnv = {
      orchestrator: this.o,
      broker: this.opts.broker,
      write: (records) => this.write(records),
      now: this.now,
      inLane: (fn) => this.enqueue(fn),
      probing: (ms) => {
        const now = this.now();
        if (ms !== null) this.probing = { from: now, until: now + ms };
        else if (this.probing) this.probing.until = now + PROBE_GRACE_MS;
      },
      deployment: this.deployment,
    };
    return runWorkflow(env, kind, deliver, extra).then((out) => {
      const v = out.verified;
      this.log(
        `${kind} workflow ${out.workflow}: ${out.pushed.filter((p) => p.outcome !== 'unchanged').length} node(s) configured through their agents; ` +
          (v.skipped ?? `probe ${v.pairs} pairs, ${v.open} open, ${v.missing.length} missing, ${v.extra.length} extra`),
      );
      return out;
    });
  }

  /** A deployment this controller has not configured yet: through the agents, then verified. Once per deployment. */
  private async deployedOnce(): Promise<WorkflowOutcome | null> {
    const done = await this.opts.broker.store.query({
      tenant: this.tenant,
      app: this.appName,
      kinds: ['config'],
      text: '"step":"verified"',
    });
    if (done.some((r) => r.data.kind === 'deployed' && r.data.deployment === this.deployment)) return null;
    return this.workflow('deployed', (push) => this.o.deliver(push, { all: true }));
  }

  /** Resolves when every record written so far is stored. */
  async settled(): Promise<void> {
    await this.lane.catch(() => undefined);
    await this.writes.catch(() => undefined);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lane.then(fn);
    this.lane = next.catch((e) => this.log(`error: ${errorText(e)}`));
    return next;
  }

  private async onNotices(m: BusMessage): Promise<void> {
    const list = (m.data as { records?: unknown })?.records;
    if (!Array.isArray(list)) {
      this.stats.malformed++;
      return;
    }
    for (const rec of list) {
      if (!rec || typeof rec !== 'object' || (rec as BrokerRecord).kind !== 'notice') {
        this.stats.malformed++;
        continue;
      }
      await this.notice(rec as BrokerRecord, m.ts).catch((e) => this.log(`notice not handled: ${errorText(e)}`));
    }
  }

  private async onAdmin(m: BusMessage): Promise<void> {
    const req = m.data as AdminRequest;
    if (!req || typeof req !== 'object' || typeof req.request !== 'string') {
      this.stats.malformed++;
      return;
    }
    await this.admin(req).catch(() => undefined);
  }

  /**
   * What the rules and the notices are read against, for the addressing in force: rebuilt only
   * when an address changes (a move, a redeploy), not for every notice.
   */
  private view(): { facts: Fact[]; byIp: InstancesByIp; services: Map<string, string> } {
    const addressing = this.o.context().addressing;
    const key = JSON.stringify(addressing.instances);
    // A reconfigure that read the descriptor again gives the orchestrator another model.
    if (key !== this.viewKey || !this.cached || this.viewApp !== this.o.app) {
      this.viewApp = this.o.app;
      this.cached = {
        facts: modelFacts(this.o.app, addressing),
        byIp: instancesByIp(this.o.app, addressing),
        services: new Map(this.o.app.instances.map((i) => [i.name, i.service])),
      };
      this.viewKey = key;
    }
    return this.cached;
  }

  private async react(rec: BrokerRecord, arrival: Arrival): Promise<Reaction[]> {
    if (this.stopped) return [];
    const ctx = this.o.context();
    const view = this.view();
    const n = noticeView(rec, view.byIp);
    if (!n) {
      this.stats.malformed++;
      return [];
    }
    if (this.seen.has(n.id)) return [];
    this.remember(n);
    this.stats.notices++;
    if (n.note === PROBE_NOTE && isProbeSourcePort(n.srcPort) && this.probing && n.ts >= this.probing.from && n.ts <= this.probing.until) {
      // The probe tries every pair: its denied attempts say the firewall works. Only attempts from
      // the probe's own source ports, while it runs: an attack in the window is still an attack.
      this.stats.probe++;
      this.write([
        {
          ts: this.now(),
          kind: 'audit',
          tenant: this.tenant,
          app: this.appName,
          provenance: n.id,
          data: { attributed: 'probe', notice: noticeSummary(n) },
        },
      ]);
      return [];
    }
    const restricted = ctx.restrictions.map((r) => r.source);
    const facts = [...view.facts, ...noticeFacts(n, { status: ctx.status, restricted }, view.services)];
    const proposed = propose(this.opts.program, facts, n.id);
    if (!proposed.ok) {
      this.log(`rules failed on notice ${n.id}: ${proposed.errors.map((e) => e.message).join('; ')}`);
      return [];
    }
    if (proposed.value.length === 0) {
      this.stats.unanswered++;
      return [];
    }
    const out: Reaction[] = [];
    for (const p of proposed.value) {
      const status = this.o.context().status;
      const active = new Set([...this.ledger.values()].filter(isActive).map((r) => actionKey(r.action)));
      const decision = decide({
        action: p.action,
        app: this.o.app,
        status,
        restricted: this.o.context().restrictions.map((r) => r.source),
        active,
        guardrails: this.opts.program.guardrails,
        dryRun: this.opts.dryRun === true,
        recent: this.recentApplies(),
        maxPerMinute: this.opts.maxPerMinute ?? 30,
      });
      // Several notices about one attack conclude the same action: the first one answers for all.
      if (decision.kind === 'duplicate') continue;
      const r: Reaction = {
        id: reactionId(`${this.deployment}|${n.id}`, actionKey(p.action)),
        deployment: this.deployment,
        notice: n.id,
        ...(n.uid ? { uid: n.uid } : {}),
        note: n.note,
        action: p.action,
        description: describeAction(p.action),
        state: decision.kind === 'dry-run' ? 'dry-run' : decision.kind === 'await-approval' ? 'awaiting-approval' : 'applied',
        rule: p.rule,
        derivation: p.derivation,
        blastRadius: blastRadius(p.action, this.o.app, status),
        ...(decision.kind === 'await-approval' ? { reason: decision.reason } : {}),
        createdAt: this.now(),
      };
      this.stats.reactions++;
      this.record(r, 'proposed', { notice: noticeSummary(n) });
      if (decision.kind === 'dry-run' || decision.kind === 'await-approval') {
        this.ledger.set(r.id, r);
        this.record(r, r.state === 'dry-run' ? 'dry-run' : 'awaiting-approval');
        this.log(
          `${decision.kind}: ${describeAction(p.action)} for ${n.note} (${n.id})${decision.kind === 'await-approval' ? `: ${decision.reason}` : ''}`,
        );
      } else await this.apply(r, { notice: n.ts, ...arrival });
      out.push(r);
    }
    return out;
  }

  private remember(n: NoticeView): void {
    this.seen.add(n.id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value as string);
    const key = offender(n.note, n.src.instance ?? n.src.ip ?? n.monitor);
    this.lastNotice.set(key, Math.max(this.lastNotice.get(key) ?? 0, n.ts));
    if (this.lastNotice.size > SEEN_MAX) this.lastNotice.delete(this.lastNotice.keys().next().value as string);
  }

  private recentApplies(): number {
    const since = this.now() - MINUTE;
    while (this.applied.length && this.applied[0] < since) this.applied.shift();
    return this.applied.length;
  }

  /** Carries a reaction out, reads its rules back, and schedules the confirmation. */
  /**
   * `at`: when the notice's event happened (the monitor's clock), when the bus took it in (the
   * agent had shipped it), and when this controller received it.
   */
  private async apply(r: Reaction, at?: Arrival & { notice: number }): Promise<void> {
    const t0 = this.now();
    this.current = r.id;
    try {
      const done = await carryOut(this.effects, r.action);
      r.inverse = done.inverse;
      r.installed = installsRules(r.action) ? await installedRules(this.o, r.action, done.reports) : [];
    } catch (e) {
      r.state = 'failed';
      r.reason = errorText(e);
      this.ledger.set(r.id, r);
      this.record(r, 'failed');
      this.log(`failed: ${describeAction(r.action)}: ${r.reason}`);
      return;
    } finally {
      this.current = undefined;
    }
    const t1 = this.now();
    this.applied.push(t1);
    if (installsRules(r.action) && r.installed.length === 0) {
      r.state = 'failed';
      r.reason = 'applied, but none of its rules reads back from the data plane';
      this.ledger.set(r.id, r);
      this.record(r, 'failed');
      return;
    }
    r.state = 'applied';
    r.appliedAt = t1;
    const ttl = this.opts.program.guardrails.expiresS[r.action.kind];
    if (ttl !== undefined && !r.kept) r.expiresAt = t1 + ttl * 1000;
    this.ledger.set(r.id, r);
    this.record(r, 'applied', {
      applyMs: t1 - t0,
      ...(at ? { sinceNoticeMs: t1 - at.notice, sinceReceivedMs: t1 - at.received } : {}),
      ...(at?.published !== undefined ? { sincePublishedMs: t1 - at.published } : {}),
      rules: r.installed.map(ruleLine),
    });
    this.log(
      `applied: ${describeAction(r.action)} in ${t1 - t0} ms${at ? ` (${t1 - at.notice} ms after the notice's event, ${t1 - at.received} ms after it arrived)` : ''}`,
    );
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.enqueue(() => this.confirm(r.id));
    }, this.opts.confirmWindowMs ?? 2000);
    this.timers.add(t);
  }

  /** The offending flow stopped: the action's rules are still in force and no notice about the offender followed. */
  private async confirm(id: string): Promise<void> {
    const r = this.ledger.get(id);
    if (r?.state !== 'applied' || this.stopped) return;
    const now = installsRules(r.action) ? await installedRules(this.o, r.action) : [];
    const drops = dropsSince(r.installed ?? [], now);
    const last = this.lastNotice.get(offender(r.note, offenderOf(r.action))) ?? 0;
    const repeated = last > (r.appliedAt ?? 0);
    const inForce = !installsRules(r.action) || now.length > 0;
    const stopped = inForce && (!repeated || (r.action.kind === 'restrict' && drops > 0));
    if (stopped) {
      r.state = 'confirmed';
      // The listing read the rules' handles, where the apply's answer had none (nft sessions without echo).
      if (now.length) r.installed = now;
      this.record(r, 'confirmed', {
        drops,
        windowMs: this.opts.confirmWindowMs ?? 2000,
        confirmedAt: this.now(),
        ...(now.length ? { rules: now.map(ruleLine) } : {}),
      });
    } else
      this.record(r, 'unconfirmed', {
        drops,
        ...(now.length ? { rules: now.map(ruleLine) } : {}),
        reason: !inForce ? 'its rules are no longer in force' : 'the monitors still report the offender after the action',
      });
  }

  private async expire(): Promise<void> {
    const now = this.now();
    for (const r of this.ledger.values()) {
      if ((r.state !== 'applied' && r.state !== 'confirmed') || r.kept || r.expiresAt === undefined || r.expiresAt > now) continue;
      try {
        if (r.inverse) await takeBack(this.effects, r.inverse);
        r.state = 'expired';
        this.record(r, 'expired', installsRules(r.action) ? { rulesLeft: (await installedRules(this.o, r.action)).length } : {});
        this.log(`expired: ${describeAction(r.action)}`);
      } catch (e) {
        // Tried again at the next tick; the failure is on record.
        this.record(r, 'failed', { during: 'expiry', error: errorText(e) });
      }
    }
  }

  private async handleAdmin(req: AdminRequest): Promise<Reaction | undefined> {
    const refuse = (d: Diagnostic) => {
      this.write([
        {
          ts: this.now(),
          kind: 'audit',
          tenant: this.tenant,
          app: this.appName,
          data: { request: req.request, op: req.op, ok: false, code: d.code, error: d.message, ...(req.by ? { by: req.by } : {}) },
        },
      ]);
      throw new FlowtapError(d);
    };
    if (req.op === 'probe' || req.op === 'probe-end') {
      const now = this.now();
      if (req.op === 'probe') this.probing = { from: now, until: now + Math.min(Math.max(req.ms ?? 60_000, 0), 600_000) };
      // In-flight notices of the last attempts still count as the probe's for a moment.
      else if (this.probing) this.probing.until = now + PROBE_GRACE_MS;
      this.write([
        {
          ts: now,
          kind: 'audit',
          tenant: this.tenant,
          app: this.appName,
          data: { request: req.request, op: req.op, ok: true, ...(req.by ? { by: req.by } : {}) },
        },
      ]);
      return undefined;
    }
    if (req.op === 'reconfigure') {
      try {
        await this.o.reconfigure(req.change);
      } catch (e) {
        return refuse(e instanceof FlowtapError ? e.diagnostics[0] : diag('E_CONTROLLER', errorText(e)));
      }
      this.write([
        {
          ts: this.now(),
          kind: 'config',
          tenant: this.tenant,
          app: this.appName,
          data: { request: req.request, op: 'reconfigure', change: req.change, outcome: 'applied' },
        },
      ]);
      return undefined;
    }
    if (req.op !== 'approve' && req.op !== 'undo' && req.op !== 'keep') return undefined;
    const r = this.ledger.get(req.reaction);
    if (!r) return refuse(diag('E_REACTION_UNKNOWN', `no reaction ${req.reaction} in ${this.appName}`, { field: 'reaction' }));
    const extra = { request: req.request, ...(req.by ? { by: req.by } : {}) };
    switch (req.op) {
      case 'approve':
        if (r.state !== 'awaiting-approval')
          return refuse(diag('E_REACTION_STATE', `reaction ${r.id} is ${r.state}, not awaiting approval`, { field: 'reaction' }));
        this.record(r, 'approved', extra);
        // Why it waited is answered by the approval.
        r.reason = undefined;
        if (this.opts.dryRun) {
          r.state = 'dry-run';
          this.record(r, 'dry-run', extra);
        } else await this.apply(r);
        return r;
      case 'undo':
        if (r.state !== 'applied' && r.state !== 'confirmed' && r.state !== 'awaiting-approval')
          return refuse(diag('E_REACTION_STATE', `reaction ${r.id} is ${r.state}: nothing to undo`, { field: 'reaction' }));
        if (r.state !== 'awaiting-approval') {
          if (!r.inverse)
            return refuse(
              diag('E_REACTION_STATE', `reaction ${r.id} (${describeAction(r.action)}) cannot be undone`, { field: 'reaction' }),
            );
          this.current = r.id;
          try {
            await takeBack(this.effects, r.inverse);
          } finally {
            this.current = undefined;
          }
        }
        r.state = 'undone';
        // Read back: the action's rules are gone (and the data plane learns the handles of what the undo put back).
        this.record(r, 'undone', {
          ...extra,
          ...(installsRules(r.action) ? { rulesLeft: (await installedRules(this.o, r.action)).length } : {}),
        });
        return r;
      case 'keep':
        if (r.state !== 'applied' && r.state !== 'confirmed')
          return refuse(diag('E_REACTION_STATE', `reaction ${r.id} is ${r.state}: only one in force can be kept`, { field: 'reaction' }));
        r.kept = true;
        r.expiresAt = undefined;
        this.record(r, 'kept', extra);
        return r;
    }
  }

  /**
   * A reaction in force whose effect someone else took back (an operator released the instance,
   * lifted the restriction) is no longer in force: recorded as undone, by whom it says, so that
   * expiry and undo do not act on it again and the ledger says what the data plane does.
   */
  private async followContext(source: string): Promise<void> {
    const ctx = this.o.context();
    for (const r of this.ledger.values()) {
      if ((r.state !== 'applied' && r.state !== 'confirmed') || !r.inverse) continue;
      const inv = r.inverse;
      const lifted =
        inv.kind === 'release'
          ? ctx.status[inv.instance] !== 'isolated'
          : inv.kind === 'unrestrict'
            ? !ctx.restrictions.some((x) => x.id === inv.id)
            : false;
      if (!lifted) continue;
      r.state = 'undone';
      r.reason = `taken back outside the controller (${source})`;
      this.record(r, 'undone', { by: 'outside' });
      this.log(`${r.id} was taken back outside the controller: ${describeAction(r.action)}`);
    }
  }

  private record(r: Reaction, event: ReactionEvent, extra: Record<string, unknown> = {}): void {
    const rec = reactionRecord({ tenant: this.tenant, app: this.appName, ts: this.now() }, r, event, extra);
    this.write([rec]);
    const subject = reactionsSubject(this.tenant, this.appName);
    this.writes = this.writes
      .then(() => this.opts.broker.bus.publish(subject, rec))
      .catch((e) => this.log(`reaction not published: ${errorText(e)}`));
  }

  /** Stored in order, off the reaction's path: a slow store delays records, never containment. */
  private write(records: BrokerRecord[]): void {
    this.writes = this.writes
      .then(() => this.opts.broker.store.append(records))
      .catch((e) => this.log(`records not stored: ${errorText(e)}`));
  }

  private history(): Promise<StoredRecord[]> {
    return reactionHistory(this.opts.broker.store, { tenant: this.tenant, app: this.appName });
  }
}

function reactionId(notice: string, key: string): string {
  return `r-${createHash('sha256').update(`${notice}|${key}`).digest('hex').slice(0, 12)}`;
}

const offender = (note: string, source: string) => `${note}|${source}`;

function noticeSummary(n: NoticeView): Record<string, unknown> {
  return {
    id: n.id,
    ts: n.ts,
    note: n.note,
    msg: n.msg,
    monitor: n.monitor,
    ...(n.uid ? { uid: n.uid } : {}),
    src: n.src,
    dst: n.dst,
    ...(n.port !== undefined ? { port: n.port } : {}),
    ...(n.seenAt !== undefined ? { seenAt: n.seenAt } : {}),
  };
}

function errorText(e: unknown): string {
  return e instanceof FlowtapError ? e.diagnostics.map((d) => d.message).join('; ') : e instanceof Error ? e.message : String(e);
}
