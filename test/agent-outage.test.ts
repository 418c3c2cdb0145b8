/**
 * A broker outage under load: a real `flowtap agent` in a node namespace of its own ships an
 * instance's log (2,000 lines a second) through the relay to a private PostgreSQL store; the
 * server is stopped for several seconds and started again. The agent keeps the newest records in
 * its buffer (bounded at 1 MiB), counts what it had to drop, and when the store answers again
 * the records it kept arrive, led by a loss record with the count: every line written is either
 * stored or counted as dropped, none twice. Needs root (the namespace) and the PostgreSQL server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSpec } from '../src/agent/index.js';
import { openBroker, type Broker, type RecordKind, type StoredRecord } from '../src/broker/index.js';
import { flowtapArgv, missingBrokerServers, privateBrokerServers, type BrokerServers } from '../src/cli/testing.js';
import { realSystem } from '../src/system/index.js';
import { needs, needsRoot } from '../src/system/testing.js';

const skip = needsRoot() || needs(missingBrokerServers());
const NODE_NS = 'ft-agentoutage-n-node1';
/** Above a second of this load (about 500 KB), below the outage's. */
const BOUND = 1024 * 1024;
const LINES_PER_TICK = 20;
const TICK_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

describe('broker outage under load: bounded buffer, counted loss, kept records delivered', { skip, timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-outage-'));
  const logFile = join(dir, 'web-0.log');
  const agentLog = join(dir, 'agent.log');
  const ready = join(dir, 'agent.ready');
  const socket = join(dir, 'broker', 'store.sock');
  let servers: BrokerServers;
  let store: string;
  let relay: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let broker: Broker | undefined;
  let written = 0;
  let writer: NodeJS.Timeout | undefined;

  const write = () => {
    let chunk = '';
    for (let i = 0; i < LINES_PER_TICK; i++) chunk += `line ${String(++written).padStart(7, '0')} ${'x'.repeat(80)}\n`;
    appendFileSync(logFile, chunk);
  };

  async function all(kinds: RecordKind[]): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    let afterId = 0;
    for (;;) {
      const page = await broker!.store.query({ app: 'outage', kinds, afterId, order: 'asc', limit: 10_000 });
      out.push(...page);
      if (page.length < 10_000) return out;
      afterId = page.at(-1)!.id;
    }
  }

  before(async () => {
    servers = await privateBrokerServers();
    store = `${servers.pg}?schema=outage`;
    try {
      execFileSync('ip', ['netns', 'del', NODE_NS], { stdio: 'ignore' });
    } catch {
      /* not there */
    }
    execFileSync('ip', ['netns', 'add', NODE_NS]);
    execFileSync('ip', ['-n', NODE_NS, 'link', 'set', 'lo', 'up']);
    writeFileSync(logFile, '');
    const pgPort = new URL(servers.pg).port;
    const [rcmd, ...rargs] = flowtapArgv('relay', '--route', `${socket}=127.0.0.1:${pgPort}`);
    relay = spawn(rcmd, rargs, { stdio: 'ignore', detached: true });
    await waitFor('the relay socket', () => existsSync(socket), 10_000);
    const spec: AgentSpec = {
      version: 1,
      tenant: 'acme',
      app: 'outage',
      node: 'node1',
      nodeNs: NODE_NS,
      instances: [{ name: 'web-0', service: 'web', ns: 'ft-agentoutage-i-web-0', logFile }],
      monitors: [],
      broker: { store, bus: `memory:${join(dir, 'bus.db')}`, relay: { store: socket } },
      level: 2,
      periodMs: 200,
      costPeriodMs: 1000,
      maxBufferBytes: BOUND,
      ready,
    };
    const specFile = join(dir, 'agent.json');
    writeFileSync(specFile, JSON.stringify(spec));
    const [acmd, ...aargs] = flowtapArgv('agent', '--spec', specFile);
    const out = openSync(agentLog, 'a');
    agent = spawn('ip', ['netns', 'exec', NODE_NS, acmd, ...aargs], { stdio: ['ignore', out, out], detached: true });
    await waitFor('the agent', () => existsSync(ready), 20_000);
    const b = await openBroker({ store });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;
  });

  after(async () => {
    if (writer) clearInterval(writer);
    await broker?.close();
    for (const p of [agent, relay])
      if (p?.pid)
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    try {
      execFileSync('ip', ['netns', 'del', NODE_NS], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
    await servers?.stop();
  });

  test('stop the store under load, start it again: stored + dropped = written, the loss reported, nothing twice', async () => {
    const agentPid = Number(readFileSync(ready, 'utf8'));
    writer = setInterval(write, TICK_MS);
    await sleep(2000);
    const beforeStop = written;
    await waitFor('the first lines in the store', async () => (await all(['log'])).length > 0, 10_000);
    await broker!.close();
    broker = undefined;
    const stopping = Date.now();
    await servers.stop();
    await sleep(5000);
    await servers.start();
    const restarted = written;
    const outageMs = Date.now() - stopping;
    await sleep(1000);
    clearInterval(writer);
    writer = undefined;
    const total = written;
    const b = await openBroker({ store });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;

    let stored: StoredRecord[] = [];
    let losses: StoredRecord[] = [];
    const dropped = () => losses.reduce((s, r) => s + ((r.data.byKind as Record<string, number>)?.log ?? 0), 0);
    // The shipper retries with a growing delay (up to 10 s); then everything it kept arrives.
    await waitFor(
      'every line stored or counted as dropped',
      async () => {
        if (!realSystem.alive(agentPid)) assert.fail(`the agent died:\n${readFileSync(agentLog, 'utf8').slice(-3000)}`);
        stored = await all(['log']);
        losses = (await all(['agent-cost'])).filter((r) => r.data.event === 'loss');
        return new Set(stored.map((r) => r.data.line)).size + dropped() >= total;
      },
      60_000,
    );
    const numbers = stored.map((r) => Number(/^line (\d+) /.exec(r.data.line as string)![1]));
    const unique = new Set(numbers);
    console.log(
      `${total} lines written in ${((total / LINES_PER_TICK) * TICK_MS) / 1000} s, store down ${(outageMs / 1000).toFixed(1)} s: ` +
        `${unique.size} stored, ${dropped()} dropped (bound ${BOUND / 1024} KiB), ${numbers.length - unique.size} stored twice; ` +
        `${losses.length} loss record(s): ${losses.map((l) => `dropped ${l.data.dropped} (${l.data.droppedBytes} B), ${l.data.failures} failed appends, outage ${l.data.outageMs} ms`).join('; ')}`,
    );
    assert.ok(losses.length >= 1, 'a loss record');
    assert.ok(dropped() > 0, 'the outage exceeded the bound: records were dropped, and counted');
    assert.equal(unique.size + dropped(), total, 'stored + dropped = written');
    assert.equal(numbers.length, unique.size, 'nothing stored twice');
    const loss = losses.find((l) => (l.data.failures as number) > 0)!.data as {
      failures: number;
      outageMs: number;
      droppedBytes: number;
      firstTs: number;
      lastTs: number;
    };
    assert.ok(loss.failures > 0 && loss.outageMs > 0 && loss.droppedBytes > 0 && loss.firstTs <= loss.lastTs);
    // The newest were kept: the buffer drops its oldest, so what was dropped is one run of lines,
    // from the outage on (or the last second before it, still buffered), and every line after it arrived.
    const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !unique.has(n));
    assert.equal(missing.at(-1)! - missing[0] + 1, missing.length, `one run of dropped lines: ${missing[0]}..${missing.at(-1)}`);
    assert.ok(missing[0] > beforeStop - 2000, `dropped from ${missing[0]}, the store stopped after line ${beforeStop}`);
    assert.ok(missing.at(-1)! < total, 'the newest lines were kept');
    console.log(
      `dropped lines ${missing[0]}..${missing.at(-1)}; the store stopped after line ${beforeStop} and was back at line ${restarted}`,
    );
    assert.ok(realSystem.alive(agentPid), 'the same agent lived through it');
    const said = readFileSync(agentLog, 'utf8');
    assert.match(said, new RegExp(`cannot ship to the store: .*; buffering up to ${BOUND} bytes`));
  });

  test('SIGTERM: the agent ships what it holds and exits 0', async () => {
    assert.ok(agent?.pid);
    const exited = new Promise<number | null>((r) => agent!.once('exit', (code) => r(code)));
    // ip netns exec hands over to the agent (same pid): the signal reaches it.
    process.kill(agent.pid, 'SIGTERM');
    assert.equal(await exited, 0);
    assert.match(readFileSync(agentLog, 'utf8'), /flowtap agent node1: stopped; shipped \d+ records, dropped \d+, 0 left unshipped/);
    assert.equal(existsSync(ready), false);
    const stopped = (await all(['config'])).filter((r) => r.data.event === 'stopped');
    assert.equal(stopped.length, 1);
  });
});
