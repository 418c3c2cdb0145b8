/**
 * What a reaction costs the data plane at 1,000 instances: the security controller quarantines
 * one instance (status `isolated`), or restricts one source outside the application on every
 * node. Each is timed as the local cloud runs it, `check` then `apply` on every node the change
 * touches, once incrementally (the backend changes only the rules that differ) and once as a
 * full replacement of the very same configuration (`apply(..., { repair: true })`, which
 * replaces the tables whole), timed the same way in the same rounds, alternating which goes
 * first. Rendering is the same for both and is reported on its own. A third way is timed in the
 * same rounds: the incremental change through an interactive nft session without echo, as the
 * security controller applies reactions (`flowtap serve` keeps one per node): no process per
 * change. And through a session with echo, which gives the added rules' handles at once but makes
 * nft fetch the whole ruleset after the commit.
 *
 * The cloud: bench/generate-app.ts's 1,000 services of one instance over four nodes (a node's
 * /24 holds at most 253 instances), each node a scratch network namespace holding flowtap's real
 * nftables tables (no instance namespaces: the firewall matches port names, which need no
 * device). Beside the totals, every nft run is timed by what it is (`nft -f`, `nft -c`, the
 * echoing `nft -e -a -f`, a listing `nft -j list`), so the table says where the time goes.
 *
 * Needs root (namespaces, nft); without it the bench says so and does nothing.
 */
import { pathToFileURL } from 'node:url';
import { inferFirewall } from '../src/firewall/index.js';
import {
  nftBackend,
  NftSessions,
  type NftBackend,
  type NftNodeConfig,
  type NodeDesired,
  type SourceRestriction,
} from '../src/dataplane/index.js';
import { planAddresses, type Addressing, type App } from '../src/model/index.js';
import { realSystem } from '../src/system/index.js';
import { generateApp } from './generate-app.js';
import { TimedSystem } from './timed-system.js';

const INSTANCES = 1000;
const NODES = 4;
const ROUNDS = 5;

/** Which nft command a run is, for the table of where the time goes. */
const nftKind = (argv: string[]) =>
  argv.includes('list') ? 'nft -j list' : argv.includes('-c') ? 'nft -c' : argv.includes('-e') ? 'nft -e -a -f' : argv.join(' ');

interface Sample {
  ms: number;
  /** Milliseconds per nft command kind, and for planning + everything else (`js`). */
  parts: Map<string, number>;
  kind: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f1 = (x: number) => x.toFixed(1);
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export async function run(progress: (line: string) => void = () => {}): Promise<string[]> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return ['reaction-apply: skipped — needs root (network namespaces and nftables)'];
  const which = await realSystem.run(['sh', '-c', 'command -v nft && command -v ip']);
  if (which.code !== 0) return ['reaction-apply: skipped — needs nft and ip'];

  const app: App = generateApp(INSTANCES, 2 * INSTANCES, NODES);
  const planned = planAddresses(app);
  if (!planned.ok) throw new Error(planned.errors.map((e) => e.message).join('\n'));
  const addressing: Addressing = planned.value;
  const ruleset = inferFirewall(app);
  const nodes = app.nodes.map((n) => n.name);
  const prefix = `ftra${process.pid.toString(36)}`;
  const nsOf = (node: string) => `${prefix}-${node}`;
  const system = new TimedSystem(realSystem, nftKind);
  const backend: NftBackend = nftBackend({ system, nsOf });
  // The same tables and the same record of what is applied, changes through sessions.
  const sessions = new NftSessions(system);
  const viaSession: NftBackend = nftBackend({ system, nsOf, applied: backend.applied, transactions: sessions });
  const quietSessions = new NftSessions(system, { echo: false });
  const viaQuietSession: NftBackend = nftBackend({ system, nsOf, applied: backend.applied, transactions: quietSessions });
  const running = Object.fromEntries(app.instances.map((i) => [i.name, 'running' as const]));

  const desired = (node: string, status: NodeDesired['context']['status'], restrictions: SourceRestriction[] = []): NodeDesired => ({
    node,
    app,
    ruleset,
    contracts: [],
    mode: 'enforce',
    context: { addressing, status, restrictions },
  });
  const renderMs: number[] = [];
  const render = (status: NodeDesired['context']['status'], restrictions: SourceRestriction[] = [], only = nodes) => {
    const t0 = performance.now();
    const out = only.map((node) => {
      const r = backend.render(desired(node, status, restrictions));
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      return r.value;
    });
    renderMs.push(performance.now() - t0);
    return out;
  };
  /** check every node, then apply every node: the local cloud's order. */
  const bring = async (configs: NftNodeConfig[], repair: boolean, via: NftBackend = backend): Promise<Sample> => {
    system.take();
    const t0 = performance.now();
    for (const c of configs) {
      const r = await via.check(c.node, c, { repair });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    }
    const kinds: string[] = [];
    for (const c of configs) {
      const r = await via.apply(c.node, c, { repair });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      kinds.push(r.value.kind);
    }
    const ms = performance.now() - t0;
    const parts = system.take();
    parts.set('js', ms - [...parts.values()].reduce((a, b) => a + b, 0));
    return { ms, parts, kind: [...new Set(kinds)].join('+') };
  };

  const made: string[] = [];
  try {
    for (const n of nodes) {
      const r = await realSystem.run(['ip', 'netns', 'add', nsOf(n)]);
      if (r.code !== 0) throw new Error(`ip netns add ${nsOf(n)}: ${r.stderr.trim()}`);
      made.push(nsOf(n));
    }
    const base = render(running);
    const rules = base.reduce((n, c) => n + c.tables.reduce((m, t) => m + t.chains.reduce((k, ch) => k + ch.rules.length, 0), 0), 0);
    progress(`reaction-apply: ${INSTANCES} instances on ${NODES} nodes, ${rules} rules; first apply`);
    await bring(base, false);

    type How = 'incremental' | 'session' | 'quiet' | 'full';
    const results: Record<'isolate' | 'restrict', Record<How, Sample[]>> = {
      isolate: { incremental: [], session: [], quiet: [], full: [] },
      restrict: { incremental: [], session: [], quiet: [], full: [] },
    };
    const via = (how: How) => (how === 'session' ? viaSession : how === 'quiet' ? viaQuietSession : backend);
    const releases: Sample[] = [];
    const sessionReleases: Sample[] = [];
    const quietReleases: Sample[] = [];
    const lifts: Sample[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // A different instance each round, on the first node: the reaction touches that node only.
      const victim = app.instances.filter((i) => addressing.instances[i.name].node === nodes[0])[round * 7].name;
      const isoNode = nodes.indexOf(addressing.instances[victim].node);
      const isolated = render({ ...running, [victim]: 'isolated' }, [], [nodes[isoNode]]);
      const baseNode = render(running, [], [nodes[isoNode]]);
      const restriction: SourceRestriction = {
        id: `flood-${round}`,
        source: `203.0.113.${round}/32`,
        port: 8080,
        rate: { perSecond: 50, burst: 100 },
      };
      const restricted = render(running, [restriction]);
      const order: How[] = round % 2 ? ['incremental', 'session', 'quiet', 'full'] : ['full', 'quiet', 'session', 'incremental'];
      for (const how of order) {
        progress(`reaction-apply: round ${round}, isolate ${victim}, ${how}`);
        results.isolate[how].push(await bring(isolated, how === 'full', via(how)));
        // Back to the base state, incrementally (timed too: a release is a reaction as well).
        const back = await bring(baseNode, false, via(how));
        if (how === 'incremental') releases.push(back);
        if (how === 'session') sessionReleases.push(back);
        if (how === 'quiet') quietReleases.push(back);
      }
      for (const how of order) {
        progress(`reaction-apply: round ${round}, restrict ${restriction.source}, ${how}`);
        results.restrict[how].push(await bring(restricted, how === 'full', via(how)));
        const back = await bring(base, false, via(how));
        if (how === 'incremental') lifts.push(back);
      }
    }

    const lines = [
      `reaction-apply: ${INSTANCES} instances on ${NODES} nodes (${rules} nft rules in all), real nft in scratch namespaces, ${ROUNDS} rounds`,
      '  each figure: check + apply of every node the change touches, in ms, median (min–max); full = the same configuration replaced whole',
      '',
      `  ${pad('reaction', 40)} ${lpad('incremental', 22)} ${lpad('full', 22)} ${lpad('full / incr.', 12)}`,
    ];
    const cell = (s: Sample[]) => {
      const ms = s.map((x) => x.ms);
      return `${f1(median(ms))} (${f1(Math.min(...ms))}–${f1(Math.max(...ms))})`;
    };
    const ratio = (a: Sample[], b: Sample[]) => median(b.map((x) => x.ms)) / median(a.map((x) => x.ms));
    lines.push(
      `  ${pad(`isolate one instance (1 node, ${INSTANCES / NODES} instances)`, 40)} ${lpad(cell(results.isolate.incremental), 22)} ${lpad(cell(results.isolate.full), 22)} ${lpad(`${ratio(results.isolate.incremental, results.isolate.full).toFixed(1)}x`, 12)}`,
      `  ${pad(`restrict one source (all ${NODES} nodes)`, 40)} ${lpad(cell(results.restrict.incremental), 22)} ${lpad(cell(results.restrict.full), 22)} ${lpad(`${ratio(results.restrict.incremental, results.restrict.full).toFixed(1)}x`, 12)}`,
      `  ${pad('release the instance (incremental)', 40)} ${lpad(cell(releases), 22)}`,
      `  ${pad('lift the restriction (incremental)', 40)} ${lpad(cell(lifts), 22)}`,
      '',
      "  the same incremental changes through an nft session without echo (the controller's way; it reads the handles when it confirms):",
      `  ${pad('isolate one instance', 40)} ${lpad(cell(results.isolate.quiet), 22)} ${lpad(cell(results.isolate.full), 22)} ${lpad(`${ratio(results.isolate.quiet, results.isolate.full).toFixed(1)}x`, 12)}`,
      `  ${pad('restrict one source', 40)} ${lpad(cell(results.restrict.quiet), 22)} ${lpad(cell(results.restrict.full), 22)} ${lpad(`${ratio(results.restrict.quiet, results.restrict.full).toFixed(1)}x`, 12)}`,
      `  ${pad('release the instance', 40)} ${lpad(cell(quietReleases), 22)}`,
      "  and through an nft session with echo (the kernel's answer holds the new rules' handles; nft fetches the whole ruleset for it):",
      `  ${pad('isolate one instance', 40)} ${lpad(cell(results.isolate.session), 22)} ${lpad(cell(results.isolate.full), 22)} ${lpad(`${ratio(results.isolate.session, results.isolate.full).toFixed(1)}x`, 12)}`,
      `  ${pad('restrict one source', 40)} ${lpad(cell(results.restrict.session), 22)} ${lpad(cell(results.restrict.full), 22)} ${lpad(`${ratio(results.restrict.session, results.restrict.full).toFixed(1)}x`, 12)}`,
      `  ${pad('release the instance', 40)} ${lpad(cell(sessionReleases), 22)}`,
      '',
      '  where the time goes (median ms per reaction; js = planning and the rest of the process):',
    );
    const rows: Array<[string, Sample[]]> = [
      ['isolate, incremental', results.isolate.incremental],
      ['isolate, full', results.isolate.full],
      ['isolate, session', results.isolate.quiet],
      ['isolate, session+echo', results.isolate.session],
      ['restrict, incremental', results.restrict.incremental],
      ['restrict, full', results.restrict.full],
      ['release, incremental', releases],
      ['lift, incremental', lifts],
    ];
    const kinds = [...new Set(rows.flatMap(([, s]) => s.flatMap((x) => [...x.parts.keys()])))].sort();
    lines.push(`  ${pad('', 24)} ${kinds.map((k) => lpad(k, 22)).join('')}  apply kinds`);
    for (const [name, s] of rows)
      lines.push(
        `  ${pad(name, 24)} ${kinds.map((k) => lpad(f1(median(s.map((x) => x.parts.get(k) ?? 0))), 22)).join('')}  ${[...new Set(s.map((x) => x.kind))].join(', ')}`,
      );
    lines.push('', `  render (pure, the same for both ways): ${f1(median(renderMs))} ms median per call (every node or one)`);
    return lines;
  } finally {
    await sessions.close();
    await quietSessions.close();
    for (const ns of made) await realSystem.run(['ip', 'netns', 'del', ns]);
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
