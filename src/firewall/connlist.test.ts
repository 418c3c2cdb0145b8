import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConnlist } from './connlist.js';
import type { Connection } from './types.js';

const c = (src: string, dst: string, protocol: Connection['protocol'], ports: Array<[number, number]> | null): Connection => ({
  src,
  dst,
  protocol,
  ports: ports ? ports.map(([from, to]) => ({ from, to })) : null,
});

const kinds = { 'ns/web': 'Deployment', 'ns/db': 'StatefulSet', 'ns/dns': 'DaemonSet' };

test('txt lines group protocols per pair, sort, and print workloads with their kind', () => {
  const conns = [
    c('ns/web', 'ns/db', 'tcp', [[5432, 5432]]),
    c('ns/web', 'ns/dns', 'udp', [[53, 53]]),
    c('ns/web', 'ns/dns', 'tcp', [
      [1000, 2000],
      [53, 53],
    ]),
    c('0.0.0.0-9.255.255.255', 'ns/web', 'tcp', [
      [80, 80],
      [443, 443],
    ]),
    c('ns/db', '10.0.0.0-10.255.255.255', 'any', null),
    // tcp, udp and sctp on every port make all connections, however they are spelled
    c('ns/dns', 'ns/web', 'tcp', null),
    c('ns/dns', 'ns/web', 'udp', [[1, 65535]]),
    c('ns/dns', 'ns/web', 'sctp', null),
    // without sctp they do not, and sctp is printed first (protocols in alphabetical order)
    c('ns/db', 'ns/web', 'tcp', null),
    c('ns/db', 'ns/web', 'udp', null),
    c('ns/web', 'ns/db', 'sctp', [[5000, 5000]]),
    c('ns/web-1', 'ns/db', 'udp', null),
  ];
  assert.equal(
    formatConnlist(conns, 'txt', { kinds }),
    [
      '0.0.0.0-9.255.255.255 => ns/web[Deployment] : TCP 80,443',
      'ns/db[StatefulSet] => 10.0.0.0-10.255.255.255 : All Connections',
      'ns/db[StatefulSet] => ns/web[Deployment] : TCP 1-65535,UDP 1-65535',
      'ns/dns[DaemonSet] => ns/web[Deployment] : All Connections',
      'ns/web-1[Deployment] => ns/db[StatefulSet] : UDP 1-65535',
      'ns/web[Deployment] => ns/db[StatefulSet] : SCTP 5000,TCP 5432',
      'ns/web[Deployment] => ns/dns[DaemonSet] : TCP 53,1000-2000,UDP 53',
    ].join('\n'),
  );
});

test('json form carries the same entries in the same order', () => {
  const conns = [c('b', 'a', 'tcp', [[80, 80]]), c('a', 'b', 'any', null)];
  assert.deepEqual(JSON.parse(formatConnlist(conns, 'json')), [
    { src: 'a', dst: 'b', conn: 'All Connections' },
    { src: 'b', dst: 'a', conn: 'TCP 80' },
  ]);
  assert.equal(formatConnlist([], 'txt'), '');
  assert.equal(formatConnlist([], 'json'), '[]');
});
