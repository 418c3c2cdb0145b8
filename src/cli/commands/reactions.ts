/**
 * `flowtap reactions APP`: what the controller did, would do (dry run) or waits to do, as the
 * broker's records leave each reaction. `flowtap approve|undo|keep APP ID`: an operator's
 * decision, sent to the controller on the admin subject; the command waits (bounded) for the
 * record that answers it and exits 0 when the controller carried it out, 1 when it refused.
 */
import { randomBytes } from 'node:crypto';
import type { StoredRecord } from '../../broker/index.js';
import { adminSubject, describeAction, foldReactions, type AdminRequest, type Reaction } from '../../controller/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import type { CloudEnv } from '../attach.js';
import { findDeploymentBroker, openDeploymentBroker, type BrokerOverride } from '../deployment-broker.js';
import { EXIT_OK, EXIT_VIOLATIONS, type Io } from '../exit.js';

export interface ReactionsOptions extends BrokerOverride {
  json?: boolean;
  /** Seconds to wait for the controller's answer (default 15). */
  timeout?: number;
}

async function allReactions(store: Awaited<ReturnType<typeof openDeploymentBroker>>['store'], tenant: string | undefined, app: string) {
  const out: StoredRecord[] = [];
  let afterId = 0;
  for (;;) {
    const page = await store.query({ kinds: ['reaction'], ...(tenant ? { tenant } : {}), app, afterId, limit: 10_000 });
    out.push(...page);
    if (page.length < 10_000) return out;
    afterId = page[page.length - 1].id;
  }
}

const when = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(11, 19));

export async function cmdReactions(io: Io, appArg: string, o: ReactionsOptions, env: CloudEnv): Promise<number> {
  const d = await findDeploymentBroker(io, appArg, env, o);
  const broker = await openDeploymentBroker(d);
  try {
    // The deployment that is up: an earlier one's reactions are history (`flowtap why` still finds them).
    const reactions = [...foldReactions(await allReactions(broker.store, d.tenant, d.app), d.since).values()];
    if (o.json) {
      io.out(JSON.stringify(reactions, null, 2));
      return EXIT_OK;
    }
    if (reactions.length === 0) {
      io.out(`no reactions in ${d.app}`);
      return EXIT_OK;
    }
    for (const r of reactions)
      io.out(
        `${r.id}  ${r.state.padEnd(17)} ${describeAction(r.action).padEnd(48)} ${r.note.replace('FlowTap::', '').padEnd(24)} applied ${when(r.appliedAt)} expires ${r.kept ? 'never (kept)' : when(r.expiresAt)}${r.reason ? `  (${r.reason})` : ''}`,
      );
    return EXIT_OK;
  } finally {
    await broker.close();
  }
}

export async function cmdReactionOp(
  io: Io,
  op: 'approve' | 'undo' | 'keep',
  appArg: string,
  id: string,
  o: ReactionsOptions,
  env: CloudEnv,
): Promise<number> {
  const d = await findDeploymentBroker(io, appArg, env, o);
  if (!d.tenant) throw new FlowtapError(diag('E_CONTROLLER', `${d.app} is not up: no controller to ask`));
  const broker = await openDeploymentBroker(d);
  try {
    const request = `q${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
    // The answer comes after what is stored now.
    const after = (await broker.store.query({ tenant: d.tenant, app: d.app, order: 'desc', limit: 1 }))[0]?.id ?? 0;
    const req: AdminRequest = { request, op, reaction: id, by: process.env.USER ?? 'cli' };
    await broker.bus.publish(adminSubject(d.tenant, d.app), req);
    const deadline = Date.now() + (o.timeout ?? 15) * 1000;
    while (Date.now() < deadline) {
      const answers = await broker.store.query({
        tenant: d.tenant,
        app: d.app,
        kinds: ['reaction', 'audit'],
        afterId: after,
        text: request,
      });
      const answer = answers.find((a) => a.data.request === request);
      if (answer) {
        if (answer.kind === 'audit') {
          const refusal = `${String(answer.data.code)}: ${String(answer.data.error)}`;
          if (o.json) io.out(JSON.stringify({ ok: false, request, code: answer.data.code, error: answer.data.error }));
          else io.err(`flowtap ${op}: refused: ${refusal}`);
          return EXIT_VIOLATIONS;
        }
        let r = answer.data.reaction as Reaction;
        let event = String(answer.data.event);
        if (event === 'approved') {
          // Approval is the decision; what counts is whether the action then went in.
          for (let i = 0; i < 150 && event === 'approved'; i++) {
            await new Promise((res) => setTimeout(res, 100));
            const next = (
              await broker.store.query({ tenant: d.tenant, app: d.app, kinds: ['reaction'], afterId: answer.id, text: r.id })
            ).find((x) => (x.data.reaction as Reaction | undefined)?.id === r.id);
            if (next) {
              r = next.data.reaction as Reaction;
              event = String(next.data.event);
            }
          }
        }
        if (o.json) io.out(JSON.stringify({ ok: event !== 'failed', request, event, reaction: r }, null, 2));
        else
          io.out(
            `${r.id}: ${op === 'approve' ? `approved, then ${event}` : event} (${describeAction(r.action)}), now ${r.state}${r.reason && event === 'failed' ? `: ${r.reason}` : ''}`,
          );
        return event === 'failed' ? EXIT_VIOLATIONS : EXIT_OK;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new FlowtapError(
      diag('E_CONTROLLER', `no controller answered within ${o.timeout ?? 15} s: is \`flowtap serve ${d.app}\` running?`),
    );
  } finally {
    await broker.close();
  }
}
