import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingSystem } from '../../system/index.js';
import { NftSessions, oneShotTransactions } from './session.js';

/** What nft 1.0.6 answers to the end mark. */
const DESCRIBED = 'meta expression, datatype mark (packet mark) (basetype integer), 32 bits\n';
const echo = (handle: number, comment: string) =>
  `{"nftables": [{"add": {"rule": {"family": "inet", "table": "flowtap", "chain": "quarantine", "handle": ${handle}, "comment": "${comment}", "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}}]}\n`;

/** An interactive nft as the session sees it (stderr on the same pipe): answers each line written. */
function fakeNft(answer: (line: string, n: number) => { stdout?: string; code?: number } | undefined) {
  let n = 0;
  return new RecordingSystem(undefined, (_argv, line) => (line === 'describe meta mark' ? { stdout: DESCRIBED } : answer(line, n++)));
}

test("a transaction is one line of the session, followed by the end mark (`describe meta mark`, which asks the kernel nothing); the echo gives the added rules and the kernel's handles", async () => {
  const system = fakeNft((_line, n) => ({ stdout: echo(40 + n, `quarantine ${n}`) }));
  const s = new NftSessions(system);
  const r = await s.transact(
    'ft-n1',
    'flush chain inet flowtap ft_applied_x\nadd rule inet flowtap quarantine counter drop comment "quarantine 0"\n',
  );
  assert.ok(r.ok, r.ok ? '' : r.errors[0].message);
  assert.deepEqual(
    r.value.map((x) => [x.chain, x.handle, x.comment]),
    [['quarantine', 40, 'quarantine 0']],
  );
  const again = await s.transact('ft-n1', 'add rule inet flowtap quarantine counter drop comment "quarantine 1"');
  assert.ok(again.ok && again.value[0].handle === 41);
  assert.deepEqual(system.sessionLines, [
    'flush chain inet flowtap ft_applied_x; add rule inet flowtap quarantine counter drop comment "quarantine 0"',
    'describe meta mark',
    'add rule inet flowtap quarantine counter drop comment "quarantine 1"',
    'describe meta mark',
  ]);
  // One child for both, in the namespace, with stderr on stdout so an error comes before the end mark.
  assert.deepEqual(system.commandLines(), ['ip netns exec ft-n1 sh -c exec nft -j -e -a -i 2>&1']);
  assert.equal(s.started, 1);
  await s.close();
});

test('an error nft prints for the line fails that transaction only; the session serves the next', async () => {
  const system = fakeNft((line) =>
    line.includes('nochain')
      ? {
          stdout:
            'Error: Could not process rule: No such file or directory\nadd rule inet flowtap nochain drop\n                       ^^^^^^^\n',
        }
      : { stdout: echo(7, 'ok') },
  );
  const s = new NftSessions(system);
  const bad = await s.transact(null, 'add rule inet flowtap nochain drop');
  assert.ok(!bad.ok);
  assert.equal(bad.errors[0].code, 'E_NFT_REJECTED');
  assert.match(bad.errors[0].message, /Could not process rule/);
  const good = await s.transact(null, 'add rule inet flowtap quarantine counter drop comment "ok"');
  assert.ok(good.ok && good.value[0].handle === 7);
  assert.equal(s.started, 1);
  await s.close();
});

test('deletions alone echo nothing: an empty answer is a success with no rules', async () => {
  const s = new NftSessions(fakeNft(() => undefined));
  const r = await s.transact(null, 'delete rule inet flowtap quarantine handle 40');
  assert.ok(r.ok);
  assert.deepEqual(r.value, []);
  await s.close();
});

test('a session that dies fails its transaction; the next one starts another session', async () => {
  const system = fakeNft((_line, n) => (n === 0 ? { code: 1 } : { stdout: echo(9, 'x') }));
  const s = new NftSessions(system);
  const dead = await s.transact(null, 'add rule inet flowtap quarantine drop');
  assert.ok(!dead.ok);
  assert.equal(dead.errors[0].code, 'E_NFT_SESSION');
  const next = await s.transact(null, 'add rule inet flowtap quarantine counter drop comment "x"');
  assert.ok(next.ok, next.ok ? '' : next.errors[0].message);
  assert.equal(s.started, 2);
  await s.close();
});

test('no answer within the timeout ends the session; more output than the bound too', async () => {
  const silent = new RecordingSystem(undefined, () => undefined);
  const s = new NftSessions(silent, { timeoutMs: 50 });
  const t0 = Date.now();
  const r = await s.transact(null, 'add rule inet flowtap quarantine drop');
  assert.ok(!r.ok && /no answer within 50 ms/.test(r.errors[0].message));
  assert.ok(Date.now() - t0 < 2000);
  await s.close();

  const chatty = new NftSessions(
    fakeNft(() => ({ stdout: `${'x'.repeat(4096)}\n` })),
    { maxBytes: 1024 },
  );
  const big = await chatty.transact(null, 'add rule inet flowtap quarantine drop');
  assert.ok(!big.ok && /more than 1024 bytes/.test(big.errors[0].message));
  await chatty.close();
});

test('a comment line would swallow the rest of the one-line transaction: refused before anything is sent', async () => {
  const system = fakeNft(() => ({ stdout: echo(1, 'x') }));
  const s = new NftSessions(system);
  const r = await s.transact(null, '# a note\nadd rule inet flowtap quarantine drop');
  assert.ok(!r.ok && r.errors[0].code === 'E_NFT_SESSION');
  assert.deepEqual(system.sessionLines, []);
  await s.close();
});

test('one-shot transactions: one `nft -j -e -a -f -` each, its echo parsed the same way', async () => {
  const system = new RecordingSystem((argv) => (argv.includes('-f') ? { stdout: echo(12, 'q') } : undefined));
  const t = oneShotTransactions(system);
  const r = await t.transact('ft-n2', 'add rule inet flowtap quarantine counter drop comment "q"\n');
  assert.ok(r.ok && r.value[0].handle === 12);
  assert.deepEqual(system.commandLines(), ['ip netns exec ft-n2 nft -j -e -a -f -']);
  const refused = oneShotTransactions(new RecordingSystem(() => ({ code: 1, stderr: '/dev/stdin:1:1-3: Error: syntax error\n' })));
  const e = await refused.transact(null, 'add nonsense');
  assert.ok(!e.ok && e.errors[0].message === 'Error: syntax error');
});

test('without echo the session runs `nft -j -i` and a transaction answers no rules', async () => {
  const system = fakeNft(() => undefined);
  const s = new NftSessions(system, { echo: false });
  const r = await s.transact('ft-n3', 'add rule inet flowtap quarantine counter drop comment "q"');
  assert.ok(r.ok);
  assert.deepEqual(r.value, []);
  assert.deepEqual(system.commandLines(), ['ip netns exec ft-n3 sh -c exec nft -j -i 2>&1']);
  await s.close();
});
