/**
 * How the controller hands a node its data-plane configuration: through the node's agent, on
 * the config subject, answered by the 'config' record the agent writes with the version
 * (applied, failed, stale, rejected). The push carries what the orchestrator records as in
 * force on the node, so the agent applies only the difference; the answer carries the rule
 * handles now in force, which the orchestrator records in turn.
 */
import { pushConfig } from '../agent/index.js';
import type { Broker, StoredRecord } from '../broker/index.js';
import type { ApplyReport, NftApplied } from '../dataplane/index.js';
import { diag, fail, ok } from '../diagnostics/index.js';
import type { NodePush } from '../orchestrator/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every push and its answer, for the workflow's records. */
export interface PushOutcome {
  node: string;
  version: number;
  outcome: string;
  report?: ApplyReport;
  ms: number;
}

export function agentPush(
  broker: Broker,
  at: { tenant: string; app: string },
  opts: { timeoutMs?: number; pollMs?: number; onPushed?: (o: PushOutcome) => void } = {},
): NodePush {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return async ({ node, version, config, since }) => {
    const t0 = Date.now();
    const after = (await broker.store.query({ tenant: at.tenant, app: at.app, order: 'desc', limit: 1 }))[0]?.id ?? 0;
    const sent = await pushConfig(broker.bus, { ...at, node }, { version, kind: 'dataplane', config, ...(since ? { since } : {}) });
    if (!sent.ok) return sent;
    const deadline = t0 + timeoutMs;
    let ack: StoredRecord | undefined;
    while (!ack && Date.now() < deadline) {
      const rows = await broker.store.query({ tenant: at.tenant, app: at.app, kinds: ['config'], node, afterId: after });
      ack = rows.find((r) => r.data.what === 'config' && r.data.kind === 'dataplane' && r.data.version === version);
      if (!ack) await sleep(opts.pollMs ?? 50);
    }
    const ms = Date.now() - t0;
    if (!ack) {
      opts.onPushed?.({ node, version, outcome: 'unanswered', ms });
      return fail(
        diag('E_AGENT_CONFIG', `the agent on ${node} did not answer configuration version ${version} within ${timeoutMs / 1000} s`),
      );
    }
    const outcome = String(ack.data.outcome);
    const report = ack.data.report as ApplyReport | undefined;
    opts.onPushed?.({ node, version, outcome, ...(report ? { report } : {}), ms });
    const applied = ack.data.applied as Pick<NftApplied, 'handles' | 'stamp'> | undefined;
    if (outcome !== 'applied' || !report || !applied) {
      const why = Array.isArray(ack.data.errors) ? ack.data.errors.join('; ') : outcome;
      return fail(diag('E_AGENT_CONFIG', `the agent on ${node} did not apply configuration version ${version}: ${why}`));
    }
    return ok({ report, applied: { config, handles: applied.handles, stamp: applied.stamp } });
  };
}
