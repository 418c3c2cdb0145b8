/**
 * The simulator against the real thing: a two-node local cloud (test/fixtures/differential) with
 * its inferred firewall and taps applied by nftables, and generated packets (random source,
 * destination, protocol and port, allowed and denied, tapped and not) sent for real from inside
 * the source namespaces. tcpdump in every instance and monitor namespace records where each
 * packet arrived; every arrival and every copy must be what the simulator backend says, with
 * each node's own configuration applied to it from the same desired state; and each node's
 * kernel must hold exactly the counting rules the simulator lists. Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDeployment, type Deployment } from '../src/controller/index.js';
import { formatTrace, simulatorBackend, type SimEntry } from '../src/dataplane/simulate/index.js';
import { parsePacketSpec } from '../src/flowtap/index.js';
import { seededRng, type Rng } from '../src/random/index.js';
import { EXTERNAL_IP, nftBackend, type NodeContext } from '../src/dataplane/index.js';
import { downCloud, externalNs, instanceNs, LocalCloud, monitorNs, nodeNs } from '../src/orchestrator/index.js';
import { realSystem, type Spawned } from '../src/system/index.js';
import { needsRoot } from '../src/system/testing.js';

const skip = needsRoot();
const FIXTURE = 'test/fixtures/differential';
const APP = 'simdiff';
const PROBES = 120;

interface Probe {
  n: number;
  from: string;
  to: string;
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  srcIp: string;
  dstIp: string;
}

const key = (srcIp: string, sport: number, dstIp: string, dport: number) => `${srcIp}:${sport}>${dstIp}:${dport}`;
const probeKey = (p: Probe) => key(p.srcIp, p.sport, p.dstIp, p.dport);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Random probes, a third of them on required connections so that enough get through. */
function generate(dep: Deployment, r: Rng): Probe[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const { app, addressing } = dep;
  const names = app.instances.map((i) => i.name);
  const ipOf = (i: string) => (i === 'outside' ? EXTERNAL_IP : addressing.instances[i].ip);
  const svcOf = (i: string) => app.services.find((s) => s.name === app.instances.find((x) => x.name === i)!.service)!;
  const allPorts = app.services.flatMap((s) => s.ports);
  const out: Probe[] = [];
  for (let n = 0; n < PROBES; n++) {
    let from: string;
    let to: string;
    let proto: 'tcp' | 'udp';
    let dport: number;
    const kind = r();
    if (kind < 0.33) {
      const req = pick(app.requirements);
      from = req.from === 'external' ? 'outside' : app.instances.find((i) => i.service === req.from)!.name;
      to = app.instances.find((i) => i.service === req.to)!.name;
      const p = app.services.find((s) => s.name === req.to)!.ports.find((x) => x.name === req.port)!;
      proto = p.protocol;
      dport = p.port;
    } else {
      from = r() < 0.1 ? 'outside' : pick(names);
      to = pick(names.filter((x) => x !== from));
      proto = r() < 0.5 ? 'tcp' : 'udp';
      const y = r();
      dport = y < 0.5 ? pick(svcOf(to).ports).port : y < 0.75 ? pick(allPorts).port : 1024 + Math.floor(r() * 59000);
      // web's UDP to 7777 is redirected (taps.dl): make sure some are sent.
      if (from === 'web-0' && r() < 0.35) {
        proto = 'udp';
        dport = 7777;
      }
    }
    out.push({ n, from, to, proto, sport: 30000 + n, dport, srcIp: ipOf(from), dstIp: ipOf(to) });
  }
  return out;
}

/** Sends one SYN or datagram per probe, 15 ms apart; a SYN's socket is dropped before any retransmission. */
const PROBER = `
const net = require('net'), dgram = require('dgram');
const probes = JSON.parse(process.argv[1]);
let i = 0;
const next = () => {
  if (i >= probes.length) return setTimeout(() => process.exit(0), 400);
  const p = probes[i++];
  if (p.proto === 'udp') {
    const s = dgram.createSocket('udp4');
    s.bind(p.sport, () => s.send('flowtap-probe', p.dport, p.dstIp, () => s.close()));
  } else {
    const c = net.connect({ host: p.dstIp, port: p.dport, localPort: p.sport });
    c.on('error', () => {});
    setTimeout(() => c.destroy(), 300);
  }
  setTimeout(next, 15);
};
next();
`;

async function runProber(ns: string, probes: Probe[]): Promise<void> {
  const child = realSystem.spawn([process.execPath, '-e', PROBER, JSON.stringify(probes)], { ns, stderr: true });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`prober in ${ns} exited ${code}: ${err}`);
}

interface Capture {
  child: Spawned;
  seen: Set<string>;
  closed: Promise<void>;
}

const TUPLE = /IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+):/;

/** tcpdump on every interface of a namespace, inbound IPv4 TCP/UDP only; resolves once listening. */
async function capture(ns: string): Promise<Capture> {
  const child = realSystem.spawn(['tcpdump', '-l', '-n', '-i', 'any', '-Q', 'in', 'ip and (tcp or udp)'], {
    ns,
    stdout: true,
    stderr: true,
  });
  const seen = new Set<string>();
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const m = TUPLE.exec(l);
      if (m) seen.add(key(m[1], Number(m[2]), m[3], Number(m[4])));
    }
  });
  const closed = child.exited.then(() => undefined);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump in ${ns} did not start: ${err}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void closed.then(() => reject(new Error(`tcpdump in ${ns} exited: ${err}`)));
  });
  return { child, seen, closed };
}

describe('differential: the simulator against nftables in namespaces', { skip }, () => {
  let stateDir = '';
  let dep: Deployment;
  let ctx: NodeContext;
  const sim = simulatorBackend();

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'flowtap-diff-'));
    chmodSync(stateDir, 0o755);
    process.env.FLOWTAP_STATE_DIR = stateDir;
    await downCloud(APP);
    dep = prepareDeployment(`${FIXTURE}/app.yaml`, { policies: [`${FIXTURE}/taps.dl`, `${FIXTURE}/inline.dl`], mode: 'enforce' });
    const cloud = await LocalCloud.up(dep.app, dep.addressing, `${FIXTURE}/app.yaml`, {
      desired: dep.desired,
      root: process.cwd(),
      policies: [`${FIXTURE}/taps.dl`, `${FIXTURE}/inline.dl`],
    });
    ctx = cloud.context();
    // The simulator as a backend: each node's own configuration, from the same desired state the cloud applied.
    for (const n of dep.app.nodes) {
      const config = sim.render(dep.desired(n.name, ctx));
      if (!config.ok) assert.fail(config.errors.map((e) => e.message).join('\n'));
      const applied = await sim.apply(n.name, config.value);
      assert.ok(applied.ok);
    }
  });

  after(async () => {
    await downCloud(APP);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  test(`${PROBES} generated packets arrive, and are copied, where the simulator says`, async () => {
    const probes = generate(dep, seededRng(Number(process.env.FLOWTAP_DIFF_SEED ?? 20240611)));
    const instances = dep.app.instances.map((i) => i.name);
    const monitors = dep.app.monitors.map((m) => m.name);
    const caps = new Map<string, Capture>();
    await Promise.all([
      ...instances.map(async (i) => caps.set(i, await capture(instanceNs(APP, i)))),
      ...monitors.map(async (m) => caps.set(m, await capture(monitorNs(APP, m)))),
    ]);
    try {
      const bySource = new Map<string, Probe[]>();
      for (const p of probes) bySource.set(p.from, [...(bySource.get(p.from) ?? []), p]);
      await Promise.all([...bySource].map(([from, list]) => runProber(from === 'outside' ? externalNs(APP) : instanceNs(APP, from), list)));
      await sleep(1500);
    } finally {
      for (const c of caps.values()) c.child.kill('SIGINT');
      await Promise.all([...caps.values()].map((c) => c.closed));
    }

    const mismatches: string[] = [];
    const tally = { delivered: 0, dropped: 0, copied: 0, uncopied: 0, diverted: 0 };
    for (const p of probes) {
      const from: SimEntry = p.from === 'outside' ? { kind: 'outside' } : { kind: 'instance', instance: p.from };
      const packet = parsePacketSpec(`${p.proto},nw_src=${p.srcIp},nw_dst=${p.dstIp},tp_src=${p.sport},tp_dst=${p.dport}`);
      assert.ok(packet.ok);
      // The cloud runs no monitor process: its monitors' namespaces fall back on each redirect's failMode.
      const r = sim.inject({ from, packet: packet.value }, { inlineVerdict: 'monitor-down' });
      assert.ok(r.ok, r.ok ? '' : r.errors[0].message);
      const t = r.value;
      const wantAt = t.outcome.kind === 'delivered' ? [t.outcome.instance] : [];
      const wantMon = [...new Set([...t.copies.map((c) => c.monitor), ...t.diversions.map((v) => v.monitor)])].sort();
      const k = probeKey(p);
      const gotAt = instances.filter((i) => i !== p.from && caps.get(i)!.seen.has(k));
      const gotMon = monitors.filter((m) => caps.get(m)!.seen.has(k)).sort();
      if (JSON.stringify(gotAt) !== JSON.stringify(wantAt) || JSON.stringify(gotMon) !== JSON.stringify(wantMon))
        mismatches.push(
          `probe ${p.n} ${p.from} -> ${p.to} ${p.proto}/${p.dport}: arrived at [${gotAt}] copies to [${gotMon}]; simulated:\n${formatTrace(t)}`,
        );
      if (wantAt.length) tally.delivered++;
      else tally.dropped++;
      if (t.copies.length) tally.copied++;
      else tally.uncopied++;
      if (t.outcome.kind === 'monitor') tally.diverted++;
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${probes.length} probes differ`);
    // The mix must exercise every path, or agreeing proves little.
    for (const [what, n] of Object.entries(tally))
      assert.ok(n >= (what === 'diverted' ? 2 : 10), `only ${n} probes ${what}: ${JSON.stringify(tally)}`);
    console.log(`differential: ${probes.length} probes agree: ${JSON.stringify(tally)}`);
  });

  test('the kernel holds exactly the counting rules the simulator lists, node by node', async () => {
    const nft = nftBackend({ system: realSystem, nsOf: (n) => nodeNs(APP, n) });
    for (const n of dep.app.nodes) {
      const real = await nft.counters(n.name);
      const simulated = await sim.counters(n.name);
      assert.ok(real.ok && simulated.ok);
      const names = (list: { table: string; chain: string; comment: string }[]) =>
        list.map((c) => `${c.table} ${c.chain} ${c.comment}`).sort();
      assert.ok(real.value.length > 20, `${n.name}: ${real.value.length} counting rules`);
      assert.deepEqual(names(real.value), names(simulated.value), n.name);
    }
  });
});
