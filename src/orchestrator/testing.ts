/**
 * Test helpers for the local cloud without root: the example descriptors, a state folder of
 * the test's own, and a stand-in for the controller whose nft scripts say what they were
 * rendered from, so a test sees which spec and context reached the data plane.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApp, planAddresses } from '../model/index.js';
import type { System } from '../system/index.js';
import type { DeploymentSpec, ManagementContext, Prepare } from './lifecycle.js';
import type { LocalCloudEnv } from './local-cloud.js';

/** A file of the repository, found from wherever the tests were compiled to. */
export function repoFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, relative)) && existsSync(join(dir, 'package.json'))) return join(dir, relative);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find ${relative} above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const ROOT = '/project';

export function testEnv(system: System): LocalCloudEnv & { stateDir: string } {
  return { system, stateDir: mkdtempSync(join(tmpdir(), 'flowtap-orch-')), root: ROOT, monitorSettleMs: 0, readyTimeout: 1 };
}

export function specOf(descriptor: string, change: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return { descriptor: repoFile(descriptor), policies: [], mode: 'enforce', strategy: 'per-node', downMonitors: [], ...change };
}

/** The first line of every script this renders: what it was rendered from. */
export function scriptHeader(spec: DeploymentSpec, node: string, ctx: ManagementContext): string {
  const by = (s: string) =>
    Object.entries(ctx.status)
      .filter(([, v]) => v === s)
      .map(([i]) => i)
      .join(',');
  return `# ${node} mode=${spec.mode} strategy=${spec.strategy} down=${spec.downMonitors.join(',')} isolated=${by('isolated')} terminated=${by('terminated')}`;
}

/** The controller's part, faked: records every spec it renders. */
export function fakePrepare(rendered: DeploymentSpec[] = []): Prepare {
  return (spec, addressing) => {
    rendered.push(structuredClone(spec));
    const loaded = loadApp(spec.descriptor);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const app = loaded.value;
    const planned = addressing ? { ok: true as const, value: addressing } : planAddresses(app);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    return {
      app,
      addressing: planned.value,
      dataplane: (node, ctx) => `${scriptHeader(spec, node, ctx)}\ntable inet flowtap {}\n`,
      monitorCommand: (m) => ['flowtap', 'monitor', '--iface', 'any', '--app', m.descriptor, '--log-dir', m.logDir],
      summary: 'fake rules',
    };
  };
}
