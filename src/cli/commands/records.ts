/**
 * `flowtap records APP`: what the node agents and the deployment recorded in the context broker,
 * filtered by kind, node, service, instance, time and text; `--follow` then prints new records
 * as they are stored until interrupted (it polls the store: every backend has one, and a broker
 * that is briefly down only delays the lines).
 */
import { RECORD_KINDS, MAX_QUERY_LIMIT, type RecordKind, type RecordQuery, type StoredRecord } from '../../broker/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import type { CloudEnv } from '../attach.js';
import { apiCall, apiStream, type ServerOption } from '../api-client.js';
import { CliCode } from '../codes.js';
import { findDeploymentBroker, openDeploymentBroker, type BrokerOverride } from '../deployment-broker.js';
import { EXIT_OK, type Io } from '../exit.js';
import { formatRecord } from '../record-format.js';
import { pause } from '../signals.js';

export interface RecordsOptions extends BrokerOverride, ServerOption {
  kind?: string[];
  node?: string;
  service?: string;
  instance?: string;
  since?: number;
  until?: number;
  text?: string;
  limit?: number;
  follow?: boolean;
  json?: boolean;
  /** How often --follow asks the store (default 500 ms). */
  pollMs?: number;
}

const DEFAULT_RECORDS_LIMIT = 100;

function kindsOf(given: string[] | undefined): RecordKind[] | undefined {
  if (!given?.length) return undefined;
  const bad = given.filter((k) => !(RECORD_KINDS as readonly string[]).includes(k));
  if (bad.length)
    throw new FlowtapError(
      diag(CliCode.OPTION, `--kind ${bad.join(',')}: not a record kind (have ${RECORD_KINDS.join(', ')})`, { field: 'kind' }),
    );
  return given as RecordKind[];
}

export async function cmdRecords(io: Io, appArg: string, o: RecordsOptions, env: CloudEnv, stop: () => AbortSignal): Promise<number> {
  const kinds = kindsOf(o.kind);
  if (o.since !== undefined && o.until !== undefined && o.since >= o.until)
    throw new FlowtapError(diag(CliCode.OPTION, '--since must be before --until', { field: 'since' }));
  const print = (r: StoredRecord) => io.out(o.json ? JSON.stringify(r) : formatRecord(r));
  if (o.server) return recordsThroughApi(io, o.server, appArg, { ...o, ...(kinds ? { kind: kinds } : {}) }, print, stop);
  const d = await findDeploymentBroker(io, appArg, env, o);
  const broker = await openDeploymentBroker(d);
  try {
    const filter: RecordQuery = {
      app: d.app,
      ...(d.tenant ? { tenant: d.tenant } : {}),
      ...(kinds ? { kinds } : {}),
      ...(o.node ? { node: o.node } : {}),
      ...(o.service ? { service: o.service } : {}),
      ...(o.instance ? { instance: o.instance } : {}),
      ...(o.text ? { text: o.text } : {}),
      ...(o.since !== undefined ? { from: o.since } : {}),
      ...(o.until !== undefined ? { to: o.until } : {}),
    };
    // The latest matching ones, printed oldest first.
    const latest = (await broker.store.query({ ...filter, limit: o.limit ?? DEFAULT_RECORDS_LIMIT, order: 'desc' })).reverse();
    for (const r of latest) print(r);
    if (!o.follow) {
      if (!o.json) io.err(`${latest.length} records`);
      return EXIT_OK;
    }
    const signal = stop();
    let last = latest.at(-1)?.id ?? 0;
    let failing = false;
    // Kinds are filtered here while following: the embedded store numbers kinds per file, and a
    // reader that stays open does not learn of a kind another process stores first after it opened.
    const { kinds: wanted, ...following } = filter;
    while (!signal.aborted) {
      await pause(o.pollMs ?? 500, signal);
      if (signal.aborted) break;
      try {
        for (;;) {
          const next = await broker.store.query({ ...following, afterId: last, limit: MAX_QUERY_LIMIT, order: 'asc' });
          for (const r of next) if (!wanted || wanted.includes(r.kind)) print(r);
          if (next.length) last = next.at(-1)!.id;
          if (next.length < MAX_QUERY_LIMIT) break;
        }
        if (failing) io.err('flowtap records: the store answers again');
        failing = false;
      } catch (e) {
        if (!failing) io.err(`flowtap records: cannot read the store (${(e as Error).message}); still trying`);
        failing = true;
      }
    }
    return EXIT_OK;
  } finally {
    await broker.close();
  }
}

/** The same through the API: the latest records, then (--follow) its live stream, resumed from the last one seen. */
async function recordsThroughApi(
  io: Io,
  server: string,
  app: string,
  o: RecordsOptions,
  print: (r: StoredRecord) => void,
  stop: () => AbortSignal,
): Promise<number> {
  const q = new URLSearchParams();
  for (const k of o.kind ?? []) q.append('kind', k);
  for (const [key, v] of [
    ['node', o.node],
    ['service', o.service],
    ['instance', o.instance],
    ['text', o.text],
    ['from', o.since],
    ['to', o.until],
  ] as const)
    if (v !== undefined) q.set(key, String(v));
  const base = `api/v1/apps/${encodeURIComponent(app)}/records`;
  const { records } = await apiCall<{ records: StoredRecord[] }>(
    server,
    'GET',
    `${base}?${q}&limit=${o.limit ?? DEFAULT_RECORDS_LIMIT}&order=desc`,
  );
  const latest = records.reverse();
  for (const r of latest) print(r);
  if (!o.follow) {
    if (!o.json) io.err(`${latest.length} records`);
    return EXIT_OK;
  }
  q.delete('to');
  q.set('afterId', String(latest.at(-1)?.id ?? 0));
  await apiStream(server, `${base}/stream?${q}`, stop(), (data) => print(JSON.parse(data) as StoredRecord));
  return EXIT_OK;
}
