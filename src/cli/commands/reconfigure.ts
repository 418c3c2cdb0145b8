/**
 * `flowtap reconfigure APP [--descriptor] [--policy FILE]... [--mode M] [--strategy S]
 * [--monitors-down LIST]`: an administrator's change of a running deployment — its descriptor
 * read again (requirements changed; what runs where may not), its policies, mode, strategy or
 * monitors down. When its security controller runs, the
 * change goes through it: it pushes only what changed to each node's agent and verifies the
 * result with the live probe matrix; this command waits for that and prints it. Without a
 * controller, the orchestrator applies the change here and the probe runs here.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { openBroker } from '../../broker/index.js';
import {
  adminRequestId,
  adminSubject,
  controllerPidFile,
  liveControllerPid,
  verification,
  workflowRecords,
  type Verification,
} from '../../controller/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { stateDirOf, type DeploymentSpec, type SpecChange } from '../../orchestrator/index.js';
import { attachCloud, type CloudEnv } from '../attach.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, EXIT_VIOLATIONS, need, type Io } from '../exit.js';

export interface ReconfigureOptions {
  policy: string[];
  clearPolicies?: boolean;
  mode?: DeploymentSpec['mode'];
  strategy?: DeploymentSpec['strategy'];
  monitorsDown?: string[];
  /** The descriptor changed (its requirements): read it again. */
  descriptor?: boolean;
  /** Seconds to wait for the controller's verification (default 120). */
  timeout?: number;
  json?: boolean;
}

function changeOf(o: ReconfigureOptions): SpecChange {
  const change: SpecChange = {};
  if (o.policy.length && o.clearPolicies)
    throw new FlowtapError(diag(CliCode.USAGE, '--policy and --clear-policies say opposite things', { field: 'policy' }));
  for (const p of o.policy)
    if (!existsSync(p)) throw new FlowtapError(diag(CliCode.NO_FILE, `no policy file ${p}`, { file: p, field: 'policy' }));
  if (o.policy.length) change.policies = o.policy.map((p) => resolve(p));
  if (o.clearPolicies) change.policies = [];
  if (o.mode) change.mode = o.mode;
  if (o.strategy) change.strategy = o.strategy;
  if (o.monitorsDown) change.downMonitors = o.monitorsDown;
  if (Object.keys(change).length === 0 && !o.descriptor)
    throw new FlowtapError(
      diag(CliCode.USAGE, 'nothing to change: give --descriptor, --policy, --clear-policies, --mode, --strategy or --monitors-down', {
        field: 'policy',
      }),
    );
  return change;
}

function verificationLine(v: Verification): string {
  if (v.skipped) return `verification skipped: ${v.skipped}`;
  const head = `probe: ${v.pairs} connection attempts, ${v.open} open`;
  return v.ok
    ? `${head}; live connectivity equals the required one`
    : `${head}; ${v.missing.length} required but closed (${v.missing.join(', ') || 'none'}), ${v.extra.length} open but not required (${v.extra.join(', ') || 'none'})`;
}

export async function cmdReconfigure(io: Io, appArg: string, o: ReconfigureOptions, env: CloudEnv = {}): Promise<number> {
  const change = changeOf(o);
  const cloud = await attachCloud(io, appArg, env);
  const at = { tenant: cloud.app.tenant, app: cloud.app.name };
  const addresses = cloud.spec().broker;
  const controller = liveControllerPid(controllerPidFile(stateDirOf(env.stateDir), at.app));
  if (controller !== null && addresses) {
    const broker = need(await openBroker({ ...addresses }));
    try {
      const request = adminRequestId('c');
      const after = (await broker.store.query({ ...at, order: 'desc', limit: 1 }))[0]?.id ?? 0;
      await broker.bus.publish(adminSubject(at.tenant, at.app), {
        request,
        op: 'reconfigure',
        change,
        by: process.env.USER ?? 'cli',
      });
      const rows = await workflowRecords(broker.store, at, request, after, Date.now() + (o.timeout ?? 120) * 1000);
      if (!rows)
        throw new FlowtapError(
          diag('E_CONTROLLER', `the controller (pid ${controller}) did not finish the change within ${o.timeout ?? 120} s`),
        );
      const failed = rows.find((r) => r.data.step === 'failed' || (r.kind === 'audit' && r.data.ok === false));
      const verified = rows.find((r) => r.data.step === 'verified')?.data as unknown as Verification | undefined;
      const pushed = rows.filter((r) => r.data.step === 'pushed').map((r) => r.data);
      if (o.json)
        io.out(
          JSON.stringify(
            { ok: !failed && verified?.ok === true, via: 'controller', change, pushed, verified, error: failed?.data.error },
            null,
            2,
          ),
        );
      else {
        for (const p of pushed)
          io.out(
            `${String(p.node)}: ${String(p.outcome)}${p.version !== undefined ? ` (version ${String(p.version)}, through its agent)` : ''}`,
          );
        if (failed) io.err(`flowtap reconfigure: failed: ${String(failed.data.error ?? failed.data.code)}`);
        if (verified) io.out(verificationLine(verified));
      }
      if (failed) throw new FlowtapError(diag('E_RECONFIGURE', `the controller could not apply the change: ${String(failed.data.error)}`));
      return verified?.ok ? EXIT_OK : EXIT_VIOLATIONS;
    } finally {
      await broker.close();
    }
  }
  // No controller: the change is made here, and verified here.
  const reports = await cloud.reconfigure(change);
  const t0 = Date.now();
  const v = { ...verification(cloud, await cloud.probe()), ms: Date.now() - t0 };
  if (o.json) io.out(JSON.stringify({ ok: v.ok, via: 'orchestrator', change, reports, verified: v }, null, 2));
  else {
    for (const [node, r] of Object.entries(reports)) io.out(`${node}: ${r.kind} (+${r.rulesAdded} -${r.rulesRemoved})`);
    io.out(verificationLine(v));
  }
  return v.ok ? EXIT_OK : EXIT_VIOLATIONS;
}
