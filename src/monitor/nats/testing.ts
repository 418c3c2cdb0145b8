/** Test support: records NATS parser events as plain data so runs over different splits compare equal. */
import { replayEverySplit, type Segment } from '../testing/index.js';
import { createNatsParser } from './nats-parser.js';
import type { NatsOptions, NatsPub } from './types.js';

export type Event = [string, ...unknown[]];

const message = (m: NatsPub & { sid?: string }) => ({
  subject: m.subject,
  ...(m.sid !== undefined ? { sid: m.sid } : {}),
  reply: m.reply,
  size: m.size,
  headerSize: m.headerSize,
  status: m.status,
  headers: m.headers,
  prefix: Buffer.from(m.payloadPrefix).toString('latin1'),
  incomplete: m.incomplete,
});

export function recordNats(opts: Partial<NatsOptions> = {}) {
  const events: Event[] = [];
  const parser = createNatsParser(
    {
      connect: (c) => {
        const { ts: _ts, ...rest } = c;
        events.push(['connect', rest]);
      },
      info: (i) =>
        events.push([
          'info',
          { serverId: i.serverId, version: i.version, headers: i.headers, maxPayload: i.maxPayload, tlsRequired: i.tlsRequired },
        ]),
      pub: (m) => events.push(['pub', message(m)]),
      msg: (m) => events.push(['msg', message(m)]),
      sub: (s) => events.push(['sub', s.subject, s.queue, s.sid]),
      unsub: (u) => events.push(['unsub', u.sid, u.max]),
      ok: () => events.push(['ok']),
      err: (m) => events.push(['err', m]),
      ping: (d) => events.push(['ping', d]),
      pong: (d) => events.push(['pong', d]),
      tls: (d) => events.push(['tls', d]),
      weird: (name, detail, dir) => events.push(['weird', name, detail, dir]),
    },
    opts,
  );
  return { parser, events };
}

export const c2s = (s: string | Uint8Array): Segment => ({ dir: 0, data: typeof s === 'string' ? Buffer.from(s, 'latin1') : s });
export const s2c = (s: string | Uint8Array): Segment => ({ dir: 1, data: typeof s === 'string' ? Buffer.from(s, 'latin1') : s });

export function runNats(segments: Segment[], opts: Partial<NatsOptions>, check: (a: unknown, b: unknown, msg: string) => void): Event[] {
  const runs = replayEverySplit(() => recordNats(opts), segments, [1, 2, 3, 4]);
  for (const run of runs.slice(1)) check(run.events, runs[0].events, `events differ between whole and ${run.split}`);
  return runs[0].events;
}

export const named = (events: Event[], name: string): Event[] => events.filter((e) => e[0] === name);
export const weirdNames = (events: Event[]): unknown[] => named(events, 'weird').map((e) => e[1]);
