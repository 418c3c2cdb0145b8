/**
 * The node agent on real namespaces: a node namespace with flowtap's two tables (counting
 * rules), an instance behind a veth that connects to a server on the node every 200 ms and logs
 * each request, and a monitor log folder a writer appends conn and notice rows to. The agent
 * starts at level 1 and is raised to 2, 3 and 4 at run time, then lowered to 1, without a
 * restart: each level's records appear within two periods of the change, and stop when it is
 * lowered; the bpftrace child of level 4 ends with it, and the cost records show the levels.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent, setVerbosity, type AgentHandle } from '../src/agent/index.js';
import { MemoryBus, MemoryStore } from '../src/agent/testing.js';
import type { RecordKind } from '../src/broker/index.js';
import { realSystem } from '../src/system/index.js';
import { needsRoot } from '../src/system/testing.js';

const skip = needsRoot(['bpftrace', '--version']);
const NODE = 'ft-agenttest-n-node1';
const INST = 'ft-agenttest-i-web-0';
const PORT_IF = 'agt-web0';
const NODE_IP = '10.198.0.1';
const INST_IP = '10.198.0.2';
const PERIOD = 2000;
const TARGET = { tenant: 'acme', app: 'agenttest', node: 'node1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sh(...argv: string[]): string {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function teardown(): void {
  for (const ns of [NODE, INST])
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      /* not there */
    }
}

/** Processes whose command line mentions `text` (to see that the bpftrace child is gone). */
function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p)))
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(Number(pid));
    } catch {
      /* gone */
    }
  return out;
}

describe('node agent on namespaces', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-agent-'));
  const logFile = join(dir, 'web-0.log');
  const monDir = join(dir, 'mon-1');
  const children: ChildProcess[] = [];
  let writer: NodeJS.Timeout | undefined;
  let agent: AgentHandle | undefined;
  const store = new MemoryStore();
  const bus = new MemoryBus();

  before(() => {
    teardown();
    sh('ip', 'netns', 'add', NODE);
    sh('ip', 'netns', 'add', INST);
    sh('ip', 'link', 'add', PORT_IF, 'netns', NODE, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', INST);
    sh('ip', '-n', NODE, 'addr', 'add', `${NODE_IP}/24`, 'dev', PORT_IF);
    sh('ip', '-n', INST, 'addr', 'add', `${INST_IP}/24`, 'dev', 'eth0');
    for (const [ns, dev] of [
      [NODE, PORT_IF],
      [NODE, 'lo'],
      [INST, 'eth0'],
      [INST, 'lo'],
    ])
      sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    execFileSync('ip', ['netns', 'exec', NODE, 'nft', '-f', '-'], {
      input: `table inet flowtap {
  chain input { type filter hook input priority 0; policy accept;
    ct state established,related counter accept comment "established"
    tcp dport 8080 counter accept comment "web-0 -> node:8080"
  }
}
table netdev flowtap_taps {
  chain in_${PORT_IF.replace('-', '_')} { type filter hook ingress device "${PORT_IF}" priority 0;
    tcp dport 8080 counter comment "tap web-0 -> mon-1"
  }
}
`,
    });
    writeFileSync(logFile, 'before the agent\n');
    execFileSync('mkdir', ['-p', monDir]);
    const server = spawn('ip', ['netns', 'exec', NODE, 'nc', '-lk', '-p', '8080'], { stdio: 'ignore' });
    const client = spawn(
      'ip',
      [
        'netns',
        'exec',
        INST,
        'sh',
        '-c',
        `while true; do echo hi | nc -q0 -w1 ${NODE_IP} 8080; echo "request $(date +%s%N)" >> ${logFile}; sleep 0.2; done`,
      ],
      { stdio: 'ignore', detached: true },
    );
    children.push(server, client);
    // A stand-in monitor: a conn row and, now and then, a notice, as `flowtap monitor --format json` writes them.
    let n = 0;
    writer = setInterval(() => {
      n++;
      const uid = `Cagt${n}`;
      const ts = Date.now() / 1000;
      appendFileSync(
        join(monDir, 'conn.log'),
        JSON.stringify({
          ts,
          uid,
          'id.orig_h': INST_IP,
          'id.orig_p': 40000 + n,
          'id.resp_h': NODE_IP,
          'id.resp_p': 8080,
          proto: 'tcp',
          conn_state: 'SF',
        }) + '\n',
      );
      if (n % 3 === 0)
        appendFileSync(
          join(monDir, 'notice.log'),
          JSON.stringify({
            ts,
            uid,
            'id.orig_h': INST_IP,
            'id.resp_h': NODE_IP,
            'id.resp_p': 8080,
            note: 'FlowTap::Test',
            msg: 'a test notice',
          }) + '\n',
        );
    }, 300);
  });

  after(async () => {
    await agent?.stop();
    if (writer) clearInterval(writer);
    for (const c of children) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        c.kill('SIGKILL');
      }
      c.kill('SIGKILL');
    }
    teardown();
  });

  /** Waits until every kind has a record after `mark`; returns how long it took. */
  async function appear(kinds: RecordKind[], mark: number, within: number): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      await agent!.flush();
      const missing = kinds.filter((k) => !store.records.some((r) => r.id > mark && r.kind === k));
      if (missing.length === 0) return Date.now() - t0;
      if (Date.now() - t0 > within) assert.fail(`no ${missing.join(', ')} record within ${within} ms of the change`);
      await sleep(100);
    }
  }

  const lastId = () => store.records.at(-1)?.id ?? 0;
  const after_ = (kind: RecordKind, mark: number) => store.records.filter((r) => r.id > mark && r.kind === kind);

  test('level 1, then 2, 3 and 4 at run time; records within two periods; lowered to 1 they stop', async () => {
    agent = await runAgent({
      ...TARGET,
      nodeNs: NODE,
      instances: [{ name: 'web-0', service: 'web', ns: INST, logFile, ip: INST_IP, iface: PORT_IF }],
      monitors: [{ name: 'mon-1', logDir: monDir }],
      broker: { store, bus },
      system: realSystem,
      level: 1,
      periodMs: PERIOD,
      costPeriodMs: PERIOD,
      log: () => {},
    });

    // Level 1: counters (firewall and tap) and interface statistics.
    await appear(['counter', 'interface'], 0, 2 * PERIOD);
    await sleep(PERIOD);
    await agent.flush();
    const counters = store.of('counter');
    assert.ok(
      counters.some((r) => r.data.comment === 'web-0 -> node:8080' && (r.data.packets as number) > 0),
      'the firewall rule counts the connections',
    );
    assert.ok(
      counters.some((r) => r.data.type === 'tap' && (r.data.dPackets as number) > 0),
      'the tap counts too',
    );
    assert.ok(store.of('interface').some((r) => r.instance === 'web-0' && r.data.name === PORT_IF && (r.data.dRxPackets as number) > 0));
    for (const k of ['flow', 'log', 'monitor-log', 'syscall'] as const) assert.equal(store.of(k).length, 0, `no ${k} at level 1`);

    // Level 2: + flows and the instance's log.
    let mark = lastId();
    await setVerbosity(bus, TARGET, { level: 2 });
    await appear(['flow', 'log'], mark, 2 * PERIOD);
    const flow = after_('flow', mark).find((r) => r.data.dport === 8080)!;
    assert.ok(flow, 'a flow to the node server');
    assert.deepEqual([flow.instance, flow.data.src, flow.data.dst], ['web-0', INST_IP, NODE_IP]);
    assert.ok(
      after_('log', mark).every((r) => r.instance === 'web-0' && /^request \d+$/.test(r.data.line as string)),
      'only new lines',
    );

    // Level 3: + the monitor's rows, provenance = connection uid; notices too.
    mark = lastId();
    await setVerbosity(bus, TARGET, { level: 3 });
    await appear(['monitor-log', 'notice'], mark, 2 * PERIOD);
    const row = after_('monitor-log', mark)[0];
    assert.match(row.provenance ?? '', /^Cagt\d+$/);
    assert.equal(row.instance, 'web-0');
    const notice = after_('notice', mark)[0];
    // A notice is shipped as soon as it is written, its connection's rows at the next period.
    const joined = () => store.records.some((r) => r.kind === 'monitor-log' && r.provenance === notice.provenance);
    for (const t0 = Date.now(); !joined() && Date.now() - t0 < 2 * PERIOD; ) {
      await agent!.flush();
      await sleep(100);
    }
    assert.ok(joined(), 'the notice joins its rows by uid');

    // Level 4: + system calls per instance through eBPF.
    mark = lastId();
    await setVerbosity(bus, TARGET, { level: 4 });
    const took = await appear(['syscall'], mark, 2 * PERIOD);
    const sys = after_('syscall', mark);
    assert.ok(
      sys.every((r) => r.instance === 'web-0'),
      "only the instance's own system calls",
    );
    await appear(['syscall'], lastId(), 2 * PERIOD);
    // The instance's client connects every period; under load bpftrace may attach after the first
    // one it could have seen, so give the events a few periods to show up.
    const connectSeen = () =>
      store.of('syscall').some((r) => r.data.event === 'connect' && r.data.daddr === NODE_IP && r.data.dport === 8080);
    for (let waited = 0; !connectSeen() && waited < 4 * PERIOD; waited += 200) {
      await agent!.flush();
      await sleep(200);
    }
    const all = store.of('syscall');
    const counts = all.find((r) => r.data.event === 'counts');
    assert.ok(counts && (counts.data.total as number) > 0, 'syscall counts');
    assert.ok(
      all.some((r) => r.data.event === 'exec' && /\/nc$/.test(r.data.filename as string)),
      'executions of nc',
    );
    assert.ok(
      all.some((r) => r.data.event === 'connect' && r.data.daddr === NODE_IP && r.data.dport === 8080),
      'outgoing connects',
    );
    const inum = sh('stat', '-L', '-c', '%i', `/run/netns/${INST}`).trim();
    assert.equal(processesWith(`@watch[${inum}]`).length, 1, 'one bpftrace child');

    // Lowered to 1: flows, logs, monitor rows and system calls stop; counters go on, and so do
    // notices, which ship at every level (they are alerts, not context).
    await setVerbosity(bus, TARGET, { level: 1 });
    await agent.flush();
    mark = lastId();
    await sleep(2 * PERIOD);
    await agent.flush();
    for (const k of ['flow', 'log', 'monitor-log', 'syscall'] as const) assert.equal(after_(k, mark).length, 0, `no ${k} after lowering`);
    assert.ok(after_('counter', mark).length > 0, 'counters go on');
    assert.deepEqual(processesWith(`@watch[${inum}]`), [], 'the bpftrace child ended with level 4');

    // Cost: every collector reported per period with its level; level 4's child CPU shows.
    const cost = store.of('agent-cost');
    const syscallsCost = cost.filter((r) => r.data.collector === 'syscalls');
    assert.ok(
      syscallsCost.every((r) => r.data.level === 4 || r.data.final),
      'reported with the level it ran at',
    );
    assert.ok(
      syscallsCost.some((r) => (r.data.childCpuMs as number) > 0),
      "bpftrace's CPU is the syscalls collector's",
    );
    assert.ok(
      syscallsCost.some((r) => r.data.final === true && r.data.level === 1),
      'a last report when it was switched off',
    );
    assert.ok(took <= 2 * PERIOD, `system calls within two periods (${took} ms)`);
  });
});
