/** `flowtap verify APP --live`: real connection attempts against the running cloud. */
import type { App } from '../model/index.js';
import type { Probe } from '../orchestrator/index.js';
import { EXIT_OK, EXIT_VIOLATIONS, type Io } from './exit.js';
import { attachCloud, type CloudEnv } from './cmd-cloud.js';

interface LiveRow extends Probe {
  expected: boolean;
}

/** Open exactly when a requirement asks for it and neither side is quarantined. */
function expectedOpen(app: App, p: Probe, isolated: ReadonlySet<string>): boolean {
  if (isolated.has(p.from) || isolated.has(p.to)) return false;
  return app.requirements.some(
    (r) =>
      r.from === p.fromService &&
      r.to === p.toService &&
      app.services.find((s) => s.name === r.to)?.ports.find((x) => x.name === r.port)?.port === p.port,
  );
}

async function liveMatrix(io: Io, appArg: string, env: CloudEnv): Promise<{ app: App; rows: LiveRow[] }> {
  const cloud = await attachCloud(io, appArg, env);
  const ctx = cloud.context();
  const isolated = new Set(
    Object.entries(ctx.status)
      .filter(([, s]) => s === 'isolated')
      .map(([i]) => i),
  );
  const probes = await cloud.probe();
  return { app: cloud.app, rows: probes.map((p) => ({ ...p, expected: expectedOpen(cloud.app, p, isolated) })) };
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
