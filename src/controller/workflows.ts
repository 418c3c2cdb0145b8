/**
 * The controller's configuration workflows, each a chain of 'config' records sharing one
 * `workflow` id: `deployed` (a deployment the controller has not configured yet) and `changed`
 * (an administrator's change of policies, mode, strategy or monitors). Each renders the
 * deployment (rules, contracts), hands every node that changes its configuration through its
 * agent (the agent applies the difference and answers with the version), and verifies with
 * the live probe matrix that what is open is exactly what the requirements ask for.
 */
import type { Broker, BrokerRecord, StoredRecord } from '../broker/index.js';
import type { ApplyReport } from '../dataplane/index.js';
import { judgeProbes, type NodePush, type Orchestrator, type Probe } from '../orchestrator/index.js';
import { agentPush, type PushOutcome } from './agent-push.js';
import { prepareDeployment } from './deployment.js';

export interface WorkflowEnv {
  orchestrator: Orchestrator;
  broker: Broker;
  write: (records: BrokerRecord[]) => void;
  now: () => number;
  /** Runs a change of the deployment in the controller's lane (one change at a time). */
  inLane: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The probe is about to run (for at most ms) or has ended (null): its denied attempts are not attacks. */
  probing: (ms: number | null) => void;
  deployment: string;
  pushTimeoutMs?: number;
}

export interface Verification {
  pairs: number;
  open: number;
  /** Required but closed. */
  missing: string[];
  /** Open but not required. */
  extra: string[];
  ok: boolean;
  ms: number;
  skipped?: string;
}

export interface WorkflowOutcome {
  workflow: string;
  pushed: (PushOutcome | { node: string; outcome: 'unchanged' })[];
  verified: Verification;
  ok: boolean;
}

const PROBE_WINDOW_MS = 120_000;

/**
 * Renders, delivers through the agents and verifies. `deliver` makes the change with the push it
 * is given (the orchestrator's deliver or reconfigure). A failure to deliver is recorded and thrown.
 */
export async function runWorkflow(
  env: WorkflowEnv,
  kind: 'deployed' | 'changed',
  deliver: (push: NodePush) => Promise<Record<string, ApplyReport>>,
  extra: Record<string, unknown> = {},
): Promise<WorkflowOutcome> {
  const o = env.orchestrator;
  const at = { tenant: o.app.tenant, app: o.app.name };
  const workflow = `${kind}-${env.now().toString(36)}`;
  const record = (data: Record<string, unknown>, node?: string) =>
    env.write([
      {
        ts: env.now(),
        kind: 'config',
        ...at,
        ...(node ? { node } : {}),
        provenance: workflow,
        data: { workflow, kind, deployment: env.deployment, ...extra, ...data },
      },
    ]);
  const pushed: PushOutcome[] = [];
  const push = agentPush(env.broker, at, { onPushed: (p) => pushed.push(p), timeoutMs: env.pushTimeoutMs ?? 30_000 });
  let reports: Record<string, ApplyReport>;
  try {
    reports = await env.inLane(async () => {
      const spec = o.spec();
      const dep = prepareDeployment(spec.descriptor, spec, o.context().addressing);
      record({
        step: 'rendered',
        rules: dep.ruleset.rules.length,
        contracts: dep.contracts.length,
        policies: spec.policies,
        mode: spec.mode,
        strategy: spec.strategy,
        downMonitors: spec.downMonitors,
      });
      return deliver(push);
    });
  } catch (e) {
    for (const p of pushed) record({ step: 'pushed', ...p }, p.node);
    record({ step: 'failed', error: e instanceof Error ? e.message : String(e) });
    throw e;
  }
  const list: WorkflowOutcome['pushed'] = [];
  for (const node of Object.keys(reports)) {
    const p = pushed.find((x) => x.node === node);
    list.push(p ?? { node, outcome: 'unchanged' });
    record({ step: 'pushed', ...(p ?? { node, outcome: 'unchanged', report: reports[node] }) }, node);
  }
  const verified = await verify(env);
  record({ step: 'verified', ...verified });
  return { workflow, pushed: list, verified, ok: verified.ok };
}

const AUDIT = 'audit mode: nothing is dropped, so nothing to compare';

/** The live probe matrix against the requirements, quarantines included; skipped in audit mode (nothing is dropped there). */
async function verify(env: WorkflowEnv): Promise<Verification> {
  const o = env.orchestrator;
  if (o.spec().mode === 'audit') return { pairs: 0, open: 0, missing: [], extra: [], ok: true, ms: 0, skipped: AUDIT };
  const t0 = env.now();
  env.probing(PROBE_WINDOW_MS);
  try {
    return { ...verification(o, await o.probe()), ms: env.now() - t0 };
  } finally {
    env.probing(null);
  }
}

/** What a probe matrix says of the deployment in its current context. */
export function verification(o: Orchestrator, probes: Probe[]): Verification {
  if (o.spec().mode === 'audit') return { pairs: 0, open: 0, missing: [], extra: [], ok: true, ms: 0, skipped: AUDIT };
  const rows = judgeProbes(o.app, probes, o.context());
  const name = (r: (typeof rows)[number]) => `${r.from} -> ${r.to}:${r.port}`;
  const missing = rows.filter((r) => r.expected && !r.open).map(name);
  const extra = rows.filter((r) => !r.expected && r.open).map(name);
  return {
    pairs: rows.length,
    open: rows.filter((r) => r.open).length,
    missing,
    extra,
    ok: missing.length === 0 && extra.length === 0,
    ms: 0,
  };
}

/**
 * The records of the workflow a request started, once it has ended (a 'verified' or a 'failed'
 * step), read after `afterId`; null when it has not ended by `deadline` (ms).
 */
export async function workflowRecords(
  store: Broker['store'],
  at: { tenant: string; app: string },
  request: string,
  afterId: number,
  deadline: number,
  pollMs = 100,
): Promise<StoredRecord[] | null> {
  for (;;) {
    const rows = (await store.query({ ...at, kinds: ['config', 'audit'], afterId, text: request })).filter(
      (r) => r.data.request === request,
    );
    if (rows.some((r) => r.data.step === 'verified' || r.data.step === 'failed' || r.kind === 'audit')) return rows;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
