import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { bpftraceScript, parseSyscallTable, parseTraceLine, type TraceEvent } from './bpftrace.js';
import { loadSyscallNames, syscallDrafts, syscallsCollector } from './syscalls.js';
import { BPF_INUM, BPFTRACE_JSON, fakeNetns, StreamingSystem } from './testing.js';

const INST = { name: 'client-0', service: 'client', ns: 'ft-x-i-client-0' };
const OTHER = { name: 'db-0', service: 'db', ns: 'ft-x-i-db-0' };
const HEADER =
  '#ifndef _ASM_UNISTD_64_H\n#define __NR_read 0\n#define __NR_write 1\n#define __NR_close 3\n#define __NR_openat 257\n#define __NR_newfstatat 262\n#endif\n';
const names = parseSyscallTable(HEADER);
const events = (text: string) =>
  text
    .split('\n')
    .map(parseTraceLine)
    .filter((e): e is TraceEvent => e !== null);

describe('system calls through bpftrace', () => {
  test("the program watches the instances' namespaces and prints aggregates each period", () => {
    const s = bpftraceScript([4026532239, 4026532301], 2000);
    assert.match(s, /BEGIN \{ @watch\[4026532239\] = 1; @watch\[4026532301\] = 1; \}/);
    assert.match(s, /tracepoint:raw_syscalls:sys_enter \/@watch\[curtask->nsproxy->net_ns->ns\.inum\]\//);
    assert.match(s, /tracepoint:sched:sched_process_exec /);
    assert.match(s, /tracepoint:sock:inet_sock_set_state \/args->oldstate == 7 && args->newstate == 2 && args->family == 2/);
    assert.match(s, /interval:ms:2000 \{ print\(@sys\); clear\(@sys\); print\(@connect\); clear\(@connect\); \}/);
    assert.doesNotMatch(s, /kprobe/);
  });

  test('bpftrace -f json output: executions, connects per destination, syscall counts per namespace', () => {
    const ev = events(BPFTRACE_JSON);
    assert.deepEqual(
      ev.filter((e) => e.type === 'exec').map((e) => e.type === 'exec' && [e.inum, e.filename]),
      [
        [BPF_INUM, '/usr/bin/sh'],
        [BPF_INUM, '/usr/bin/timeout'],
        [BPF_INUM, '/usr/bin/nc'],
        [BPF_INUM, '/usr/bin/timeout'],
        [BPF_INUM, '/usr/bin/nc'],
      ],
    );
    const conn = ev.find((e) => e.type === 'connects');
    assert.deepEqual(conn?.type === 'connects' && conn.list, [
      { inum: BPF_INUM, comm: 'nc', daddr: '10.199.0.1', dport: 8080, count: 1 },
      { inum: BPF_INUM, comm: 'nc', daddr: '10.199.0.1', dport: 8081, count: 1 },
    ]);
    const sys = ev.find((e) => e.type === 'syscalls');
    assert.equal(sys?.type === 'syscalls' && sys.counts.get(BPF_INUM)?.get(257), 167);
    assert.equal(parseTraceLine(''), null, 'an empty map prints a blank line');
    assert.deepEqual(parseTraceLine('{"type": "lost_events", "data": {"events": 12}}'), { type: 'lost', count: 12 });
    assert.deepEqual(parseTraceLine('{"type": "map", "data": {"@connect": {"4026532239,my,prog,10.0.0.9,443": 2}}}'), {
      type: 'connects',
      list: [{ inum: 4026532239, comm: 'my,prog', daddr: '10.0.0.9', dport: 443, count: 2 }],
    });
  });

  test('records per instance: counts by syscall name, each execution, connects with their count', () => {
    const byInode = new Map([[BPF_INUM, INST]]);
    const ds = syscallDrafts(events(BPFTRACE_JSON), byInode, names, 1000, 42);
    assert.ok(ds.every((d) => d.kind === 'syscall' && d.instance === 'client-0' && d.service === 'client' && d.ts === 42));
    const counts = ds.find((d) => d.data.event === 'counts')!;
    const c = counts.data.counts as Record<string, number>;
    assert.equal(c.openat, 167);
    assert.equal(c.newfstatat, 157);
    assert.equal(c.sys_9, 96, 'a number the table lacks keeps its number');
    assert.equal(Object.keys(c)[0], 'openat', 'most frequent first');
    assert.equal(
      counts.data.total,
      Object.values(c).reduce((a, b) => a + b, 0),
    );
    assert.equal(ds.filter((d) => d.data.event === 'exec').length, 5);
    assert.deepEqual(
      ds.filter((d) => d.data.event === 'connect').map((d) => [d.provenance, d.data.count]),
      [
        ['connect:10.199.0.1:8080', 1],
        ['connect:10.199.0.1:8081', 1],
      ],
    );
    assert.deepEqual(syscallDrafts(events(BPFTRACE_JSON), new Map(), names, 1000, 0), [], "a namespace of no instance is nobody's");
  });

  test("the kernel's own table names the numbers where the headers are installed", {
    skip: existsSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h') ? false : 'no x86_64 kernel headers',
  }, () => {
    const t = loadSyscallNames();
    assert.equal(t.get(0), 'read');
    assert.equal(t.get(59), 'execve');
  });

  test('one bpftrace child: started with the program, read as it prints, restarted on a new period, ended on stop', async () => {
    const system = new StreamingSystem();
    let woken = 0;
    const c = syscallsCollector(system, [INST, OTHER], {
      probe: fakeNetns({ [INST.ns]: BPF_INUM }),
      tracefs: '/',
      syscallNames: names,
      wake: () => woken++,
    });
    await c.start?.({ level: 4, periodMs: 1000 });
    assert.equal(system.children.length, 1);
    const child = system.children[0];
    assert.deepEqual(child.argv.slice(0, 4), ['bpftrace', '-f', 'json', '-e']);
    assert.match(child.argv[4], new RegExp(`@watch\\[${BPF_INUM}\\] = 1;`));
    assert.deepEqual(c.childPids?.(), [5000]);
    child.stdout.write(BPFTRACE_JSON);
    await new Promise((r) => setImmediate(r));
    assert.ok(woken >= 1, 'aggregates wake the agent');
    const r = await c.collect({ level: 4, periodMs: 1000 }, 7);
    assert.equal(r.records.filter((d) => d.data.event === 'counts').length, 1);
    assert.equal(r.records.filter((d) => d.data.event === 'exec').length, 5);
    assert.deepEqual(r.errors, ['no namespace for db-0: their system calls are not traced']);
    assert.deepEqual((await c.collect({ level: 4, periodMs: 1000 }, 8)).records, [], 'each event is shipped once');

    await c.update?.({ level: 4, periodMs: 3000 });
    assert.equal(child.killed, true);
    assert.equal(system.children.length, 2);
    assert.match(system.children[1].argv[4], /interval:ms:3000/);
    await c.update?.({ level: 4, periodMs: 3000 });
    assert.equal(system.children.length, 2, 'the same program is not restarted');

    system.children[1].stderr.write(
      "ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.\nERROR: tracepoint not found: sock:inet_sock_set_state\n",
    );
    system.children[1].exit({ code: 1, signal: null });
    await new Promise((r) => setImmediate(r));
    const after = await c.collect({ level: 4, periodMs: 3000 }, 9);
    assert.match(after.errors!.join('\n'), /bpftrace exited \(code 1\): ERROR: tracepoint not found: sock:inet_sock_set_state/);
    assert.doesNotMatch(after.errors!.join('\n'), /RLIMIT_MEMLOCK/);
    assert.equal(system.children.length, 3, 'restarted at the next period');

    await c.stop?.();
    assert.equal(system.children[2].killed, true);
    assert.deepEqual(c.childPids?.(), []);
  });

  test('an instance filter narrows the program to those instances; none left, no child', async () => {
    const system = new StreamingSystem();
    const c = syscallsCollector(system, [INST, OTHER], {
      probe: fakeNetns({ [INST.ns]: 11, [OTHER.ns]: 22 }),
      tracefs: '/',
      syscallNames: names,
    });
    await c.start?.({ level: 4, periodMs: 1000, instances: ['db-0'] });
    assert.match(system.children[0].argv[4], /BEGIN \{ @watch\[22\] = 1; \}/);
    await c.stop?.();
    const none = new StreamingSystem();
    const d = syscallsCollector(none, [], { probe: fakeNetns({}), tracefs: '/', syscallNames: names });
    await d.start?.({ level: 4, periodMs: 1000 });
    assert.equal(none.children.length, 0);
  });
});
