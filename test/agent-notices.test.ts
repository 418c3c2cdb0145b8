/**
 * A real SYN flood raises a notice that the agent puts on the bus within milliseconds of the
 * monitor writing it, at level 0. A one-service app (a public HTTP port, tapped in both
 * directions to an HTTP monitor by examples/dvd-rental/policies/public-http.dl) is deployed
 * with its agent and the embedded broker (or the NATS server of FLOWTAP_TEST_NATS); hping3 in
 * the external namespace floods the port with SYNs from a second address of that namespace.
 *
 * How hping3's probes end: the service answers each SYN with a SYN-ACK, which reaches the
 * second address (it is really the external namespace's), whose kernel has no socket for it and
 * resets: SYN, SYN-ACK, RST from the originator, Zeek's RSTO with history ShR (not RSTOS0: the
 * monitor sees the SYN-ACK too). The monitor counts that as a failed attempt at the RST, so the
 * notice comes with the 100th probe, about 0.2 s into the flood, not after a close delay.
 * Needs root and hping3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBroker, type Broker, type BrokerRecord, type BusMessage } from '../src/broker/index.js';
import { needsRoot } from '../src/system/testing.js';
import { flowtap, ROOT, stateDir } from './testing.js';

const skip = needsRoot(['hping3', '--version']);
const APP = 'syn-notices';
const EXT = `ft-${APP}-external`;
/** On the external namespace's underlay (10.250.0.0/24) beside its own 10.250.0.254; nodes count up from .1. */
const SECOND = '10.250.0.200';
const NATS = process.env.FLOWTAP_TEST_NATS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const DESCRIPTOR = `tenant: acme
app: ${APP}
nodes:
  - name: node1
services:
  web:
    exposure: public
    ports:
      - {name: http, protocol: tcp, port: 8080, app: http}
    run: {command: node, args: [dist/examples/dvd-rental/services/main.js, shipping], env: {}}
monitors:
  - {name: mon-http, node: node1, capacity: 1000, inspects: [http]}
requirements:
  - from: external
    to: web:http
    note: visitors
`;

function ipIn(ns: string, args: string[]): Promise<number> {
  return new Promise((resolve) => spawn('ip', ['-n', ns, ...args], { stdio: 'ignore' }).on('exit', (c) => resolve(c ?? 1)));
}

describe('a SYN flood: the monitor raises SYN_Flood, the agent publishes the notice at once', { skip, timeout: 120_000 }, () => {
  let broker: Broker;
  let web: string;
  let flood: ChildProcess | undefined;
  const got: { m: BusMessage; at: number }[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), `flowtap-${APP}-`));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'app.yaml'), DESCRIPTOR);
    writeFileSync(
      join(dir, 'policies', 'public-http.dl'),
      readFileSync(join(ROOT, 'examples', 'dvd-rental', 'policies', 'public-http.dl'), 'utf8'),
    );
    await flowtap('down', APP);
    const store = `sqlite:${join(stateDir, 'broker.db')}`;
    const bus = NATS ? `${NATS}${NATS.includes('?') ? '&' : '?'}stream=FT_NOTICES&prefix=ftnotices` : undefined;
    // Level 0 and a minute's period: nothing periodic can be what ships the notice.
    const r = await flowtap(
      'up',
      join(dir, 'app.yaml'),
      '--policy',
      join(dir, 'policies', 'public-http.dl'),
      '--level',
      '0',
      '--period',
      '60',
      ...(bus ? ['--store', store, '--bus', bus] : []),
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    web = (JSON.parse(r.stdout) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances['web-0'].ip;
    const b = await openBroker({ store, ...(bus ? { bus } : {}) });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;
    await broker.bus.subscribe(`flowtap.acme.${APP}.records.*.notice`, (m) => void got.push({ m, at: Date.now() }), {
      fromTime: Date.now(),
    });
    assert.equal(await ipIn(EXT, ['addr', 'add', `${SECOND}/24`, 'dev', 'eth0']), 0, `${SECOND} added to ${EXT}`);
  });

  after(async () => {
    flood?.kill('SIGKILL');
    await broker?.close();
    await flowtap('down', APP);
  });

  test('600 SYNs from a second address in 1.2 s: FlowTap::SYN_Flood about that address, on the bus within a second of the flood, stored once', async () => {
    const t0 = Date.now();
    flood = spawn('ip', ['netns', 'exec', EXT, 'hping3', '-q', '-S', '-p', '8080', '-i', 'u2000', '-c', '600', '-a', SECOND, web], {
      stdio: 'ignore',
    });
    while (got.length === 0) {
      assert.ok(Date.now() - t0 < 10_000, 'a notice on the bus within 10 s of the flood');
      await sleep(2);
    }
    const { m, at } = got[0];
    const records = (m.data as { records: BrokerRecord[] }).records;
    const n = records.find((r) => r.data.note === 'FlowTap::SYN_Flood');
    assert.ok(n, `a SYN_Flood notice, not ${records.map((r) => r.data.note).join(', ')}`);
    assert.equal(m.subject, `flowtap.acme.${APP}.records.node1.notice`);
    assert.deepEqual(
      [n.kind, n.node, n.instance, n.data.src, n.data.dst, n.data.p, n.data.monitor],
      ['notice', 'node1', 'web-0', SECOND, web, 8080, 'mon-http'],
    );
    assert.equal((n.data.evidence as { src?: string }).src, SECOND, 'the evidence names the source too');
    assert.match(String(n.provenance), /^C/, 'the uid of the connection that crossed the threshold');
    const seenAt = n.data.seenAt as number;
    // n.ts is the start of the attempt that crossed the threshold (the row's ts).
    console.log(
      `SYN flood: first SYN -> notice on the bus ${at - t0} ms; row ts -> agent read ${seenAt - n.ts} ms, -> published ${m.ts - n.ts} ms, -> arrival here ${at - n.ts} ms; agent read -> published ${m.ts - seenAt} ms${NATS ? ' (NATS)' : ' (embedded bus: arrival includes its 200 ms poll)'}`,
    );
    assert.ok(m.ts - seenAt < 50, `published ${m.ts - seenAt} ms after the agent read the row`);
    assert.ok(at - t0 < 1000, `on the bus ${at - t0} ms after the flood began`);
    const f = flood;
    await new Promise<void>((resolve) => (f.exitCode !== null ? resolve() : f.on('exit', () => resolve())));
    // The 500th attempt crosses the count over all sources too (one source is all there is): a notice
    // of its own, with no single source to block. Each is suppressed for 300 s, so these two are all.
    const t1 = Date.now();
    let stored: BrokerRecord[] = [];
    while (stored.length < 2 && Date.now() - t1 < 3000) {
      stored = await broker.store.query({ app: APP, kinds: ['notice'], order: 'asc' });
      await sleep(100);
    }
    assert.deepEqual(
      stored.map((r) => [r.data.note, r.data.src, (r.data.evidence as { src: string }).src]),
      [
        ['FlowTap::SYN_Flood', SECOND, SECOND],
        ['FlowTap::SYN_Flood', '*', '*'],
      ],
    );
    const onBus = got.flatMap((g) => (g.m.data as { records: BrokerRecord[] }).records);
    assert.deepEqual(
      onBus.map((r) => r.provenance),
      stored.map((r) => r.provenance),
      'each published once, and stored once',
    );
    assert.deepEqual(
      await broker.store.query({ app: APP, kinds: ['monitor-log'] }),
      [],
      'level 0: no monitor rows, the notice all the same',
    );
  });
});
