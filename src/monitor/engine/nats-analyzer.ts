import { NATS_LOG } from '../logs/index.js';
import { createNatsParser, type NatsOptions } from '../nats/index.js';
import type { StreamParser } from '../stream/index.js';
import type { AnalyzerEnv } from './analyzer-env.js';
import type { ConnSession } from './conn-session.js';

/** NATS on one connection (the originator is the client): nats.log rows and the subject policies. */
export function createNatsAnalyzer(s: ConnSession, env: AnalyzerEnv, opts: Partial<NatsOptions> = {}): StreamParser {
  const row = (
    ts: number,
    command: string,
    subject: string | null,
    reply: string | null,
    size: number | null,
    sid: string | null,
    queue: string | null,
  ): void => env.log(NATS_LOG, [ts, s.uid, ...s.idValues, command, subject, reply || null, size, sid, queue || null]);
  return createNatsParser(
    {
      connect: () => {
        s.service = 'nats';
      },
      info: () => {
        s.service = 'nats';
      },
      pub: (m) => {
        env.policy.natsPublish(s.ctx, m.ts, m.subject);
        row(m.ts, m.headerSize > 0 ? 'HPUB' : 'PUB', m.subject, m.reply, m.size, null, null);
      },
      sub: (x) => {
        env.policy.natsSubscribe(s.ctx, x.ts, x.subject);
        row(x.ts, 'SUB', x.subject, null, null, x.sid, x.queue);
      },
      unsub: (u) => row(u.ts, 'UNSUB', null, null, null, u.sid, null),
      msg: (m) => {
        env.policy.natsDelivered(s.ctx, m.ts, m.subject, m.headers);
        row(m.ts, m.headerSize > 0 ? 'HMSG' : 'MSG', m.subject, m.reply, m.size, m.sid, null);
      },
      weird: (name, detail, _dir, ts) => env.weird(s, name, detail, ts, 'NATS'),
    },
    opts,
  );
}
