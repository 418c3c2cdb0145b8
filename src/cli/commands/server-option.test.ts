/**
 * The CLI as a client of the API: `--server URL` with the token in FLOWTAP_TOKEN, against a real
 * API server over a fake fleet. What the API refuses (another tenant's application, a reaction in
 * the wrong state, a bad token) is reported with the API's code, exit 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from '../../api/testing.js';
import { cmdRecords } from './records.js';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

let t: TestServer;
before(async () => {
  t = await testServer();
});
after(async () => {
  delete process.env.FLOWTAP_TOKEN;
  await t.close();
});

async function cli(token: string, ...argv: string[]) {
  process.env.FLOWTAP_TOKEN = token;
  const io = captureIo();
  const code = await main([...argv, '--server', t.server.url], io);
  return { code, out: io.out_.join('\n'), err: io.err_.join('\n') };
}

test('reactions and approve|undo|keep through the API, as the tenant of the token', async () => {
  const listed = await cli(t.tokens.acme, 'reactions', 'shop');
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, /r-1\s+awaiting-approval/);
  assert.match(listed.out, /r-2\s+applied/);
  const approved = await cli(t.tokens.acme, 'approve', 'shop', 'r-1');
  assert.equal(approved.code, 0, approved.err);
  assert.match(approved.out, /r-1: approved, then applied/);
  assert.deepEqual(t.fleet.calls.slice(-1), ['approve shop r-1']);
  // The API's refusal, with its code: r-2 is not waiting for approval.
  const refused = await cli(t.tokens.acme, 'approve', 'shop', 'r-2', '--json');
  assert.equal(refused.code, 2);
  assert.match(refused.out, /E_REACTION_STATE/);
});

test("another tenant's application is not found; a bad token is refused; no token is a usage error", async () => {
  const other = await cli(t.tokens.globex, 'reactions', 'shop', '--json');
  assert.equal(other.code, 2);
  assert.match(other.out, /E_API_NOT_FOUND/);
  const bad = await cli('ftk_nope_nope', 'reactions', 'shop', '--json');
  assert.equal(bad.code, 2);
  assert.match(bad.out, /E_API_AUTH/);
  delete process.env.FLOWTAP_TOKEN;
  const io = captureIo();
  assert.equal(await main(['reactions', 'shop', '--server', t.server.url, '--json'], io), 2);
  assert.match(io.out_.join('\n'), /FLOWTAP_TOKEN/);
});

test('records through the API: the latest, filtered; then --follow over its live stream until stopped', async () => {
  await t.fleet.append('shop', [
    { kind: 'log', service: 'web', instance: 'web-0', data: { line: 'GET / 200' } },
    { kind: 'log', service: 'db', instance: 'db-0', data: { line: 'checkpoint' } },
  ]);
  const got = await cli(t.tokens.acme, 'records', 'shop', '--service', 'web', '--json');
  assert.equal(got.code, 0, got.err);
  const rows = got.out.split('\n').map((l) => JSON.parse(l) as { service: string; data: { line: string } });
  assert.deepEqual(
    rows.map((r) => [r.service, r.data.line]),
    [['web', 'GET / 200']],
  );
  // Following: a record appended after the start arrives through the stream.
  process.env.FLOWTAP_TOKEN = t.tokens.acme;
  const io = captureIo();
  const stop = new AbortController();
  const following = cmdRecords(io, 'shop', { service: 'web', follow: true, json: true, server: t.server.url }, {}, () => stop.signal);
  await new Promise((r) => setTimeout(r, 300));
  await t.fleet.append('shop', [{ kind: 'log', service: 'web', instance: 'web-1', data: { line: 'POST /cart 201' } }]);
  for (let i = 0; i < 50 && !io.out_.some((l) => l.includes('POST /cart')); i++) await new Promise((r) => setTimeout(r, 100));
  stop.abort();
  assert.equal(await following, 0);
  assert.ok(
    io.out_.some((l) => l.includes('POST /cart 201')),
    io.out_.join('\n'),
  );
});

test('verbosity through the API: the change as the API takes it, every agent answer printed', async () => {
  const got = await cli(t.tokens.acme, 'verbosity', 'shop', '3', '--node', 'n2', '--period', '2');
  assert.equal(got.code, 0, got.err);
  assert.equal(got.out, 'n2: applied');
  assert.deepEqual(t.fleet.calls.slice(-1), ['verbosity shop {"node":"n2","level":3,"periodMs":2000}']);
});
