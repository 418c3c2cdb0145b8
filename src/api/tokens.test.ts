import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { issueToken, listTokens, revokeToken, tokenFile, TokenStore } from './tokens.js';

function folder(): string {
  return mkdtempSync(join(tmpdir(), 'flowtap-tokens-'));
}

test('tokens: issued as ftk_<id>_<secret>, stored only as a SHA-256, verified by id and hash, refused once revoked', () => {
  const dir = folder();
  try {
    const file = tokenFile(dir);
    const a = issueToken(file, { name: 'acme-ci', tenant: 'acme' });
    const op = issueToken(file, { name: 'ops', tenant: null });
    assert.ok(a.ok && op.ok);
    assert.match(a.value.token, /^ftk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const secret = a.value.token.slice('ftk_'.length + 13);
    const stored = readFileSync(file, 'utf8');
    assert.ok(!stored.includes(secret), 'the secret itself is never written');
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    assert.deepEqual(readdirSync(dirname(file)), ['tokens.json'], 'no temporary file is left behind');

    const store = new TokenStore(file);
    assert.deepEqual(store.verify(a.value.token), { id: a.value.entry.id, name: 'acme-ci', tenant: 'acme' });
    assert.deepEqual(store.verify(op.value.token), { id: op.value.entry.id, name: 'ops', tenant: null });
    // Same id, another secret of the same length; someone else's id with this secret; garbage.
    const other = `${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`;
    assert.equal(store.verify(`ftk_${a.value.entry.id}_${other}`), null);
    assert.equal(store.verify(`ftk_${op.value.entry.id}_${secret}`), null);
    for (const bad of ['', 'ftk_', 'Bearer x', `${a.value.token}x`, a.value.token.toUpperCase()])
      assert.equal(store.verify(bad), null, bad);

    const revoked = revokeToken(file, 'acme-ci');
    assert.ok(revoked.ok && revoked.value.length === 1 && revoked.value[0].revokedAt);
    assert.equal(store.verify(a.value.token), null, 'a revoked token fails at once (the store is read again when the file changes)');
    assert.ok(store.verify(op.value.token));
    const again = revokeToken(file, 'acme-ci');
    assert.ok(!again.ok && again.errors[0].code === 'E_API_NOT_FOUND');
    const list = listTokens(file);
    assert.ok(list.ok && list.value.length === 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokens: bad names and tenants are refused; a damaged store admits nobody and is reported', () => {
  const dir = folder();
  try {
    const file = tokenFile(dir);
    const badName = issueToken(file, { name: '../x', tenant: 'acme' });
    assert.ok(!badName.ok && badName.errors[0].loc?.field === 'name');
    const badTenant = issueToken(file, { name: 'x', tenant: 'Acme Corp' });
    assert.ok(!badTenant.ok && badTenant.errors[0].loc?.field === 'tenant');
    const ok = issueToken(file, { name: 'x', tenant: 'acme' });
    assert.ok(ok.ok);
    writeFileSync(file, '{"version":1,"tokens":[{"id":"zz"}]}');
    const store = new TokenStore(file);
    assert.equal(store.verify(ok.value.token), null);
    const list = listTokens(file);
    assert.ok(!list.ok && list.errors.every((e) => e.code === 'E_API_TOKEN'));
    writeFileSync(file, 'not json');
    assert.ok(!listTokens(file).ok);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokens: lapsed says why a token verified earlier no longer admits anyone, null while it is live', () => {
  const dir = folder();
  try {
    const file = tokenFile(dir);
    const a = issueToken(file, { name: 'acme-ci', tenant: 'acme' });
    const b = issueToken(file, { name: 'acme-dash', tenant: 'acme' });
    assert.ok(a.ok && b.ok);
    const store = new TokenStore(file);
    assert.equal(store.lapsed(a.value.entry.id), null);
    // Revoked by another process: the file changes, and the next question sees it.
    assert.ok(revokeToken(file, a.value.entry.id).ok);
    assert.match(store.lapsed(a.value.entry.id) ?? '', /^the token was revoked at \d{4}-/);
    assert.equal(store.lapsed(b.value.entry.id), null);
    assert.equal(store.lapsed('0123456789ab'), 'the token is no longer in the token store');
    writeFileSync(file, 'not json');
    assert.equal(store.lapsed(b.value.entry.id), 'the token store cannot be read');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
