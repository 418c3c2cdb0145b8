/** `flowtap verify APP --live`: real connection attempts against the running cloud. */
import { openBroker, type Broker } from '../../broker/index.js';
import { adminRequestId, adminSubject, askController } from '../../controller/index.js';
import type { App } from '../../model/index.js';
import { judgeProbes, type Orchestrator, type Probe } from '../../orchestrator/index.js';
import { EXIT_OK, EXIT_VIOLATIONS, type Io } from '../exit.js';
import { attachCloud, type CloudEnv } from '../attach.js';

interface LiveRow extends Probe {
  expected: boolean;
}

async function liveMatrix(io: Io, appArg: string, env: CloudEnv): Promise<{ app: App; rows: LiveRow[] }> {
  const cloud = await attachCloud(io, appArg, env);
  const ctx = cloud.context();
  const told = await tellController(io, cloud, 'probe');
  try {
    return { app: cloud.app, rows: judgeProbes(cloud.app, await cloud.probe(), ctx) };
  } finally {
    if (told) {
      await told.bus.publish(adminSubject(cloud.app.tenant, cloud.app.name), {
        request: adminRequestId('p'),
        op: 'probe-end',
      });
      await told.close();
    }
  }
}

/**
 * The probe tries every pair, so its denied attempts look like a scan to the monitors: a
 * security controller serving the deployment is told first, and answers, so it does not take
 * flowtap's own probe for an attack. No answer within two seconds: no controller runs.
 */
async function tellController(io: Io, cloud: Orchestrator, op: 'probe'): Promise<Broker | null> {
  const addresses = cloud.spec().broker;
  if (!addresses) return null;
  const b = await openBroker({ ...addresses });
  if (!b.ok) return null;
  const at = { tenant: cloud.app.tenant, app: cloud.app.name };
  const request = adminRequestId('p');
  if (await askController(b.value, at, { request, op, ms: 120_000, by: 'flowtap verify --live' }, 2000)) {
    io.err("the security controller was told: the probe's denied attempts are not taken for an attack");
    return b.value;
  }
  await b.value.close();
  return null;
}

export async function cmdVerifyLive(io: Io, appArg: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const { rows } = await liveMatrix(io, appArg, env);
  const wrong = rows.filter((r) => r.open !== r.expected);
  if (json) {
    io.out(JSON.stringify({ ok: wrong.length === 0, probes: rows, differences: wrong }, null, 2));
    return wrong.length ? EXIT_VIOLATIONS : EXIT_OK;
  }
  const open = rows.filter((r) => r.open);
  io.out(`probe matrix: ${rows.length} TCP connection attempts, ${open.length} open`);
  for (const r of open) io.out(`  open    ${r.from.padEnd(20)} -> ${r.to}:${r.port} (${r.portName})`);
  for (const r of wrong)
    io.out(`  DIFFERENCE ${r.from} -> ${r.to}:${r.port}: ${r.open ? 'open but not required' : `required but ${r.error ?? 'closed'}`}`);
  io.out(
    wrong.length
      ? `${wrong.length} differences from the required connectivity`
      : `live connectivity equals the required one (${open.length} open, ${rows.length - open.length} denied)`,
  );
  return wrong.length ? EXIT_VIOLATIONS : EXIT_OK;
}
