/**
 * Carrying actions out, and taking them back, through the orchestrator (quarantine, restrict,
 * redeploy, the redirect's policy change) and the agents' control subject (verbosity). Each
 * returns the inverse to store with the reaction, computed from the state before the action.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setVerbosity } from '../agent/index.js';
import type { MessageBus } from '../broker/index.js';
import { FlowtapError } from '../diagnostics/index.js';
import type { NodeReports, Orchestrator } from '../orchestrator/index.js';
import { restrictionId, type Action, type Inverse } from './reaction/index.js';

export interface EffectsEnv {
  orchestrator: Orchestrator;
  bus: MessageBus;
  /** Where generated policy files (inline redirects) are written. */
  workDir: string;
  /** The agents' level before any reaction raised it. */
  baseLevel: number;
}

function nodeOf(env: EffectsEnv, instance: string): string {
  const a = env.orchestrator.context().addressing.instances[instance];
  if (!a) throw new Error(`no instance named ${instance} in ${env.orchestrator.app.name}`);
  return a.node;
}

/** The burst a rate limit allows on top of its rate: two seconds' worth, so a client's retries pass. */
const burstOf = (rate: number) => Math.max(1, rate * 2);

/** What carrying an action out left: its inverse, and what the data plane reported per node it changed. */
export interface CarriedOut {
  inverse?: Inverse;
  reports?: NodeReports;
}

export async function carryOut(env: EffectsEnv, a: Action): Promise<CarriedOut> {
  const o = env.orchestrator;
  switch (a.kind) {
    case 'quarantine':
      return { inverse: { kind: 'release', instance: a.instance }, reports: await o.isolate(a.instance) };
    case 'restrict': {
      const id = restrictionId(a);
      const r = await o.restrict({
        id,
        source: a.source,
        ...(a.port !== undefined ? { port: a.port, protocol: 'tcp' as const } : {}),
        ...(a.rate !== undefined ? { rate: { perSecond: a.rate, burst: burstOf(a.rate) } } : {}),
      });
      return { inverse: { kind: 'unrestrict', id }, reports: r };
    }
    case 'verbosity': {
      const node = nodeOf(env, a.instance);
      const ctx = o.context();
      const sent = await setVerbosity(
        env.bus,
        { tenant: ctx.tenant, app: ctx.app, node },
        { collector: '*', level: a.level, instances: null },
      );
      if (!sent.ok) throw new FlowtapError(sent.errors);
      return { inverse: { kind: 'verbosity', node, level: env.baseLevel } };
    }
    case 'redirect-inline': {
      const before = o.spec().policies;
      mkdirSync(env.workDir, { recursive: true });
      // A policy of one fact: the redirect compiles, is placed and rendered like every other tap.
      const file = join(env.workDir, `redirect-${a.instance}-${a.monitor}.dl`);
      writeFileSync(
        file,
        `// Written by the security controller: ${a.instance}'s flows pass through ${a.monitor}, which lets through only what its policies allow.\ntap(${JSON.stringify(a.instance)}, ${JSON.stringify(a.monitor)}, "ip", "redirect").\n`,
      );
      await o.reconfigure({ policies: [...before.filter((p) => p !== file), file] });
      return { inverse: { kind: 'policies', policies: before } };
    }
    case 'redeploy':
      await o.redeploy(a.instance);
      return {};
    case 'sample': {
      const before = o.spec().sampledMonitors ?? {};
      await o.reconfigure({ sampledMonitors: { ...before, [a.monitor]: a.every } });
      return { inverse: { kind: 'sampling', sampledMonitors: before } };
    }
  }
}

export async function takeBack(env: EffectsEnv, inv: Inverse): Promise<void> {
  const o = env.orchestrator;
  switch (inv.kind) {
    case 'release':
      if (o.context().status[inv.instance] === 'isolated') await o.release(inv.instance);
      return;
    case 'unrestrict':
      await o.unrestrict(inv.id);
      return;
    case 'verbosity': {
      const ctx = o.context();
      const sent = await setVerbosity(
        env.bus,
        { tenant: ctx.tenant, app: ctx.app, node: inv.node },
        { collector: '*', level: inv.level, instances: null },
      );
      if (!sent.ok) throw new FlowtapError(sent.errors);
      return;
    }
    case 'policies':
      await o.reconfigure({ policies: inv.policies });
      return;
    case 'sampling':
      await o.reconfigure({ sampledMonitors: inv.sampledMonitors });
      return;
  }
}
