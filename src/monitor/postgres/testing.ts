/** Test support: PostgreSQL wire messages built from parts, and a recorder of parser events. */
import { replayEverySplit, type Segment } from '../testing/index.js';
import { createPgParser } from './pg-parser.js';
import type { PgOptions, PgQuery } from './types.js';

export type Event = [string, ...unknown[]];

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
export const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};

/** A typed message: type byte, Int32 length (itself included), body. */
export function msg(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'latin1'), i32(body.length + 4), body]);
}

function untyped(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([i32(body.length + 4), body]);
}

export const fe = {
  startup: (params: Record<string, string>, version = 196608) =>
    untyped(i32(version), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])),
  ssl: () => untyped(i32(80877103)),
  gss: () => untyped(i32(80877104)),
  cancel: (pid: number, key: number) => untyped(i32(80877102), i32(pid), i32(key)),
  query: (sql: string) => msg('Q', cstr(sql)),
  parse: (name: string, sql: string, types: number[] = []) => msg('P', cstr(name), cstr(sql), i16(types.length), ...types.map(i32)),
  bind: (portal: string, stmt: string, formats: number[], params: (string | Buffer | null)[]) =>
    msg(
      'B',
      cstr(portal),
      cstr(stmt),
      i16(formats.length),
      ...formats.map(i16),
      i16(params.length),
      ...params.flatMap((p) => {
        if (p === null) return [i32(-1)];
        const v = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
        return [i32(v.length), v];
      }),
      i16(0),
    ),
  describe: (what: 'S' | 'P', name: string) => msg('D', Buffer.from(what), cstr(name)),
  execute: (portal: string, maxRows = 0) => msg('E', cstr(portal), i32(maxRows)),
  close: (what: 'S' | 'P', name: string) => msg('C', Buffer.from(what), cstr(name)),
  sync: () => msg('S'),
  flush: () => msg('H'),
  terminate: () => msg('X'),
  password: (p: string) => msg('p', cstr(p)),
  saslInitial: (mech: string, data: string) => msg('p', cstr(mech), i32(data.length), Buffer.from(data)),
  copyData: (b: Buffer) => msg('d', b),
  copyDone: () => msg('c'),
};

export const be = {
  authOk: () => msg('R', i32(0)),
  authCleartext: () => msg('R', i32(3)),
  authMd5: () => msg('R', i32(5), Buffer.from([1, 2, 3, 4])),
  authSasl: (mechs: string[]) => msg('R', i32(10), ...mechs.map(cstr), Buffer.from([0])),
  param: (k: string, v: string) => msg('S', cstr(k), cstr(v)),
  key: (pid: number, key: number) => msg('K', i32(pid), i32(key)),
  ready: (status = 'I') => msg('Z', Buffer.from(status)),
  rowDesc: (names: string[]) =>
    msg('T', i16(names.length), ...names.flatMap((n) => [cstr(n), i32(0), i16(0), i32(23), i16(4), i32(-1), i16(0)])),
  dataRow: (vals: (string | null)[]) =>
    msg('D', i16(vals.length), ...vals.flatMap((v) => (v === null ? [i32(-1)] : [i32(Buffer.byteLength(v)), Buffer.from(v)]))),
  complete: (tag: string) => msg('C', cstr(tag)),
  error: (severity: string, code: string, message: string, detail?: string) =>
    msg(
      'E',
      Buffer.from('S'),
      cstr(severity),
      Buffer.from('V'),
      cstr(severity),
      Buffer.from('C'),
      cstr(code),
      Buffer.from('M'),
      cstr(message),
      ...(detail ? [Buffer.from('D'), cstr(detail)] : []),
      Buffer.from([0]),
    ),
  notice: (message: string) =>
    msg('N', Buffer.from('S'), cstr('NOTICE'), Buffer.from('C'), cstr('00000'), Buffer.from('M'), cstr(message), Buffer.from([0])),
  parseComplete: () => msg('1'),
  bindComplete: () => msg('2'),
  closeComplete: () => msg('3'),
  noData: () => msg('n'),
  emptyQuery: () => msg('I'),
  suspended: () => msg('s'),
  copyIn: () => msg('G', Buffer.from([0]), i16(0)),
};

export const c2s = (...b: Buffer[]): Segment => ({ dir: 0, data: Buffer.concat(b) });
export const s2c = (...b: Buffer[]): Segment => ({ dir: 1, data: Buffer.concat(b) });

const q = (x: PgQuery | undefined) =>
  x
    ? {
        id: x.id,
        kind: x.kind,
        sql: x.sql,
        statementName: x.statementName,
        portal: x.portal,
        params: x.params,
        paramTypes: x.paramTypes,
        truncated: x.truncated,
      }
    : undefined;

export function recordPg(opts: Partial<PgOptions> = {}) {
  const events: Event[] = [];
  const parser = createPgParser(
    {
      sslRequest: (k) => events.push(['sslRequest', k]),
      sslResponse: (a) => events.push(['sslResponse', a]),
      tls: (dir) => events.push(['tls', dir]),
      startup: (s) =>
        events.push(['startup', { protocol: s.protocol, user: s.user, database: s.database, app: s.applicationName, params: s.params }]),
      cancel: (c) => events.push(['cancel', c.pid, c.key]),
      authentication: (a) => events.push(['authentication', a.code, a.method, a.mechanisms]),
      password: (p) => events.push(['password', p.method, p.mechanism]),
      parameterStatus: (k, v) => events.push(['parameterStatus', k, v]),
      backendKey: (pid, key) => events.push(['backendKey', pid, key]),
      ready: (s) => events.push(['ready', s]),
      query: (x) => events.push(['query', q(x)]),
      result: (r) => {
        const e: Record<string, unknown> = { query: r.query?.id, tag: r.tag, rows: r.rows, affected: r.affected };
        if (r.error) e.error = r.error;
        if (r.skipped) e.skipped = true;
        if (r.suspended) e.suspended = true;
        events.push(['result', e]);
      },
      error: (e) => events.push(['error', e]),
      notice: (n) => events.push(['notice', n.message]),
      notification: (n) => events.push(['notification', n.pid, n.channel, n.payload]),
      terminate: () => events.push(['terminate']),
      weird: (name, detail, dir) => events.push(['weird', name, detail, dir]),
    },
    opts,
  );
  return { parser, events };
}

export function runPg(segments: Segment[], opts: Partial<PgOptions>, check: (a: unknown, b: unknown, msg: string) => void): Event[] {
  const runs = replayEverySplit(() => recordPg(opts), segments, [1, 2, 3, 4]);
  for (const run of runs.slice(1)) check(run.events, runs[0].events, `events differ between whole and ${run.split}`);
  return runs[0].events;
}

export const named = (events: Event[], name: string): Event[] => events.filter((e) => e[0] === name);
export const weirdNames = (events: Event[]): unknown[] => named(events, 'weird').map((e) => e[1]);
