import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OverloadDetector } from './overload.js';

test('overload: lag over the threshold for three seconds running raises one notice, then quiet for suppressFor', () => {
  const d = new OverloadDetector('eth0', { lag: 1, sustain: 3, suppressFor: 60 });
  let now = 1000;
  const second = (lag: number, packets = 10) => {
    for (let i = 0; i < packets; i++) d.packet(now - lag * (i / packets), now);
    now += 1;
    return d.second(now);
  };
  assert.equal(second(0.2), null, 'keeping up');
  assert.equal(second(2), null);
  assert.equal(second(2), null);
  assert.equal(second(0.5), null, 'caught up: the count starts again');
  assert.equal(second(1.5), null);
  assert.equal(second(1.5), null);
  const n = second(2.5, 40);
  assert.ok(n);
  assert.equal(n.note, 'FlowTap::Monitor_Overload');
  assert.deepEqual([n.evidence.lagMs, n.evidence.seconds, n.evidence.packetsPerSecond, n.n], [Math.round(2.5 * 0.975 * 1000), 3, 40, 40]);
  assert.match(n.msg, /the monitor of eth0 is \d+ ms behind its capture for 3 s running/);
  assert.equal(second(3), null, 'suppressed');
  now += 60;
  assert.ok(second(3), 'again after suppressFor, still behind');
  assert.equal(d.second(now + 1), null, 'a second without packets is not behind');
});
