/**
 * `flowtap restrict | unrestrict | reconcile` against the recording system (nft answered by the
 * orchestrator's stand-in), without root: what reaches the data plane through the real
 * controller's rendering, the --json output, and exit code 2 with a diagnostic on bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeNft } from '../../orchestrator/testing.js';
import { RecordingSystem } from '../../system/index.js';
import type { CloudEnv } from '../attach.js';
import { cmdUp } from './cloud.js';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

const capture = captureIo;

async function upWebSql(): Promise<{ rec: RecordingSystem; nft: FakeNft; env: CloudEnv }> {
  const nft = new FakeNft();
  const rec = new RecordingSystem(nft.responder());
  const env: CloudEnv = { system: rec, stateDir: mkdtempSync(join(tmpdir(), 'flowtap-cli-react-')), monitorSettleMs: 0 };
  assert.equal(await cmdUp(capture(), 'examples/web-sql', { policy: [], mode: 'enforce', strategy: 'per-node', json: false }, env), 0);
  return { rec, nft, env };
}

const NODE = 'ft-web-sql-n-node1';
const restrictionsInState = (env: CloudEnv) => JSON.parse(readFileSync(join(env.stateDir!, 'web-sql.json'), 'utf8')).restrictions;

test('restrict and unrestrict through the command line reach the rules of the node, with their events', async () => {
  const { nft, env } = await upWebSql();
  let io = capture();
  const args = ['restrict', 'web-sql', '--source', '198.51.100.7', '--port', '80', '--rate', '20', '--burst', '10', '--id', 'flood-web'];
  assert.equal(await main([...args, '--json'], io, env), 0, io.err_.join('\n'));
  const r = JSON.parse(io.out_.join('\n'));
  assert.deepEqual(r.restriction, { id: 'flood-web', source: '198.51.100.7', port: 80, rate: { perSecond: 20, burst: 10 } });
  assert.deepEqual(
    r.events.map((e: { type: string; detail: string }) => `${e.type} ${e.detail}`),
    ['restricted flood-web: 198.51.100.7 to tcp/80 limited to 20/s (burst 10)'],
  );
  assert.deepEqual(r.context.restrictions, [r.restriction]);
  // The controller's rendering carries the context's restrictions to the data plane.
  assert.equal(
    nft.rules(NODE).find((l) => l.includes('restrict flood-web')),
    'inet flowtap forward: ip saddr 198.51.100.7/32 tcp dport 80 ct state new limit rate over 20/second burst 10 packets counter drop comment "restrict flood-web"',
  );

  io = capture();
  assert.equal(await main(['unrestrict', 'web-sql', 'flood-web'], io, env), 0);
  assert.match(io.out_[0], /^\S+ unrestricted: flood-web: 198\.51\.100\.7 to tcp\/80 limited to 20\/s \(burst 10\)$/);
  assert.equal(
    nft.rules(NODE).some((l) => l.includes('restrict ')),
    false,
  );
  assert.deepEqual(restrictionsInState(env), []);
  io = capture();
  assert.equal(await main(['unrestrict', 'web-sql', 'flood-web'], io, env), 0);
  assert.deepEqual(io.out_, ['no restriction "flood-web" in force; nothing changed']);
});

test('bad input exits 2 with a diagnostic naming the field, and nothing is applied', async () => {
  const { rec, env } = await upWebSql();
  const from = rec.calls.length;
  const bad = async (args: string[]) => {
    const io = capture();
    assert.equal(await main(['restrict', 'web-sql', ...args, '--json'], io, env), 2, args.join(' '));
    const out = JSON.parse(io.out_.join('\n'));
    assert.equal(out.ok, false);
    return out.errors.map((e: { code: string; loc?: { field?: string } }) => `${e.code} ${e.loc?.field}`);
  };
  assert.deepEqual(await bad(['--source', '10.250.0.300', '--id', 'x']), ['E_RESTRICTION source']);
  assert.deepEqual(await bad(['--source', '198.51.100.0/24', '--id', 'two words']), ['E_RESTRICTION id']);
  assert.deepEqual(await bad(['--source', '198.51.100.0/24', '--id', 'x', '--port', '70000']), ['E_RESTRICTION port']);
  assert.deepEqual(await bad(['--source', '198.51.100.0/24', '--id', 'x', '--port', 'http']), ['E_CLI_OPTION port']);
  assert.deepEqual(await bad(['--source', '198.51.100.0/24', '--id', 'x', '--rate', '0', '--burst', '1']), [
    'E_RESTRICTION rate.perSecond',
  ]);
  assert.deepEqual(await bad(['--source', '198.51.100.0/24', '--id', 'x', '--rate', '5']), ['E_CLI_USAGE burst']);
  // A required option missing is commander's usage error.
  assert.deepEqual(await bad(['--source', '198.51.100.0/24']), ['E_CLI_USAGE undefined']);
  assert.deepEqual(
    rec.calls.slice(from).filter((c) => c.kind === 'run' && c.argv[0] === 'nft' && c.argv.includes('-f')),
    [],
  );
  assert.equal(restrictionsInState(env), undefined);
});

test('reconcile reports each node, repairs a hand edit, and prints the drift event', async () => {
  const { rec, nft, env } = await upWebSql();
  let io = capture();
  assert.equal(await main(['reconcile', 'web-sql'], io, env), 0);
  assert.deepEqual(io.out_, ['node1: in force']);
  const handle = nft.handleOf(NODE, 'in_sql_0 default')!;
  assert.equal((await rec.run(['nft', '-f', '-'], { ns: NODE, input: `delete rule inet flowtap in_sql_0 handle ${handle}\n` })).code, 0);
  io = capture();
  assert.equal(await main(['reconcile', 'web-sql', '--json'], io, env), 0);
  const r = JSON.parse(io.out_.join('\n'));
  assert.deepEqual(r.drift, [
    { node: 'node1', inForce: false, missing: [{ table: 'flowtap', chain: 'in_sql_0', comment: 'in_sql_0 default' }], extra: [] },
  ]);
  assert.deepEqual(
    r.events.map((e: { type: string; node: string; detail: string }) => `${e.type} ${e.node} ${e.detail}`),
    ['drift node1 missing: flowtap in_sql_0: in_sql_0 default; extra: none'],
  );
  assert.ok(nft.handleOf(NODE, 'in_sql_0 default'));
  io = capture();
  assert.equal(await main(['reconcile', 'web-sql'], io, env), 0);
  assert.deepEqual(io.out_, ['node1: in force']);
});
