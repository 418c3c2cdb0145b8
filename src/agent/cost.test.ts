import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CostMeter, parseBpfRunNs, parseProcStat, realCpuReader, TICKS_PER_SECOND } from './cost.js';
import { FakeCpu } from './testing.js';

describe('agent cost', () => {
  test('/proc/PID/stat: process times after the command name, even one with spaces and parentheses', () => {
    // A line of /proc/PID/stat as the kernel writes it (comm may hold anything but a newline).
    const line =
      '21637 (my (odd) cmd) S 21624 21624 13263 0 -1 4194304 99 0 0 0 17 4 250 31 20 0 1 0 67142 3133440 393 18446744073709551615';
    assert.deepEqual(parseProcStat(line), { utime: 17, stime: 4, cutime: 250, cstime: 31 });
    assert.equal(parseProcStat('garbage'), null);
    const own = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    assert.ok(own && own.utime >= 0);
    assert.equal(TICKS_PER_SECOND, 100);
  });

  test('fdinfo of a BPF program descriptor: its run time; other descriptors: none', () => {
    const prog =
      'pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1030\nprog_type:\t5\nprog_jited:\t1\nprog_tag:\t8db0fd61b4440f70\nmemlock:\t4096\nprog_id:\t158\nrun_time_ns:\t123456\nrun_cnt:\t789\nrecursion_misses:\t0\nverified_insns:\t30\n';
    assert.equal(parseBpfRunNs(prog), 123456);
    assert.equal(parseBpfRunNs('pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1030\nmap_type:\t1\n'), null);
  });

  test("a run is charged the CPU used meanwhile: its own and its waited-for children's", async () => {
    const cpu = new FakeCpu();
    let t = 0;
    const m = new CostMeter(cpu, () => t);
    await m.measure('flows', async () => {
      cpu.selfUs += 3000;
      cpu.reapedUs += 7000;
    });
    m.shipped('flows', 10, 2500);
    t = 2000;
    const r = m.report('flows', 2, 1000);
    assert.deepEqual(r, {
      collector: 'flows',
      level: 2,
      periodMs: 1000,
      windowMs: 2000,
      runs: 1,
      cpuMs: 3,
      childCpuMs: 7,
      cpuPercent: 0.5,
      records: 10,
      bytes: 2500,
      recordsPerSec: 5,
      bytesPerSec: 1250,
    });
    assert.equal(m.report('flows', 2, 1000).runs, 0, 'a new window after each report');
  });

  test("a collector's first window starts with its first run: a long first run is not charged to a window of milliseconds", async () => {
    const cpu = new FakeCpu();
    let t = 10_000;
    const m = new CostMeter(cpu, () => t);
    await m.measure('syscalls', async () => {
      // bpftrace starting: a second of CPU over a second and a half.
      cpu.reapedUs += 1_000_000;
      t += 1500;
    });
    t += 2;
    const r = m.report('syscalls', 4, 5000);
    assert.equal(r.windowMs, 1502);
    assert.ok(r.cpuPercent <= 100, `${r.cpuPercent}% of a core`);
  });

  test('runs must not overlap (their CPU would be mixed up)', async () => {
    const m = new CostMeter(new FakeCpu(), () => 0);
    let inner: Promise<unknown> | null = null;
    await m.measure('a', async () => {
      inner = m.measure('b', async () => undefined);
      await assert.rejects(inner, /while measuring a/);
    });
  });

  test('long-running children: charged by the increase of their times, counted once after they end', async () => {
    const cpu = new FakeCpu();
    let t = 0;
    const m = new CostMeter(cpu, () => t);
    m.startResidual('agent');
    cpu.pids.set(77, 40_000);
    cpu.bpfUs.set(77, 3_000);
    m.sampleChildren('syscalls', [77]);
    cpu.pids.set(77, 50_000);
    cpu.bpfUs.set(77, 9_000);
    m.sampleChildren('syscalls', [77]);
    t = 1000;
    const r = m.report('syscalls', 4, 1000);
    assert.equal(r.childCpuMs, 50);
    assert.equal(r.kernelCpuMs, 9, "the eBPF programs' run time, apart");
    assert.equal(r.cpuPercent, 5);
    // It ends, and is reaped: its 50 ms show among the waited-for children's time.
    m.sampleChildren('syscalls', []);
    cpu.reapedUs += 50_000 + 2_000;
    cpu.selfUs += 1_000;
    const rest = m.residualReport('agent', 4, 1000);
    assert.equal(rest.childCpuMs, 2, 'only what it used after its last sample');
    assert.equal(rest.cpuMs, 1);
  });

  test("what no run was charged with is the agent's own; CPU spent for a collector outside its runs is its", async () => {
    const cpu = new FakeCpu();
    let t = 0;
    const m = new CostMeter(cpu, () => t);
    m.startResidual('agent');
    await m.measure('counters', async () => {
      cpu.selfUs += 2000;
      // bpftrace output read while counters ran: syscalls' cost, not counters'.
      cpu.selfUs += 500;
      m.addSelfCpu('syscalls', 500);
    });
    cpu.selfUs += 4000;
    t = 1000;
    assert.equal(m.report('counters', 1, 1000).cpuMs, 2);
    assert.equal(m.report('syscalls', 4, 1000).cpuMs, 0.5);
    assert.equal(m.residualReport('agent', 4, 1000).cpuMs, 4);
  });

  test('the real reader sees this process burn CPU', () => {
    const before = realCpuReader.self();
    let x = 0;
    for (let i = 0; i < 5e6; i++) x += Math.sqrt(i);
    assert.ok(x > 0);
    assert.ok(realCpuReader.self() > before);
    assert.ok(realCpuReader.pid(process.pid)! > 0);
    assert.equal(realCpuReader.pid(2 ** 22 + 12345), null);
  });
});
