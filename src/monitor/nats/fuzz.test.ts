import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import { BYTEWISE, WHOLE, mutate, randomBytes, randomSplit, replay, type Segment } from '../testing/index.js';
import { c2s, recordNats, s2c } from './testing.js';
import type { NatsOptions } from './types.js';

const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
const corpus: Segment[][] = [
  [
    s2c('INFO {"server_id":"x","headers":true}\r\n'),
    c2s('CONNECT {"name":"n","pass":"p"}\r\nPING\r\nSUB a.* q 1\r\nPUB a.b r 3\r\nabc\r\n'),
    s2c('+OK\r\nPONG\r\nMSG a.b 1 r 3\r\nabc\r\n'),
  ],
  [
    c2s(`HPUB a ${hdr.length} ${hdr.length + 2}\r\n${hdr}hi\r\nUNSUB 1 5\r\n`),
    s2c(`HMSG a 1 ${hdr.length} ${hdr.length}\r\n${hdr}\r\n-ERR 'x'\r\n`),
  ],
  [c2s('pub a 0\n\nsub b 2\nping\n')],
];
const dictionary = [
  '\r\n',
  ' ',
  '\t',
  'PUB ',
  'HPUB ',
  'MSG ',
  '-1',
  '99999999999999999999',
  '..',
  '*',
  '>',
  '{',
  '}',
  'NATS/1.0',
  '\x16',
  '\x00',
  '0',
].map((s) => Buffer.from(s, 'latin1'));

function randomOptions(rnd: () => number): Partial<NatsOptions> {
  if (rnd() < 0.6) return {};
  return {
    payloadPrefixBytes: Math.floor(rnd() * 6),
    maxControlLine: 4 + Math.floor(rnd() * 60),
    maxPayload: Math.floor(rnd() * 40),
    maxHeaderBytes: Math.floor(rnd() * 30),
  };
}

function randomConversation(rnd: () => number): Segment[] {
  if (rnd() < 0.1) return [{ dir: rnd() < 0.5 ? 0 : 1, data: randomBytes(rnd, 300) }];
  const out: Segment[] = [];
  for (const seg of corpus[Math.floor(rnd() * corpus.length)]) {
    if (!('data' in seg)) continue;
    if (rnd() < 0.08) out.push({ dir: seg.dir, gap: 1 + Math.floor(rnd() * 10) });
    out.push({ dir: seg.dir, data: rnd() < 0.7 ? mutate(rnd, seg.data, dictionary) : seg.data });
  }
  return out;
}

test('5,000 mutated conversations in random splits: no throw, same events as whole', () => {
  const rnd = seededRng(0xa75);
  for (let i = 0; i < 5000; i++) {
    const segs = randomConversation(rnd);
    const opts = randomOptions(rnd);
    const whole = recordNats(opts);
    replay(whole.parser, segs, WHOLE);
    const split = recordNats(opts);
    replay(split.parser, segs, i % 10 === 0 ? BYTEWISE : randomSplit(i, 1 + (i % 13)));
    assert.deepEqual(split.events, whole.events, `case ${i}`);
  }
});
