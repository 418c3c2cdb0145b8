import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inlineCommands, redirectTag, sequenceMark } from '../../dataplane/index.js';
import type { PcapRecord } from '../capture/index.js';
import { chooseAnalyzer, loadMonitorModel, MonitorEngine } from '../engine/index.js';
import { Clock, TcpFlow, httpRequest, httpResponse } from '../testing/index.js';
import type { LogValue } from '../logs/index.js';
import { InlineGate, type InlineGateOptions } from './gate.js';

function fixture(relative: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`${relative} not found`);
  }
}

const WEB = '10.77.0.2';
const SQL = '10.77.0.3';
const CLIENT = '10.250.0.254';
const cmd = inlineCommands();
const WEB_MAC = '02:66:74:00:00:00';

function tagBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

interface Harness {
  engine: MonitorEngine;
  gate: InlineGate;
  commands: string[];
  rows: LogValue[][];
  /** Feeds records: tagged as delivered to web-0 with `mode` unless `tag` is null (a copy). */
  feed(records: PcapRecord[], tag?: string | null, now?: number): void;
}

function harness(opts: Partial<InlineGateOptions> = {}, withModel = true): Harness {
  const loaded = loadMonitorModel(fixture('test/fixtures/web-inline/app.yaml'));
  assert.ok(loaded.ok);
  const commands: string[] = [];
  const rows: LogValue[][] = [];
  let engine: MonitorEngine | null = null;
  const gate = new InlineGate(
    { hasParser: (ip, port) => chooseAnalyzer(engine!.policy.view, ip, port) !== null, ...opts },
    { command: (l) => commands.push(l), log: (r) => rows.push([...r]) },
  );
  let now = 0;
  engine = new MonitorEngine({
    model: withModel ? loaded.value : null,
    observer: {
      packet: (dp, conn, frame) => gate.packet(dp, conn, frame, now),
      weird: (uid, name, source) => gate.weird(uid, name, source),
    },
    tracker: { seed: 1 },
  });
  engine.policy.decisions = (d) => gate.decision(d);
  const e = engine;
  return {
    engine: e,
    gate,
    commands,
    rows,
    feed(records, tag = redirectTag(WEB_MAC, 'delivered', 'closed'), at) {
      for (const r of records) {
        const data = new Uint8Array(r.data);
        if (tag !== null) data.set(tagBytes(tag), 6);
        now = at ?? r.ts;
        e.frame(1, data, r.ts);
      }
    },
  };
}

const c2s = (port: number, dst = WEB, dport = 80) => ({ src: CLIENT, sport: port, dst, dport });

test('an allowed request: the server direction is free from the start, the request segment is approved by its sequence number', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  const clock = new Clock();
  new TcpFlow(out, clock, CLIENT, 40001, WEB, 80)
    .handshake()
    .client2server(httpRequest('GET', '/'))
    .server2client(httpResponse(200, {}, 'hi'));
  h.feed(out);
  assert.ok(h.commands.includes(cmd.free({ src: WEB, sport: 80, dst: CLIENT, dport: 40001 })), h.commands.join('\n'));
  assert.ok(h.commands.includes(cmd.pass(c2s(40001), 1001)), h.commands.join('\n'));
  assert.ok(!h.commands.some((c) => c.includes('blocked')));
  assert.equal(h.rows.length, 1);
  assert.deepEqual(h.rows[0].slice(2, 9), [CLIENT, 40001, WEB, 80, 'pass', 'GET /', 'allowed by external -> web:http (req 0)']);
  assert.equal(h.rows[0][9], 'closed');
});

test('a disallowed request is blocked and its segment never approved; a later allowed one on the connection changes nothing', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  new TcpFlow(out, new Clock(), CLIENT, 40002, WEB, 80)
    .handshake()
    .client2server(httpRequest('GET', '/admin'))
    .client2server(httpRequest('GET', '/'));
  h.feed(out, redirectTag(WEB_MAC, 'delivered', 'open'));
  assert.ok(h.commands.includes(cmd.block(c2s(40002))));
  assert.ok(!h.commands.some((c) => c.startsWith('add element netdev flowtap_inline pass')), h.commands.join('\n'));
  assert.deepEqual(
    h.rows.map((r) => [r[6], r[7], r[9]]),
    [['block', 'GET /admin', 'open']],
  );
  assert.match(String(h.rows[0][8]), /allowed: GET \//);
  assert.equal(h.gate.stats.blocked, 1);
});

test('copies (untagged frames) get no verdicts at all', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  new TcpFlow(out, new Clock(), CLIENT, 40003, WEB, 80).handshake().client2server(httpRequest('GET', '/admin'));
  h.feed(out, null);
  assert.deepEqual(h.commands, []);
  assert.deepEqual(h.rows, []);
});

test('a request split over two segments: the partial head passes once taken, the segment that completes a disallowed request does not', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  const f = new TcpFlow(out, new Clock(), CLIENT, 40004, WEB, 80).handshake();
  const req = httpRequest('DELETE', '/x');
  f.clientSegmentAt(0, req.slice(0, 10));
  f.clientSegmentAt(10, req.slice(10));
  h.feed(out);
  assert.ok(h.commands.includes(cmd.pass(c2s(40004), 1001)), 'the first part, harmless alone, is approved');
  assert.ok(!h.commands.includes(cmd.pass(c2s(40004), 1011)), 'the completing part is not');
  assert.ok(h.commands.includes(cmd.block(c2s(40004))));
});

test('a segment that arrives before a missing one waits; both are approved once the gap is filled', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  const f = new TcpFlow(out, new Clock(), CLIENT, 40005, WEB, 80).handshake();
  const req = httpRequest('GET', '/');
  f.clientSegmentAt(8, req.slice(8));
  const early = out.length;
  f.clientSegmentAt(0, req.slice(0, 8));
  h.feed(out.slice(0, early));
  assert.ok(!h.commands.some((c) => c.includes(' pass ')), 'nothing taken yet');
  h.feed(out.slice(early));
  assert.ok(h.commands.includes(cmd.pass(c2s(40005), 1001)));
  assert.ok(h.commands.includes(cmd.pass(c2s(40005), 1009)));
  assert.deepEqual(
    h.rows.map((r) => r[6]),
    ['pass'],
  );
});

test('a retransmission of an approved segment is not approved again while its element lives', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  const f = new TcpFlow(out, new Clock(), CLIENT, 40006, WEB, 80).handshake();
  f.clientSegmentAt(0, httpRequest('GET', '/'));
  f.clientSegmentAt(0, httpRequest('GET', '/'));
  h.feed(out);
  assert.equal(h.commands.filter((c) => c === cmd.pass(c2s(40006), 1001)).length, 1);
});

test('what the client sends that the parser cannot read blocks the connection; odd answers from the server do not', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  new TcpFlow(out, new Clock(), CLIENT, 40007, WEB, 80).handshake().client2server('NOT HTTP AT ALL\r\n\r\n');
  h.feed(out);
  assert.ok(h.commands.includes(cmd.block(c2s(40007))), h.commands.join('\n'));
  assert.match(String(h.rows[0][8]), /^HTTP \S+: the monitor passes only what it could parse/);

  const h2 = harness();
  const out2: PcapRecord[] = [];
  new TcpFlow(out2, new Clock(), CLIENT, 40008, WEB, 80)
    .handshake()
    .client2server(httpRequest('GET', '/'))
    .server2client('garbage, not a response\r\n\r\n');
  h2.feed(out2);
  assert.ok(!h2.commands.some((c) => c.includes('blocked')), h2.commands.join('\n'));
});

test('an unauthorized connection is blocked by the connection policy', () => {
  const h = harness();
  const out: PcapRecord[] = [];
  new TcpFlow(out, new Clock(), CLIENT, 40009, SQL, 3306).handshake().client2server('x');
  h.feed(out, redirectTag('02:66:74:00:00:01', 'delivered', 'closed'));
  assert.ok(h.commands.includes(cmd.block(c2s(40009, SQL, 3306))));
  assert.equal(h.rows[0][6], 'block');
  assert.match(String(h.rows[0][8]), /tried to connect to sql-0/);
});

test('a connection no parser reads passes whole (model-less monitor, unknown port)', () => {
  const h = harness({}, false);
  const out: PcapRecord[] = [];
  new TcpFlow(out, new Clock(), CLIENT, 40010, WEB, 7000).handshake().client2server('anything');
  h.feed(out);
  assert.ok(h.commands.includes(cmd.free(c2s(40010, WEB, 7000))));
  assert.equal(h.rows[0][6], 'pass');
  assert.match(String(h.rows[0][8]), /no request parser/);
});

test('a connection picked up mid-stream follows its failMode', () => {
  for (const mode of ['open', 'closed'] as const) {
    const h = harness();
    const out: PcapRecord[] = [];
    new TcpFlow(out, new Clock(), CLIENT, 40011, WEB, 80).client2server(httpRequest('GET', '/'));
    h.feed(out, redirectTag(WEB_MAC, 'delivered', mode));
    const expected = mode === 'open' ? cmd.free(c2s(40011)) : cmd.block(c2s(40011));
    assert.ok(h.commands.includes(expected), `${mode}: ${h.commands.join('\n')}`);
    assert.equal(h.rows[0][6], mode === 'open' ? 'pass' : 'block');
    assert.match(String(h.rows[0][8]), new RegExp(`mid-stream.*fail-${mode}`));
  }
});

test('held data that gets no verdict in time follows its failMode', () => {
  const h = harness({ holdTimeout: 2 });
  const out: PcapRecord[] = [];
  const f = new TcpFlow(out, new Clock(), CLIENT, 40012, WEB, 80).handshake();
  f.clientSegmentAt(5, 'rest of a request whose start the capture missed');
  h.feed(out, redirectTag(WEB_MAC, 'delivered', 'open'), 100);
  h.gate.tick(101);
  assert.ok(!h.commands.includes(cmd.free(c2s(40012))));
  h.gate.tick(102.5);
  assert.ok(h.commands.includes(cmd.free(c2s(40012))));
  assert.equal(h.gate.stats.timeouts, 1);
  assert.match(String(h.rows.at(-1)![8]), /no verdict within 2s: fail-open/);
});

test('overload hands every flow to its failMode, logs it, skips approvals meanwhile and takes back when load falls', () => {
  const h = harness({ maxHeldConnections: 1, holdTimeout: 100 });
  const out: PcapRecord[] = [];
  const clock = new Clock();
  for (const port of [40013, 40014])
    new TcpFlow(out, clock, CLIENT, port, WEB, 80).handshake().clientSegmentAt(5, 'held: its start is missing');
  h.feed(out, undefined, 10);
  h.gate.tick(10);
  assert.equal(h.gate.fallback, true);
  assert.ok(h.commands.includes(cmd.fallback()));
  assert.equal(h.rows.at(-1)![6], 'fallback');
  assert.match(String(h.rows.at(-1)![8]), /2 connections wait for a verdict \(bound 1\)/);

  const more: PcapRecord[] = [];
  new TcpFlow(more, clock, CLIENT, 40015, WEB, 80).handshake().client2server(httpRequest('GET', '/'));
  const before = h.commands.length;
  h.feed(more, undefined, 10);
  assert.ok(!h.commands.slice(before).some((c) => c.includes(' pass ')), 'no approvals while the kernel ignores them');
  assert.match(String(h.rows.at(-1)![8]), /monitor overloaded .*fail-closed; the policy said: allowed/);
  assert.equal(h.rows.at(-1)![6], 'block', 'fail-closed flows are not passed while overloaded');

  // The held connections end (forgotten when idle): load falls under half the bound.
  h.gate.tick(10 + h.gate.opts.idleTimeout + 1);
  assert.equal(h.gate.fallback, false);
  assert.equal(h.rows.at(-1)![6], 'live');
});

test('overload by capture lag and by nft backlog', () => {
  const h = harness({ maxLag: 1, maxCommandBacklog: 100 });
  const out: PcapRecord[] = [];
  new TcpFlow(out, new Clock(1000), CLIENT, 40016, WEB, 80).handshake();
  h.feed(out, undefined, 1005);
  h.gate.tick(1005);
  assert.equal(h.gate.fallback, true);
  assert.match(String(h.rows.at(-1)![8]), /capture is 5\.0s behind/);
  h.gate.tick(1010);
  assert.equal(h.gate.fallback, false, 'no packets for a while: no lag');
  h.gate.tick(1011, 500);
  assert.equal(h.gate.fallback, true);
  assert.match(String(h.rows.at(-1)![8]), /500 bytes of verdicts wait for nft/);
});

test('approvals name the sequence number as the kernel reads it into the mark', () => {
  assert.equal(sequenceMark(0x01020304, true), 0x04030201);
  assert.equal(sequenceMark(0x01020304, false), 0x01020304);
  assert.equal(sequenceMark(0xfffffffe, true), 0xfeffffff);
});
