import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../net/index.js';
import { cidrInterval, cidrSet, formatInterval, ipSetContains, partitionByBlocks } from './ip-range.js';

const ip = (s: string) => parseIpv4(s)!;

test('a CIDR block with exceptions becomes the intervals left over', () => {
  const set = cidrSet('10.0.0.0/8', ['10.1.0.0/16', '10.200.0.0/24'])!;
  assert.deepEqual(set.map(formatInterval), ['10.0.0.0-10.0.255.255', '10.2.0.0-10.199.255.255', '10.200.1.0-10.255.255.255']);
  assert.equal(ipSetContains(set, ip('10.0.3.4')), true);
  assert.equal(ipSetContains(set, ip('10.1.3.4')), false);
  assert.equal(ipSetContains(set, ip('11.0.0.0')), false);
  assert.equal(cidrSet('10.0.0.0/33'), null);
  assert.equal(cidrSet('10.0.0.0/8', ['bogus']), null);
});

test('whole space and host routes format like analyzers print them', () => {
  assert.equal(formatInterval(cidrInterval('0.0.0.0/0')!), '0.0.0.0-255.255.255.255');
  assert.equal(formatInterval(cidrInterval('192.168.1.7/32')!), '192.168.1.7-192.168.1.7');
  // Host bits are an error in flowtap's own inputs (src/net/cidr.ts); the Kubernetes import clears them before.
  assert.equal(cidrInterval('10.1.2.3/16'), null);
  assert.equal(cidrInterval('010.1.0.0/16'), null);
});

test('blocks cut the address space into disjoint pieces', () => {
  const pieces = partitionByBlocks([cidrInterval('10.0.0.0/8')!, cidrInterval('10.1.0.0/16')!, cidrInterval('192.168.0.0/16')!]);
  assert.deepEqual(pieces.map(formatInterval), [
    '0.0.0.0-9.255.255.255',
    '10.0.0.0-10.0.255.255',
    '10.1.0.0-10.1.255.255',
    '10.2.0.0-10.255.255.255',
    '11.0.0.0-192.167.255.255',
    '192.168.0.0-192.168.255.255',
    '192.169.0.0-255.255.255.255',
  ]);
  assert.deepEqual(partitionByBlocks([]).map(formatInterval), ['0.0.0.0-255.255.255.255']);
  assert.deepEqual(partitionByBlocks([cidrInterval('0.0.0.0/0')!]).map(formatInterval), ['0.0.0.0-255.255.255.255']);
});
