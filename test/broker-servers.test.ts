/**
 * The broker at scale: the shared suite against a PostgreSQL store and a NATS JetStream bus,
 * the servers scripts/broker-servers.sh starts (.ci/run exports their URLs). Each test works in
 * a schema or a stream of its own and removes it.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openBroker, type Broker } from '../src/broker/index.js';
import { busSuite, storeSuite, type BrokerTarget } from '../src/broker/testing/index.js';
import { needs } from '../src/system/testing.js';

const PG = process.env.FLOWTAP_TEST_PG;
const NATS = process.env.FLOWTAP_TEST_NATS;
const skipPg = needs(PG ? null : 'needs FLOWTAP_TEST_PG (eval "$(scripts/broker-servers.sh start DIR)")');
const skipNats = needs(NATS ? null : 'needs FLOWTAP_TEST_NATS (eval "$(scripts/broker-servers.sh start DIR)")');

async function must(p: ReturnType<typeof openBroker>): Promise<Broker> {
  const r = await p;
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
  return r.value;
}

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

const unique = () => randomBytes(5).toString('hex');

async function pgTarget(): Promise<BrokerTarget> {
  const schema = `t_${unique()}`;
  const store = withParams(PG as string, { schema });
  return {
    // The bus beside it is the embedded one, in memory: this target is about the store.
    open: () => must(openBroker({ store, bus: 'memory' })),
    async dispose() {
      const c = new pg.Client({ connectionString: PG });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

async function natsTarget(): Promise<BrokerTarget> {
  const id = unique();
  const stream = `T_${id}`;
  const bus = withParams(NATS as string, { stream, prefix: `t${id}` });
  return {
    open: () => must(openBroker({ store: 'sqlite::memory:', bus })),
    async dispose() {
      const nc = await connect({ servers: new URL(NATS as string).host });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(stream).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  };
}

storeSuite('PostgreSQL', pgTarget, skipPg);
busSuite('NATS JetStream', natsTarget, skipNats);

describe('broker on both servers', { skip: skipPg || skipNats }, () => {
  it('opens a PostgreSQL store with a JetStream bus from their URLs, and works end to end', async () => {
    const schema = `t_${unique()}`;
    const id = unique();
    const b = await must(
      openBroker({ store: withParams(PG as string, { schema }), bus: withParams(NATS as string, { stream: `T_${id}`, prefix: `t${id}` }) }),
    );
    try {
      const seen: unknown[] = [];
      const sub = await b.bus.subscribe('records.>', (m) => {
        seen.push(m.data);
      });
      const rec = { ts: Date.now(), kind: 'notice' as const, tenant: 'acme', app: 'shop', provenance: 'Cabc', data: { note: 'x' } };
      await b.store.append([rec]);
      await b.bus.publish('records.acme.shop.notice', rec);
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, [rec]);
      const [stored] = await b.store.query({ provenance: 'Cabc' });
      assert.deepEqual({ ...stored, id: 0 }, { ...rec, id: 0 });
      await sub.unsubscribe();
    } finally {
      await b.close();
      const c = new pg.Client({ connectionString: PG });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
      const nc = await connect({ servers: new URL(NATS as string).host });
      await (await jetstreamManager(nc)).streams.delete(`T_${id}`).catch(() => false);
      await nc.close();
    }
  });

  it('reports a database that does not exist as unavailable, not unreachable', async () => {
    const u = new URL(PG as string);
    u.pathname = '/no_such_database';
    const r = await openBroker({ store: u.href });
    assert.ok(!r.ok);
    assert.equal(r.errors[0].code, 'E_BROKER_UNAVAILABLE', r.errors[0].message);
    assert.match(r.errors[0].message, /no_such_database/);
  });
});
