import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portShare, portsThatFit, slicesPartition, srcPortRange } from './slicing.js';
import { seededRng } from '../../random/index.js';

test('portsThatFit returns the most ports whose charge keeps the monitor within capacity', () => {
  const rnd = seededRng(11);
  for (let i = 0; i < 5000; i++) {
    const capacity = rnd() * 1000;
    const used = rnd() * capacity;
    const load = rnd() < 0.1 ? rnd() * 1e-6 : rnd() * 5000;
    const width = 1 + Math.floor(rnd() * 65535);
    const limit = 1 + Math.floor(rnd() * width);
    const k = portsThatFit(used, capacity, load, width, limit);
    assert.ok(k >= 0 && k <= limit && Number.isInteger(k));
    if (k > 0) assert.ok(used + (k / width) * load <= capacity, 'k ports fit');
    if (k < limit) assert.ok(used + ((k + 1) / width) * load > capacity, 'one more port would not fit');
  }
  assert.equal(portsThatFit(5, 10, 0, 100, 40), 40, 'an idle flow fits whole');
  assert.equal(portsThatFit(11, 10, 1, 100, 40), 0, 'an overloaded monitor takes nothing');
});

test('slicesPartition accepts exact contiguous covers only', () => {
  assert.ok(slicesPartition([{ from: 1024, to: 65535 }], 1024, 65535));
  assert.ok(
    slicesPartition(
      [
        { from: 2000, to: 65535 },
        { from: 1024, to: 1999 },
      ],
      1024,
      65535,
    ),
  );
  assert.equal(
    slicesPartition(
      [
        { from: 1024, to: 1999 },
        { from: 2001, to: 65535 },
      ],
      1024,
      65535,
    ),
    false,
    'gap',
  );
  assert.equal(
    slicesPartition(
      [
        { from: 1024, to: 2000 },
        { from: 2000, to: 65535 },
      ],
      1024,
      65535,
    ),
    false,
    'overlap',
  );
  assert.equal(slicesPartition([{ from: 1024, to: 60000 }], 1024, 65535), false, 'short');
  assert.equal(slicesPartition([], 5, 5), false);
});

test('shares are port widths over the range width and default to the ephemeral range', () => {
  assert.deepEqual(
    srcPortRange({ id: 'f', instance: 'i', service: 's', node: 'n', kind: 'http', load: 1, sliceable: true }),
    [1024, 65535],
  );
  assert.equal(portShare(1024, 65535, 64512), 1);
  assert.equal(portShare(1024, 1024 + 16127, 64512), 0.25);
});
