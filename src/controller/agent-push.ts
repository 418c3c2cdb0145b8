/**
 * How the controller hands a node its data-plane configuration: through the node's agent, on
 * the config subject, answered by the 'config' record the agent writes with the version
 * (applied, failed, stale, rejected). The push carries what the orchestrator records as in
 * force on the node, so the agent applies only the difference; the answer carries the rule
 * handles now in force, which the orchestrator records in turn.
 *
 * The answer is taken from the bus, where the agent publishes it the moment it is stored, and
 * from the store, polled: whichever has it first. On a server bus that is at once, and the store
 * is not read at all; the poll covers an embedded bus (itself polled) and an answer published
 * before the subscription began.
 */
import { pushConfig, recordsPattern } from '../agent/index.js';
import type { Broker, Subscription } from '../broker/index.js';
import type { ApplyReport, NftApplied } from '../dataplane/index.js';
import { diag, fail, ok } from '../diagnostics/index.js';
import type { NodePush } from '../orchestrator/index.js';

/** Every push and its answer, for the workflow's records. */
export interface PushOutcome {
  node: string;
  version: number;
  outcome: string;
  report?: ApplyReport;
  ms: number;
}

/** An agent's answer, as stored or as published: only its data is read. */
interface Answer {
  data: Record<string, unknown>;
}

export function agentPush(
  broker: Broker,
  at: { tenant: string; app: string },
  opts: { timeoutMs?: number; pollMs?: number; onPushed?: (o: PushOutcome) => void } = {},
): NodePush {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const waiting = new Map<string, (a: Answer) => void>();
  const keyOf = (node: string, version: unknown) => `${node}\u0000${String(version)}`;
  let answers: Promise<Subscription | null> | null = null;
  const listen = () =>
    (answers ??= broker.bus
      .subscribe(recordsPattern(at.tenant, at.app, 'config'), (m) => {
        const records = (m.data as { records?: unknown } | null)?.records;
        if (!Array.isArray(records)) return;
        for (const r of records as Array<{ node?: unknown; data?: Record<string, unknown> }>)
          if (r?.data?.what === 'config' && r.data.kind === 'dataplane' && typeof r.node === 'string')
            waiting.get(keyOf(r.node, r.data.version))?.({ data: r.data });
      })
      // Without the bus's answers the store's poll still finds them.
      .catch(() => null));
  return async ({ node, version, config, since }) => {
    const t0 = Date.now();
    await listen();
    const key = keyOf(node, version);
    let ack: Answer | undefined;
    let wake: () => void = () => {};
    waiting.set(key, (a) => {
      ack ??= a;
      wake();
    });
    try {
      const sent = await pushConfig(broker.bus, { ...at, node }, { version, kind: 'dataplane', config, ...(since ? { since } : {}) });
      if (!sent.ok) return sent;
      const deadline = t0 + timeoutMs;
      // The bus answers first; the store is read only when it has not after a poll interval.
      // Versions are never reused on a deployment, so the answer is found by node and version,
      // among the records of the last minute (clocks of one machine, or a node's near it).
      while (!ack && Date.now() < deadline) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, opts.pollMs ?? 50);
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        if (ack) break;
        const rows = await broker.store.query({ tenant: at.tenant, app: at.app, kinds: ['config'], node, from: t0 - 60_000 });
        ack ??= rows.find((r) => r.data.what === 'config' && r.data.kind === 'dataplane' && r.data.version === version);
      }
    } finally {
      waiting.delete(key);
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
