/**
 * What a quarantine costs the Open vSwitch data plane at 1,000 instances: one instance becomes
 * `isolated` and the node holding it is brought to the new configuration, `check` then `apply`
 * as the local cloud runs them, once incrementally (one bundle of the flows that differ) and
 * once as a full replacement of the very same configuration (`apply(..., { repair: true })`,
 * `replace-flows`), in the same rounds, alternating which goes first. Between the two the
 * node goes back to the base configuration (incrementally; timed as the release).
 *
 * The cloud: bench/generate-app.ts's 1,000 services of one instance over four nodes, as
 * bench/reaction-apply.ts builds it for nftables; only the quarantined instance's node is
 * timed (the change touches no other), on a real netdev bridge whose ports are patch ports
 * without a peer: they give OpenFlow the port numbers the flows send to without a kernel
 * device each. No contracts: the flows are the pipeline and the firewall.
 *
 * Needs root and Open vSwitch (scripts/ovs.sh start); without them the bench says so.
 */
import { pathToFileURL } from 'node:url';
import { OvsBackend, addBridgeArgv, type NodeDesired, type OvsNodeConfig } from '../src/dataplane/index.js';
import { inferFirewall } from '../src/firewall/index.js';
import { planAddresses, type App } from '../src/model/index.js';
import { realSystem } from '../src/system/index.js';
import { generateApp } from './generate-app.js';
import { fmtStat, stat } from './stats.js';
import { TimedSystem } from './timed-system.js';

const INSTANCES = 1000;
const NODES = 4;
const ROUNDS = 5;

/** Which ovs-ofctl verb a run is (`--bundle replace-flows` apart from `bundle`). */
function ofctlKind(argv: string[]): string {
  const verb = argv.find((a) => /^[a-z]+(-[a-z]+)*$/.test(a) && a !== 'ovs-ofctl') ?? argv[0];
  return argv.includes('--bundle') ? `--bundle ${verb}` : verb;
}

interface Sample {
  ms: number;
  parts: Map<string, number>;
  kind: string;
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

export async function run(progress: (line: string) => void = () => {}): Promise<string[]> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return ['ovs-apply: skipped — needs root (Open vSwitch)'];
  const up = await realSystem.run(['ovs-vsctl', '--timeout=2', 'show']);
  if (up.code !== 0) return ['ovs-apply: skipped — Open vSwitch does not answer (scripts/ovs.sh start)'];

  const app: App = generateApp(INSTANCES, 2 * INSTANCES, NODES);
  const planned = planAddresses(app);
  if (!planned.ok) throw new Error(planned.errors.map((e) => e.message).join('\n'));
  const addressing = planned.value;
  const ruleset = inferFirewall(app);
  const node = app.nodes[0].name;
  const bridge = `ftoa${process.pid.toString(36).slice(-5)}`;
  const system = new TimedSystem(realSystem, ofctlKind);
  const backend = new OvsBackend({ system, bridgeOf: () => bridge });
  const running = Object.fromEntries(app.instances.map((i) => [i.name, 'running' as const]));
  const desired = (status: NodeDesired['context']['status']): NodeDesired => ({
    node,
    app,
    ruleset,
    contracts: [],
    mode: 'enforce',
    context: { addressing, status },
  });
  const renderMs: number[] = [];
  const render = (status: NodeDesired['context']['status']): OvsNodeConfig => {
    const t0 = performance.now();
    const r = backend.render(desired(status));
    renderMs.push(performance.now() - t0);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    return r.value;
  };
  const bring = async (config: OvsNodeConfig, repair: boolean): Promise<Sample> => {
    system.take();
    const t0 = performance.now();
    const c = await backend.check(node, config, { repair });
    if (!c.ok) throw new Error(c.errors.map((e) => e.message).join('\n'));
    const r = await backend.apply(node, config, { repair });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    const ms = performance.now() - t0;
    const parts = system.take();
    parts.set('js', ms - [...parts.values()].reduce((a, b) => a + b, 0));
    return { ms, parts, kind: r.value.kind };
  };

  try {
    const base = render(running);
    const made = await realSystem.run(addBridgeArgv(bridge));
    if (made.code !== 0) throw new Error(`${addBridgeArgv(bridge).join(' ')}: ${made.stderr.trim()}`);
    // Every port in one ovsdb transaction: a patch port without its peer still has its OpenFlow number.
    const ports = base.ports.flatMap((p) => [
      '--',
      'add-port',
      bridge,
      `${bridge}p${p}`,
      '--',
      'set',
      'interface',
      `${bridge}p${p}`,
      'type=patch',
      `options:peer=${bridge}none`,
      `ofport_request=${p}`,
    ]);
    const plugged = await realSystem.run(['ovs-vsctl', ...ports]);
    if (plugged.code !== 0) throw new Error(`ovs-vsctl add-port: ${plugged.stderr.trim()}`);
    const local = app.instances.filter((i) => addressing.instances[i.name].node === node);
    progress(
      `ovs-apply: ${INSTANCES} instances on ${NODES} nodes; node ${node}: ${local.length} instances, ${base.flows.length} flows; first apply`,
    );
    const first = await bring(base, false);

    const results: Record<'incremental' | 'full', Sample[]> = { incremental: [], full: [] };
    const releases: Sample[] = [];
    let changed = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const victim = local[round * 7].name;
      const isolated = render({ ...running, [victim]: 'isolated' });
      changed = isolated.flows.length - base.flows.length;
      const order = round % 2 ? (['incremental', 'full'] as const) : (['full', 'incremental'] as const);
      for (const how of order) {
        progress(`ovs-apply: round ${round}, isolate ${victim}, ${how}`);
        const s = await bring(isolated, how === 'full');
        if (s.kind !== how) throw new Error(`ovs-apply: asked for ${how}, the backend did ${s.kind}`);
        results[how].push(s);
        const back = await bring(base, false);
        if (back.kind !== 'incremental') throw new Error(`ovs-apply: the release was ${back.kind}, not incremental`);
        releases.push(back);
      }
    }

    const f1 = (xs: number[]) => fmtStat(stat(xs), 1);
    const ms = (s: Sample[]) => s.map((x) => x.ms);
    const ratio = stat(ms(results.full)).median / stat(ms(results.incremental)).median;
    const lines = [
      `ovs-apply: ${INSTANCES} instances on ${NODES} nodes; the quarantined instance's node has ${local.length} instances and ${base.flows.length} flows (a quarantine adds ${changed}); real netdev bridge, ${ROUNDS} rounds`,
      '  each figure: check + apply of that node, in ms, median (min–max); full = the same configuration replaced whole (replace-flows)',
      `  first apply (empty bridge): ${first.ms.toFixed(1)} ms`,
      '',
      `  ${pad('change', 36)} ${lpad('incremental', 22)} ${lpad('full', 22)} ${lpad('full / incr.', 12)}`,
      `  ${pad('isolate one instance', 36)} ${lpad(f1(ms(results.incremental)), 22)} ${lpad(f1(ms(results.full)), 22)} ${lpad(`${ratio.toFixed(1)}x`, 12)}`,
      `  ${pad('release it (incremental)', 36)} ${lpad(f1(ms(releases)), 22)}`,
      '',
      '  where the time goes (median ms; js = planning, parsing and the rest of the process):',
    ];
    const rows: Array<[string, Sample[]]> = [
      ['isolate, incremental', results.incremental],
      ['isolate, full', results.full],
      ['release, incremental', releases],
    ];
    for (const [name, s] of rows) {
      const kinds = [...new Set(s.flatMap((x) => [...x.parts.keys()]))].sort();
      const cells = kinds.map((k) => `${k} ${stat(s.map((x) => x.parts.get(k) ?? 0)).median.toFixed(1)}`);
      lines.push(`  ${pad(name, 22)} ${cells.join(', ')}`);
    }
    lines.push('', `  render of the node (pure, the same for both ways): ${f1(renderMs)} ms`);
    return lines;
  } finally {
    await realSystem.run(['ovs-vsctl', '--if-exists', 'del-br', bridge]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run((l) => console.error(l)).then(
    (lines) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
