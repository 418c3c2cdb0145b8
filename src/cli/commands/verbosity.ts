/**
 * `flowtap verbosity APP [--node N] [--instance I] [--collector C] LEVEL [--period S]`: a run-time
 * change of what the node agents collect. Published on the bus; each agent concerned answers
 * with a 'config' record carrying the change's id, which this command waits for (bounded) and
 * prints: what every agent now runs. Exit 0 when every agent concerned applied it, 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { COLLECTORS, setVerbosity, verbosityAnswers, type VerbosityAnswer, type VerbositySetting } from '../../agent/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { OrchestratorCode } from '../../orchestrator/index.js';
import type { CloudEnv } from '../attach.js';
import { apiCall, type ServerOption } from '../api-client.js';
import { CliCode } from '../codes.js';
import { findDeploymentBroker, openDeploymentBroker, type BrokerOverride } from '../deployment-broker.js';
import { EXIT_OK, EXIT_VIOLATIONS, need, type Io } from '../exit.js';
import { describeSettings } from '../record-format.js';

export interface VerbosityOptions extends BrokerOverride, ServerOption {
  node?: string;
  instance?: string;
  collector?: string;
  /** Milliseconds. */
  period?: number;
  /** Seconds to wait for the acknowledgements (default 15). */
  timeout?: number;
  json?: boolean;
}

export async function cmdVerbosity(io: Io, appArg: string, level: number, o: VerbosityOptions, env: CloudEnv): Promise<number> {
  if (o.collector !== undefined && o.collector !== '*' && !(COLLECTORS as readonly string[]).includes(o.collector))
    throw new FlowtapError(
      diag(CliCode.OPTION, `--collector ${o.collector}: not a collector (have ${COLLECTORS.join(', ')})`, { field: 'collector' }),
    );
  if (o.server) {
    // The API checks the node and instance, tells the agents and waits for their answers.
    const { acks } = await apiCall<{ acks: { node: string; outcome: string; errors?: string[] }[] }>(
      o.server,
      'PUT',
      `api/v1/apps/${encodeURIComponent(appArg)}/verbosity`,
      {
        level,
        ...(o.node !== undefined ? { node: o.node } : {}),
        ...(o.collector !== undefined ? { collector: o.collector } : {}),
        ...(o.period !== undefined ? { periodMs: o.period } : {}),
        ...(o.instance !== undefined ? { instances: [o.instance] } : {}),
      },
    );
    const fine = acks.every((a) => a.outcome === 'applied');
    if (o.json) io.out(JSON.stringify({ ok: fine, acks }, null, 2));
    else for (const a of acks) io.out(`${a.node}: ${a.outcome}${a.errors?.length ? `: ${a.errors.join('; ')}` : ''}`);
    return fine ? EXIT_OK : EXIT_VIOLATIONS;
  }
  const d = await findDeploymentBroker(io, appArg, env, o);
  if (!d.tenant) throw new FlowtapError(diag(OrchestratorCode.NOT_UP, `${d.app} is not up: no agent to tell`));
  if (o.node !== undefined && !d.nodes.has(o.node))
    throw new FlowtapError(
      diag(OrchestratorCode.UNKNOWN_NODE, `no node named "${o.node}" in ${d.app} (have ${[...d.nodes.keys()].join(', ')})`, {
        field: 'node',
      }),
    );
  let targets = o.node !== undefined ? [o.node] : [...d.nodes.keys()];
  if (o.instance !== undefined) {
    const home = [...d.nodes].find(([, list]) => list.includes(o.instance!))?.[0];
    if (!home)
      throw new FlowtapError(
        diag(OrchestratorCode.UNKNOWN_INSTANCE, `no instance named "${o.instance}" in ${d.app}`, { field: 'instance' }),
      );
    if (o.node !== undefined && o.node !== home)
      throw new FlowtapError(diag(CliCode.OPTION, `instance ${o.instance} runs on ${home}, not ${o.node}`, { field: 'instance' }));
    // Only its node's agent knows it; the others would refuse the filter.
    targets = [home];
  }
  const id = `v${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  const setting: VerbositySetting = {
    id,
    ...(o.collector !== undefined ? { collector: o.collector as VerbositySetting['collector'] } : {}),
    level,
    ...(o.period !== undefined ? { periodMs: o.period } : {}),
    // The command says which instances the level is for; without --instance, all of them.
    instances: o.instance !== undefined ? [o.instance] : null,
  };
  const broker = await openDeploymentBroker(d);
  let answers: Map<string, VerbosityAnswer>;
  const timeoutMs = (o.timeout ?? 15) * 1000;
  let subject: string;
  try {
    // Answers come after what is stored now: the search for the id need not read the history.
    const after = (await broker.store.query({ tenant: d.tenant, app: d.app, order: 'desc', limit: 1 }))[0]?.id ?? 0;
    const sent = Date.now();
    subject = need(
      await setVerbosity(broker.bus, { tenant: d.tenant, app: d.app, ...(targets.length === 1 ? { node: targets[0] } : {}) }, setting),
    );
    answers = await verbosityAnswers(broker.store, { tenant: d.tenant, app: d.app }, id, targets, after, sent + timeoutMs);
  } finally {
    await broker.close();
  }
  const missing = targets.filter((n) => !answers.has(n));
  const ok = missing.length === 0 && [...answers.values()].every((a) => a.outcome === 'applied');
  if (o.json) io.out(JSON.stringify({ ok, subject, request: setting, answers: [...answers.values()], missing }, null, 2));
  else {
    for (const n of targets) {
      const a = answers.get(n);
      if (!a) io.out(`${n}: no answer within ${timeoutMs / 1000} s (is its agent running? \`flowtap status ${d.app}\`)`);
      else if (a.outcome === 'applied') io.out(`${n}: ${a.settings ? describeSettings(a.settings) : 'applied'}`);
      else io.out(`${n}: ${a.outcome}: ${(a.errors ?? []).join('; ')}`);
    }
  }
  return ok ? EXIT_OK : EXIT_VIOLATIONS;
}
