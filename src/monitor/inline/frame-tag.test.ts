import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redirectTag } from '../../dataplane/index.js';
import { frameTag } from './frame-tag.js';

const mac = (s: string) => s.split(':').map((h) => parseInt(h, 16));

test('the redirect tag is read from Ethernet, Linux cooked v1 and v2 frames', () => {
  const tag = mac(redirectTag('02:66:74:00:01:02', 'delivered', 'open'));
  const eth = new Uint8Array(60);
  eth.set(tag, 6);
  assert.deepEqual(frameTag(1, eth), { side: 'delivered', mode: 'open' });

  const sll = new Uint8Array(60);
  sll.set([0, 0, 0, 1, 0, 6], 0);
  sll.set(mac(redirectTag('02:66:74:00:01:02', 'sent', 'closed')), 6);
  assert.deepEqual(frameTag(113, sll), { side: 'sent', mode: 'closed' });

  const sll2 = new Uint8Array(60);
  sll2.set([0x08, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6], 0);
  sll2.set(mac(redirectTag('02:66:74:00:01:02', 'sent', 'open')), 12);
  assert.deepEqual(frameTag(276, sll2), { side: 'sent', mode: 'open' });
});

test('untagged, short and addressless frames carry no tag', () => {
  const eth = new Uint8Array(60);
  eth.set(mac('02:66:74:00:00:01'), 6);
  assert.equal(frameTag(1, eth), null, 'an instance address is not a tag');
  assert.equal(frameTag(1, new Uint8Array(8)), null);
  const sll2 = new Uint8Array(60);
  sll2.set(mac(redirectTag('02:66:74:00:00:01', 'sent', 'open')), 12);
  sll2[11] = 0;
  assert.equal(frameTag(276, sll2), null, 'address length 0: no address');
  assert.equal(frameTag(101, eth), null, 'raw IP has no link layer');
});
