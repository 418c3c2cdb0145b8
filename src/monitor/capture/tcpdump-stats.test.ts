import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countDelta, TcpdumpStatsParser, type TcpdumpReport } from './tcpdump-stats.js';

const counts = (captured: number, received: number, dropped: number, ifDropped = 0) => ({ captured, received, dropped, ifDropped });

test('the SIGUSR1 line is one complete report, whatever the chunks it comes in', () => {
  const p = new TcpdumpStatsParser();
  const line = 'tcpdump: 6 packets captured, 20 packets received by filter, 3 packets dropped by kernel\n';
  const got: TcpdumpReport[] = [];
  for (const ch of line) got.push(...p.push(ch));
  assert.deepEqual(got, [{ counts: counts(6, 20, 3), atExit: false }]);
  assert.deepEqual(
    p.push('tcpdump: 1 packet captured, 1 packet received by filter, 0 packets dropped by kernel, 2 packets dropped by interface\n'),
    [{ counts: counts(1, 1, 0, 2), atExit: false }],
  );
});

test('the exit form, one count a line, is complete once no interface drops can follow', () => {
  const p = new TcpdumpStatsParser();
  assert.deepEqual(
    p.push('tcpdump: listening on lo, link-type EN10MB (Ethernet)\n10 packets captured\n20 packets received by filter\n'),
    [],
  );
  assert.deepEqual(p.push('0 packets dropped by kernel\n'), [], 'an interface drop line may still follow');
  assert.deepEqual(p.end(), [{ counts: counts(10, 20, 0), atExit: true }]);
  const q = new TcpdumpStatsParser();
  assert.deepEqual(
    q.push('10 packets captured\n20 packets received by filter\n5 packets dropped by kernel\n7 packets dropped by interface\n'),
    [{ counts: counts(10, 20, 5, 7), atExit: true }],
  );
  assert.deepEqual(q.end(), []);
  // The last line without its line feed still counts at the end of the stream.
  const r = new TcpdumpStatsParser();
  r.push('3 packets captured\n3 packets received by filter\n1 packet dropped by kernel');
  assert.deepEqual(r.end(), [{ counts: counts(3, 3, 1), atExit: true }]);
});

test('anything else on stderr is not a report: errors, half reports, endless lines', () => {
  const p = new TcpdumpStatsParser();
  assert.deepEqual(p.push('pcap_stats: something failed\n5 packets captured\nwarning: x\n9 packets dropped by kernel\n'), []);
  assert.deepEqual(p.push('12 packets received by filter\n'), [], 'a count out of its report');
  assert.deepEqual(p.push('x'.repeat(10_000)), []);
  assert.deepEqual(p.push('\n'), []);
  assert.deepEqual(p.end(), []);
});

test('countDelta undoes the wrap of libpcap’s 32-bit counters', () => {
  assert.equal(countDelta(5, 9), 4);
  assert.equal(countDelta(2 ** 32 - 2, 3), 5);
});
