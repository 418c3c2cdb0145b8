import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import { BYTEWISE, WHOLE, mutate, randomBytes, randomSplit, replay, type Segment } from '../testing/index.js';
import { be, c2s, fe, i32, recordPg, s2c } from './testing.js';
import type { PgOptions } from './types.js';

const corpus: Segment[][] = [
  [
    c2s(fe.ssl()),
    s2c(Buffer.from('N')),
    c2s(fe.startup({ user: 'u', database: 'd' })),
    s2c(be.authSasl(['SCRAM-SHA-256']), be.authOk(), be.param('a', 'b'), be.key(1, 2), be.ready()),
    c2s(fe.query('SELECT 1; SELECT 2')),
    s2c(be.rowDesc(['a']), be.dataRow(['1']), be.complete('SELECT 1'), be.error('ERROR', '42601', 'x'), be.ready()),
  ],
  [
    c2s(fe.startup({ user: 'u' })),
    s2c(be.authOk(), be.ready()),
    c2s(
      fe.parse('s', 'SELECT $1, $2', [25, 17]),
      fe.bind('p', 's', [0, 1], ['a', Buffer.from([1, 2])]),
      fe.describe('P', 'p'),
      fe.execute('p', 1),
      fe.execute('p'),
      fe.close('P', 'p'),
      fe.sync(),
    ),
    s2c(be.parseComplete(), be.bindComplete(), be.dataRow(['a']), be.suspended(), be.complete('SELECT 1'), be.closeComplete(), be.ready()),
  ],
  [c2s(fe.cancel(1, 2))],
  [
    c2s(fe.query('COPY t FROM STDIN')),
    s2c(be.copyIn()),
    c2s(fe.copyData(Buffer.alloc(300, 0x61)), fe.copyDone()),
    s2c(be.complete('COPY 1'), be.ready()),
  ],
  [c2s(fe.gss()), s2c(Buffer.from('S'))],
];

const dictionary = [
  i32(0),
  i32(-1),
  i32(2),
  i32(0x7fffffff),
  i32(80877103),
  i32(196608),
  Buffer.from('Q'),
  Buffer.from('E'),
  Buffer.from('Z'),
  Buffer.from([0]),
  Buffer.from([0x16, 3, 1]),
  fe.sync(),
  be.ready(),
];

function randomOptions(rnd: () => number): Partial<PgOptions> {
  if (rnd() < 0.6) return {};
  return {
    maxDecodeBytes: 1 + Math.floor(rnd() * 64),
    maxParamBytes: Math.floor(rnd() * 8),
    maxPrepared: 1 + Math.floor(rnd() * 3),
    maxPendingBatches: 1 + Math.floor(rnd() * 3),
    maxMessageBytes: 4 + Math.floor(rnd() * 400),
    maxPreparedBytes: Math.floor(rnd() * 400),
    maxPendingQueries: Math.floor(rnd() * 4),
    maxPendingBytes: Math.floor(rnd() * 400),
  };
}

function randomConversation(rnd: () => number): Segment[] {
  if (rnd() < 0.1) return [{ dir: rnd() < 0.5 ? 0 : 1, data: randomBytes(rnd, 300) }];
  const base = corpus[Math.floor(rnd() * corpus.length)];
  const out: Segment[] = [];
  for (const seg of base) {
    if (!('data' in seg)) continue;
    if (rnd() < 0.08) out.push({ dir: seg.dir, gap: 1 + Math.floor(rnd() * 20) });
    out.push({ dir: seg.dir, data: rnd() < 0.7 ? mutate(rnd, seg.data, dictionary) : seg.data });
  }
  return out;
}

test('5,000 mutated conversations in random splits: no throw, same events as whole', () => {
  const rnd = seededRng(0xbeef);
  for (let i = 0; i < 5000; i++) {
    const segs = randomConversation(rnd);
    const opts = randomOptions(rnd);
    const whole = recordPg(opts);
    replay(whole.parser, segs, WHOLE);
    const split = recordPg(opts);
    replay(split.parser, segs, i % 10 === 0 ? BYTEWISE : randomSplit(i, 1 + (i % 13)));
    assert.deepEqual(split.events, whole.events, `case ${i}`);
  }
});
