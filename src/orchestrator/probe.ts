/**
 * The probe matrix: a real TCP connection attempt from every running instance (and from
 * the outside world) to every TCP port of every other running instance.
 */
import { fileURLToPath } from 'node:url';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { OrchestratorCode } from './codes.js';
import { EXTERNAL, type App } from '../model/index.js';
import type { System } from '../system/index.js';
import type { ManagementContext, Probe } from './lifecycle.js';
import { externalNs, instanceNs } from './names.js';

const AGENT = fileURLToPath(new URL('./probe-agent.js', import.meta.url));
/** The probe agent's attempts time out after 1.5 s, retried on a taken port at most 8 times. */
const PROBE_DEADLINE_MS = 30_000;

export async function probeMatrix(system: System, app: App, ctx: ManagementContext): Promise<Probe[]> {
  const live = app.instances.filter((i) => ctx.status[i.name] !== 'terminated');
  const targets = live.flatMap((i) => {
    const svc = app.services.find((s) => s.name === i.service)!;
    return svc.ports
      .filter((p) => p.protocol === 'tcp')
      .map((p) => ({ instance: i.name, service: i.service, ip: ctx.addressing.instances[i.name].ip, port: p.port, portName: p.name }));
  });
  const sources = [
    { name: EXTERNAL, service: EXTERNAL, ns: externalNs(app.name) },
    ...live.map((i) => ({ name: i.name, service: i.service, ns: instanceNs(app.name, i.name) })),
  ];
  const all = await Promise.all(
    sources.map(async (src) => {
      const mine = targets.filter((t) => t.instance !== src.name);
      // Bounded: each attempt times out on its own, a wave of them well within this.
      const r = await system.run([process.execPath, AGENT, JSON.stringify(mine.map((t) => ({ ip: t.ip, port: t.port })))], {
        ns: src.ns,
        timeoutMs: PROBE_DEADLINE_MS,
      });
      if (r.code !== 0) throw new FlowtapError(diag(OrchestratorCode.PROBE, `probe from ${src.name} failed: ${r.stderr.trim()}`));
      const res = JSON.parse(r.stdout) as { open: boolean; error?: string }[];
      return mine.map(
        (t, k): Probe => ({
          from: src.name,
          fromService: src.service,
          to: t.instance,
          toService: t.service,
          port: t.port,
          portName: t.portName,
          open: res[k].open,
          ...(res[k].error ? { error: res[k].error } : {}),
        }),
      );
    }),
  );
  return all.flat();
}

/** Open exactly when a requirement asks for it and neither side is quarantined. */
export function expectedOpen(app: App, p: Probe, isolated: ReadonlySet<string>): boolean {
  if (isolated.has(p.from) || isolated.has(p.to)) return false;
  return app.requirements.some(
    (r) =>
      r.from === p.fromService &&
      r.to === p.toService &&
      app.services.find((s) => s.name === r.to)?.ports.find((x) => x.name === r.port)?.port === p.port,
  );
}

/** Every probe with whether it should have been open in this context (quarantines included). */
export function judgeProbes(app: App, probes: Probe[], ctx: ManagementContext): (Probe & { expected: boolean })[] {
  const isolated = new Set(
    Object.entries(ctx.status)
      .filter(([, s]) => s === 'isolated')
      .map(([i]) => i),
  );
  return probes.map((p) => ({ ...p, expected: expectedOpen(app, p, isolated) }));
}
