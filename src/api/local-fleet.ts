/**
 * The Fleet of the local cloud: the deployments in a state folder, each read from its state
 * file and what it renders to, its records from its own broker, its operations through its
 * orchestrator or, when a security controller serves it, through that controller (so two
 * processes never render one data plane at once).
 */
import { readFileSync } from 'node:fs';
import { setVerbosity, verbosityAnswers, type VerbositySetting } from '../agent/index.js';
import type { StoredRecord } from '../broker/index.js';
import {
  adminRequestId,
  adminSubject,
  askController,
  controllerPidFile,
  decideReaction,
  foldReactions,
  instancesByIp,
  liveControllerPid,
  reactionHistory,
  type Reaction,
} from '../controller/index.js';
import type { RuleCounter } from '../dataplane/index.js';
import { diag, FlowtapError, formatLocation, type DiagCode, type Diagnostic } from '../diagnostics/index.js';
import { quarantine } from '../firewall/index.js';
import { compileTaps, printFlow } from '../flowtap/index.js';
import { expectedOpen, type CloudState, type SpecChange } from '../orchestrator/index.js';
import { ApiCode } from './codes.js';
import { Deployments, maskAddress, type Attach } from './deployments.js';
import { apiError } from './errors.js';
import type { Actor, AppRef, AuditEntry, Fleet, RecordFilter } from './fleet.js';
import { buildGraph } from './graph.js';
import { noticeList } from './notice-list.js';
import { policyDir, policyName, readPolicy, savePolicies } from './policy-files.js';
import type {
  AppDetail,
  AppSummary,
  Firewall,
  Graph,
  Notice,
  Policies,
  PoliciesChange,
  ProbeResult,
  ReactionRules,
  Reconfigured,
  Taps,
  Verbosity,
  VerbosityChange,
  VerbosityResult,
} from './schemas.js';

export interface LocalFleetOptions {
  stateDir: string;
  /** How the server reaches a deployment's orchestrator (the CLI's attachCloud). */
  attach: Attach;
  /** How long to wait for a controller's or an agent's answer (default 15 s). */
  answerTimeoutMs?: number;
  /** Window of the graph's observed edges (default 30 s). */
  graphWindowMs?: number;
}

const actorLabel = (by: Actor) => `api:${by.tokenName}(${by.tokenId})`;

function diagnosticsOf(e: unknown): Diagnostic[] {
  return e instanceof FlowtapError ? e.diagnostics : [diag(ApiCode.INTERNAL, e instanceof Error ? e.message : String(e))];
}

const asAnswer = (d: Diagnostic) => ({
  code: d.code,
  message: `${d.loc && (d.loc.file || d.loc.line !== undefined) ? `${formatLocation({ ...d.loc, field: undefined })}: ` : ''}${d.message}`,
  ...(d.loc?.field ? { field: d.loc.field } : {}),
});

export class LocalFleet implements Fleet {
  private readonly d: Deployments;
  private readonly timeoutMs: number;
  private readonly windowMs: number;

  constructor(private readonly o: LocalFleetOptions) {
    this.d = new Deployments(o.stateDir, o.attach);
    this.timeoutMs = o.answerTimeoutMs ?? 15_000;
    this.windowMs = o.graphWindowMs ?? 30_000;
  }

  async apps(): Promise<AppRef[]> {
    return this.d.names().flatMap((name) => {
      const s = this.d.state(name);
      return s ? [{ name, tenant: s.tenant }] : [];
    });
  }

  async find(app: string): Promise<AppRef | null> {
    const s = this.d.state(app);
    return s ? { name: s.app, tenant: s.tenant } : null;
  }

  private controllerRunning(app: string): boolean {
    return liveControllerPid(controllerPidFile(this.o.stateDir, app)) !== null;
  }

  async summary(app: string): Promise<AppSummary> {
    const { state, deployment } = this.d.rendered(app);
    const spec = state.spec;
    return {
      name: state.app,
      tenant: state.tenant,
      since: state.createdAt,
      mode: spec.mode,
      strategy: spec.strategy,
      nodes: deployment.app.nodes.map((n) => n.name),
      services: deployment.app.services.length,
      instances: deployment.app.instances.length,
      quarantined: [...state.isolated],
      controller: { running: this.controllerRunning(app), ...(spec.controller ? { dryRun: spec.controller.dryRun } : {}) },
    };
  }

  async detail(app: string): Promise<AppDetail> {
    const summary = await this.summary(app);
    const { state, deployment } = this.d.rendered(app);
    const health = await this.d.monitorHealth(app).catch(() => ({}) as Record<string, 'running' | 'down'>);
    const spec = state.spec;
    return {
      ...summary,
      descriptor: spec.descriptor,
      spec: {
        ...structuredClone(spec),
        ...(spec.broker ? { broker: { store: maskAddress(spec.broker.store), bus: maskAddress(spec.broker.bus) } } : {}),
      },
      instances: deployment.app.instances.map((i) => {
        const a = state.addressing.instances[i.name];
        return { name: i.name, service: i.service, node: a?.node ?? i.node, ip: a?.ip ?? '', status: statusOf(state, i.name) };
      }),
      monitors: deployment.app.monitors.map((m) => ({
        name: m.name,
        node: state.addressing.monitors[m.name]?.node ?? m.node,
        status: health[m.name] ?? 'down',
      })),
      restrictions: structuredClone(state.restrictions ?? []),
    };
  }

  async graph(app: string): Promise<Graph> {
    const { state, deployment } = this.d.rendered(app);
    const since = Date.now() - this.windowMs;
    const [health, flows, overloads] = await Promise.all([
      this.d.monitorHealth(app).catch(() => ({}) as Record<string, 'running' | 'down'>),
      state.spec.broker ? this.records(app, { kinds: ['flow'], from: since, limit: 10_000 }) : [],
      state.spec.broker ? this.records(app, { kinds: ['notice'], from: since, text: 'Monitor_Overload', limit: 1000 }) : [],
    ]);
    return buildGraph({
      app: deployment.app,
      addressing: state.addressing,
      mode: state.spec.mode,
      status: Object.fromEntries(deployment.app.instances.map((i) => [i.name, statusOf(state, i.name)])),
      monitors: health,
      contracts: deployment.contracts,
      flows,
      overloads,
      windowMs: this.windowMs,
    });
  }

  async policies(app: string): Promise<Policies> {
    const state = this.d.need(app);
    const s = state.spec;
    return {
      policies: s.policies.map((path) => ({ name: policyName(path), path, text: readPolicy(path) })),
      mode: s.mode,
      strategy: s.strategy,
      downMonitors: [...s.downMonitors],
    };
  }

  async reconfigure(app: string, change: PoliciesChange, by: Actor): Promise<Reconfigured> {
    const { state, deployment } = this.d.rendered(app);
    const via = this.controllerRunning(app) ? ('controller' as const) : ('orchestrator' as const);
    for (const [i, m] of (change.downMonitors ?? []).entries())
      if (!deployment.app.monitors.some((x) => x.name === m))
        throw apiError('E_UNKNOWN_MONITOR', `no monitor named "${m}" in ${app}`, `downMonitors.${i}`);
    if (change.policies) {
      // Checked before anything is written: a policy that does not compile changes nothing.
      const compiled = compileTaps(
        deployment.app,
        state.addressing,
        change.policies.map((p) => ({ file: `${p.name}.dl`, text: p.text })),
        { strategy: change.strategy ?? state.spec.strategy },
      );
      if (!compiled.ok) return { outcome: 'failed', via, errors: compiled.errors.map(asAnswer) };
    }
    const saved = change.policies ? savePolicies(policyDir(this.o.stateDir, app), change.policies) : null;
    const spec: SpecChange = {
      ...(saved ? { policies: saved.paths } : {}),
      ...(change.mode ? { mode: change.mode } : {}),
      ...(change.strategy ? { strategy: change.strategy } : {}),
      ...(change.downMonitors ? { downMonitors: change.downMonitors } : {}),
    };
    let errors: Reconfigured['errors'] = [];
    try {
      if (via === 'controller') {
        const broker = await this.d.broker(app);
        const request = adminRequestId('c');
        const answer = await askController(
          broker,
          { tenant: state.tenant, app },
          { request, op: 'reconfigure', change: spec, by: actorLabel(by) },
          this.timeoutMs,
          reconfigureEnded,
        );
        if (!answer) throw apiError(ApiCode.CONFLICT, `the controller of ${app} did not answer within ${this.timeoutMs / 1000} s`);
        if (answer.kind === 'audit') errors = [{ code: String(answer.data.code), message: String(answer.data.error) }];
        else if (answer.data.step === 'failed')
          errors = [
            {
              code: ApiCode.CONFLICT,
              message: String(answer.data.error ?? answer.data.reason ?? 'the controller could not apply the change'),
            },
          ];
      } else {
        const orchestrator = await this.d.orchestrator(app);
        await orchestrator.reconfigure(spec).catch((e: unknown) => {
          errors = diagnosticsOf(e).map(asAnswer);
        });
      }
    } catch (e) {
      saved?.undo();
      throw e;
    }
    if (errors?.length) {
      saved?.undo();
      return { outcome: 'failed', via, errors };
    }
    return { outcome: 'applied', via };
  }

  async reactionRules(app: string): Promise<ReactionRules | null> {
    const rules = this.d.need(app).spec.controller?.rules;
    if (!rules) return null;
    let text: string;
    try {
      text = readFileSync(rules, 'utf8');
    } catch (e) {
      throw apiError(ApiCode.NOT_FOUND, `the reaction rules of ${app} cannot be read: ${(e as Error).message}`);
    }
    return { path: rules, text };
  }

  async firewall(app: string): Promise<Firewall> {
    const { state, deployment } = this.d.rendered(app);
    const counters = await this.counters(app);
    return {
      rules: quarantine(deployment.ruleset, state.isolated).rules,
      ...(Object.keys(counters).length ? { counters } : {}),
    };
  }

  async taps(app: string): Promise<Taps> {
    const { state, deployment } = this.d.rendered(app);
    const a = state.addressing;
    return {
      contracts: deployment.contracts.map((c) => ({
        id: c.id,
        src: c.src,
        dst: c.dst,
        flow: printFlow(c.flow),
        action: c.action,
        direction: c.direction,
        options: structuredClone(c.options),
        ...(c.origin?.policyFile ? { policy: policyName(c.origin.policyFile) } : {}),
      })),
      placement: deployment.contracts.map((c) => {
        const srcNode = a.instances[c.src]?.node ?? null;
        const dstNode = a.monitors[c.dst]?.node ?? null;
        return { contract: c.id, instance: c.src, srcNode, monitor: c.dst, dstNode, crossNode: srcNode !== dstNode };
      }),
    };
  }

  async records(app: string, q: RecordFilter): Promise<StoredRecord[]> {
    const state = this.d.need(app);
    const broker = await this.d.broker(app);
    return broker.store.query({ ...q, tenant: state.tenant, app });
  }

  private async ledger(app: string): Promise<Reaction[]> {
    const state = this.d.need(app);
    const broker = await this.d.broker(app);
    return [...foldReactions(await reactionHistory(broker.store, { tenant: state.tenant, app }), state.createdAt).values()];
  }

  async notices(app: string, q: { from?: number; to?: number; limit?: number }): Promise<Notice[]> {
    const { state, deployment } = this.d.rendered(app);
    const [records, reactions] = await Promise.all([
      this.records(app, { kinds: ['notice'], ...q, limit: q.limit ?? 200, order: 'desc' }),
      this.ledger(app),
    ]);
    // The controller's probe attributions of these notices only: written after them, never before.
    const oldest = records.reduce((m, r) => Math.min(m, r.ts), Number.POSITIVE_INFINITY);
    const probe = records.length
      ? await this.records(app, { kinds: ['audit'], from: oldest, text: '"attributed":"probe"', limit: 10_000 })
      : [];
    const probed = new Set(probe.flatMap((r) => (r.provenance ? [r.provenance] : [])));
    return noticeList(records, instancesByIp(deployment.app, state.addressing), reactions, probed);
  }

  reactions(app: string): Promise<Reaction[]> {
    return this.ledger(app);
  }

  async reactionOp(app: string, op: 'approve' | 'undo' | 'keep', id: string, by: Actor): Promise<{ event: string; reaction: Reaction }> {
    const state = this.d.need(app);
    if (!this.controllerRunning(app)) throw apiError(ApiCode.CONFLICT, `no security controller serves ${app}: nobody to ${op} a reaction`);
    const broker = await this.d.broker(app);
    const answer = await decideReaction(broker, { tenant: state.tenant, app }, op, id, actorLabel(by), this.timeoutMs);
    if (answer.kind === 'silent')
      throw apiError(ApiCode.CONFLICT, `the controller of ${app} did not answer within ${this.timeoutMs / 1000} s`);
    if (answer.kind === 'refused') throw apiError(refusalCode(answer.code), answer.error, 'id');
    return { event: answer.event, reaction: answer.reaction };
  }

  async verbosity(app: string): Promise<Verbosity> {
    const records = await this.records(app, { kinds: ['config'], order: 'desc', limit: 2000 });
    const nodes: Verbosity['nodes'] = {};
    for (const r of records) {
      const settings = r.data.settings;
      if (!r.node || nodes[r.node] || typeof settings !== 'object' || settings === null) continue;
      nodes[r.node] = Object.fromEntries(
        Object.entries(settings as Record<string, Record<string, unknown>>).map(([c, s]) => [
          c,
          {
            level: Number(s.level),
            periodMs: Number(s.periodMs),
            ...(typeof s.active === 'boolean' ? { active: s.active } : {}),
            ...(s.instances || s.kinds
              ? {
                  filters: {
                    ...(Array.isArray(s.instances) ? { instances: s.instances.map(String) } : {}),
                    ...(Array.isArray(s.kinds) ? { kinds: s.kinds.map(String) } : {}),
                  },
                }
              : {}),
          },
        ]),
      );
    }
    return { nodes };
  }

  async setVerbosity(app: string, change: VerbosityChange, _by: Actor): Promise<VerbosityResult> {
    const { state, deployment } = this.d.rendered(app);
    const nodes = Object.keys(state.addressing.nodes);
    if (change.node !== undefined && !nodes.includes(change.node))
      throw apiError('E_UNKNOWN_NODE', `no node named "${change.node}" in ${app} (have ${nodes.join(', ')})`, 'node');
    const homeOf = (i: string) => state.addressing.instances[i]?.node;
    let filter: string[] | null = null;
    if (change.services || change.instances) {
      const picked = new Set<string>();
      for (const [k, s] of (change.services ?? []).entries()) {
        if (!deployment.app.services.some((x) => x.name === s))
          throw apiError('E_UNKNOWN_SERVICE', `no service named "${s}" in ${app}`, `services.${k}`);
        for (const i of deployment.app.instances) if (i.service === s) picked.add(i.name);
      }
      for (const [k, i] of (change.instances ?? []).entries()) {
        if (!homeOf(i)) throw apiError('E_UNKNOWN_INSTANCE', `no instance named "${i}" in ${app}`, `instances.${k}`);
        picked.add(i);
      }
      filter = [...picked].filter((i) => change.node === undefined || homeOf(i) === change.node);
      if (filter.length === 0) throw apiError(ApiCode.REQUEST, `none of the instances named runs on ${change.node}`, 'node');
    }
    // Each agent knows only its node's instances (it refuses others): a filter goes to each node with its own.
    const targets = filter ? [...new Set(filter.map((i) => homeOf(i)!))] : change.node !== undefined ? [change.node] : nodes;
    const id = adminRequestId('v');
    const base: VerbositySetting = {
      id,
      ...(change.collector !== undefined ? { collector: change.collector } : {}),
      ...(change.level !== undefined ? { level: change.level } : {}),
      ...(change.periodMs !== undefined ? { periodMs: change.periodMs } : {}),
      ...(change.kinds !== undefined ? { kinds: change.kinds } : {}),
      // As `flowtap verbosity`: without instances named, the change is for all of them.
      instances: null,
    };
    const broker = await this.d.broker(app);
    const at = { tenant: state.tenant, app };
    const after = (await broker.store.query({ ...at, order: 'desc', limit: 1 }))[0]?.id ?? 0;
    const sent = Date.now();
    const publish = async (node: string | undefined, setting: VerbositySetting) => {
      const r = await setVerbosity(broker.bus, { ...at, ...(node !== undefined ? { node } : {}) }, setting);
      if (!r.ok) throw new FlowtapError(r.errors);
    };
    if (filter) for (const node of targets) await publish(node, { ...base, instances: filter.filter((i) => homeOf(i) === node) });
    else await publish(targets.length === 1 && change.node !== undefined ? targets[0] : undefined, base);
    const answers = await verbosityAnswers(broker.store, at, id, targets, after, sent + this.timeoutMs);
    return {
      change: id,
      acks: targets.map((node) => {
        const a = answers.get(node);
        return a ? { node, outcome: a.outcome, ...(a.errors ? { errors: a.errors } : {}) } : { node, outcome: 'no-answer' };
      }),
    };
  }

  async probe(app: string, by: Actor): Promise<ProbeResult> {
    const state = this.d.need(app);
    const orchestrator = await this.d.orchestrator(app);
    const at = { tenant: state.tenant, app };
    // The probe's denied attempts look like a scan: a controller is told first, so it does not react to them.
    const broker = this.controllerRunning(app) ? await this.d.broker(app) : null;
    if (broker) await askController(broker, at, { request: adminRequestId('p'), op: 'probe', ms: 120_000, by: actorLabel(by) }, 2000);
    let probes: Awaited<ReturnType<typeof orchestrator.probe>>;
    try {
      probes = await orchestrator.probe();
    } finally {
      if (broker)
        await broker.bus
          .publish(adminSubject(state.tenant, app), { request: adminRequestId('p'), op: 'probe-end', by: actorLabel(by) })
          .catch(() => undefined);
    }
    const isolated = new Set(state.isolated);
    const rows = probes.map((p) => ({ ...p, expected: expectedOpen(orchestrator.app, p, isolated) }));
    const missing = rows.filter((r) => r.expected && !r.open);
    const extra = rows.filter((r) => r.open && !r.expected);
    return { probes: rows, missing, extra, ok: missing.length === 0 && extra.length === 0 };
  }

  async audit(app: string, entry: AuditEntry): Promise<void> {
    const state = this.d.need(app);
    const broker = await this.d.broker(app);
    await broker.store.append([
      {
        ts: Date.now(),
        kind: 'audit',
        tenant: state.tenant,
        app,
        data: {
          via: 'api',
          method: entry.method,
          route: entry.route,
          status: entry.status,
          outcome: entry.outcome,
          ...(entry.code ? { code: entry.code } : {}),
          token: { id: entry.by.tokenId, name: entry.by.tokenName, tenant: entry.by.tenant },
        },
      },
    ]);
  }

  async counters(app: string): Promise<Record<string, RuleCounter[]>> {
    const { deployment } = this.d.rendered(app);
    const orchestrator = await this.d.orchestrator(app).catch(() => null);
    if (!orchestrator) return {};
    const out: Record<string, RuleCounter[]> = {};
    for (const n of deployment.app.nodes) {
      const r = await orchestrator.counters(n.name).catch(() => null);
      if (r?.ok) out[n.name] = r.value;
    }
    return out;
  }

  async storeStats(app: string): Promise<{ store: string; stats: Awaited<ReturnType<Fleet['storeStats']>>['stats'] }> {
    const state = this.d.need(app);
    const broker = await this.d.broker(app);
    return { store: maskAddress(state.spec.broker!.store), stats: await broker.store.stats() };
  }

  close(): Promise<void> {
    return this.d.close();
  }
}

/**
 * The record that ends a reconfigure through the controller: its refusal, its 'config' record
 * (`outcome: applied`), or — where the controller configures through the agents in steps — the
 * workflow's last step (`verified` or `failed`).
 */
function reconfigureEnded(r: StoredRecord): boolean {
  return r.kind === 'audit' || r.data.outcome === 'applied' || r.data.step === 'verified' || r.data.step === 'failed';
}

function statusOf(state: CloudState, instance: string): 'running' | 'isolated' | 'terminated' {
  return state.terminated.includes(instance) ? 'terminated' : state.isolated.includes(instance) ? 'isolated' : 'running';
}

/** A controller's refusal keeps its code when it is one the API knows how to answer. */
function refusalCode(code: unknown): DiagCode {
  return code === 'E_REACTION_UNKNOWN' || code === 'E_REACTION_STATE' || code === 'E_RECONFIGURE' || code === 'E_UNKNOWN_MONITOR'
    ? code
    : ApiCode.CONFLICT;
}
