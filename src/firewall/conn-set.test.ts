import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALL_CONNS,
  NO_CONNS,
  connIntersect,
  connIsAll,
  connOf,
  connOfConnections,
  connSubtract,
  connUnion,
  connectionsOf,
  formatConnSet,
} from './conn-set.js';
import { portSetOf } from './port-set.js';

const ports = (...rs: Array<[number, number]>) => portSetOf(rs.map(([from, to]) => ({ from, to })));

test('all connections need every port of TCP, UDP and SCTP', () => {
  const tcpUdp = connUnion(connOf('tcp', ports([1, 65535])), connOf('udp', ports([1, 65535])));
  assert.ok(!connIsAll(tcpUdp));
  assert.equal(formatConnSet(tcpUdp), 'TCP 1-65535,UDP 1-65535');
  assert.equal(connUnion(tcpUdp, connOf('sctp', ports([1, 65535]))), ALL_CONNS);
  assert.equal(formatConnSet(ALL_CONNS), 'All Connections');
  assert.equal(formatConnSet(NO_CONNS), '');
});

test('a ruleset `any` is every protocol without ports, TCP and UDP with ports', () => {
  assert.equal(connOf('any', ports([1, 65535])), ALL_CONNS);
  const web = connOf('any', ports([80, 80]));
  assert.equal(formatConnSet(web), 'TCP 80,UDP 80');
  assert.deepEqual(
    connectionsOf('a', 'b', connSubtract(ALL_CONNS, connOf('tcp', ports([22, 22])))).map((c) => c.protocol),
    ['sctp', 'tcp', 'udp'],
  );
});

test('protocols print in alphabetical order, each with its port ranges', () => {
  const c = connUnion(
    connOf('udp', ports([53, 53])),
    connUnion(connOf('tcp', ports([443, 443], [80, 80])), connOf('sctp', ports([36412, 36412]))),
  );
  assert.equal(formatConnSet(c), 'SCTP 36412,TCP 80,443,UDP 53');
  assert.equal(formatConnSet(connIntersect(c, connOf('sctp', ports([1, 40000])))), 'SCTP 36412');
  assert.equal(formatConnSet(connOfConnections(connectionsOf('a', 'b', c))), 'SCTP 36412,TCP 80,443,UDP 53');
});
