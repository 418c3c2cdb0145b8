/**
 * `flowtap reactions APP`: what the controller did, would do (dry run) or waits to do, as the
 * broker's records leave each reaction. `flowtap approve|undo|keep APP ID`: an operator's
 * decision, sent to the controller on the admin subject; the command waits (bounded) for the
 * record that answers it and exits 0 when the controller carried it out, 1 when it refused.
 */
import { decideReaction, describeAction, foldReactions, reactionHistory, type Reaction } from '../../controller/index.js';
import { apiCall, type ServerOption } from '../api-client.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import type { CloudEnv } from '../attach.js';
import { findDeploymentBroker, openDeploymentBroker, type BrokerOverride } from '../deployment-broker.js';
import { EXIT_OK, EXIT_VIOLATIONS, type Io } from '../exit.js';

export interface ReactionsOptions extends BrokerOverride, ServerOption {
  json?: boolean;
  /** Seconds to wait for the controller's answer (default 15). */
  timeout?: number;
}

const when = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(11, 19));

export async function cmdReactions(io: Io, appArg: string, o: ReactionsOptions, env: CloudEnv): Promise<number> {
  if (o.server) {
    const { reactions } = await apiCall<{ reactions: Reaction[] }>(o.server, 'GET', `api/v1/apps/${encodeURIComponent(appArg)}/reactions`);
    return printReactions(io, appArg, reactions, o.json === true);
  }
  const d = await findDeploymentBroker(io, appArg, env, o);
  const broker = await openDeploymentBroker(d);
  try {
    // The deployment that is up: an earlier one's reactions are history (`flowtap why` still finds them).
    const reactions = [...foldReactions(await reactionHistory(broker.store, { tenant: d.tenant, app: d.app }), d.since).values()];
    return printReactions(io, d.app, reactions, o.json === true);
  } finally {
    await broker.close();
  }
}

function printReactions(io: Io, app: string, reactions: Reaction[], json: boolean): number {
  if (json) {
    io.out(JSON.stringify(reactions, null, 2));
    return EXIT_OK;
  }
  if (reactions.length === 0) {
    io.out(`no reactions in ${app}`);
    return EXIT_OK;
  }
  for (const r of reactions)
    io.out(
      `${r.id}  ${r.state.padEnd(17)} ${describeAction(r.action).padEnd(48)} ${r.note.replace('FlowTap::', '').padEnd(24)} applied ${when(r.appliedAt)} expires ${r.kept ? 'never (kept)' : when(r.expiresAt)}${r.reason ? `  (${r.reason})` : ''}`,
    );
  return EXIT_OK;
}

export async function cmdReactionOp(
  io: Io,
  op: 'approve' | 'undo' | 'keep',
  appArg: string,
  id: string,
  o: ReactionsOptions,
  env: CloudEnv,
): Promise<number> {
  if (o.server) {
    // The API waits for the controller's answer; a refusal comes back as its error.
    const { event, reaction: r } = await apiCall<{ event: string; reaction: Reaction }>(
      o.server,
      'POST',
      `api/v1/apps/${encodeURIComponent(appArg)}/reactions/${encodeURIComponent(id)}/${op}`,
      {},
    );
    return answered(io, op, event, r, '', o.json === true);
  }
  const d = await findDeploymentBroker(io, appArg, env, o);
  if (!d.tenant) throw new FlowtapError(diag('E_CONTROLLER', `${d.app} is not up: no controller to ask`));
  const broker = await openDeploymentBroker(d);
  const timeout = o.timeout ?? 15;
  try {
    const answer = await decideReaction(broker, { tenant: d.tenant, app: d.app }, op, id, process.env.USER ?? 'cli', timeout * 1000);
    if (answer.kind === 'silent')
      throw new FlowtapError(diag('E_CONTROLLER', `no controller answered within ${timeout} s: is \`flowtap serve ${d.app}\` running?`));
    if (answer.kind === 'refused') {
      if (o.json) io.out(JSON.stringify({ ok: false, request: answer.request, code: answer.code, error: answer.error }));
      else io.err(`flowtap ${op}: refused: ${answer.code}: ${answer.error}`);
      return EXIT_VIOLATIONS;
    }
    return answered(io, op, answer.event, answer.reaction, answer.request, o.json === true);
  } finally {
    await broker.close();
  }
}

function answered(io: Io, op: 'approve' | 'undo' | 'keep', event: string, r: Reaction, request: string, json: boolean): number {
  if (json) io.out(JSON.stringify({ ok: event !== 'failed', request, event, reaction: r }, null, 2));
  else
    io.out(
      `${r.id}: ${op === 'approve' ? `approved, then ${event}` : event} (${describeAction(r.action)}), now ${r.state}${r.reason && event === 'failed' ? `: ${r.reason}` : ''}`,
    );
  return event === 'failed' ? EXIT_VIOLATIONS : EXIT_OK;
}
