/**
 * API tokens: `ftk_<id>_<secret>`, a 12-hex-digit id and a 32-byte random secret. The store
 * (`STATE/tokens.json`, mode 0600, replaced atomically: temp file + rename) keeps per token its
 * id, a name, its tenant (null: an operator, who sees every tenant), the SHA-256 of the secret,
 * when it was made and when it was revoked. The secret itself is shown once, when issued.
 *
 * A plain SHA-256 is enough here, unlike for passwords: password hashing is slow on purpose
 * because people choose passwords from a small space an attacker can enumerate. A secret of
 * 256 random bits has no such space; inverting SHA-256 on it is a 2^256 search whatever the
 * hash costs, so stretching would only slow down every request. The comparison is constant
 * time all the same, so the answer's timing says nothing of how much of a hash matched.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import { ApiCode } from './codes.js';

export interface TokenEntry {
  id: string;
  name: string;
  /** Null: an operator token. */
  tenant: string | null;
  /** SHA-256 of the secret, hex. */
  hash: string;
  createdAt: string;
  revokedAt?: string;
}

/** Who a verified token speaks for. */
export interface Principal {
  id: string;
  name: string;
  tenant: string | null;
}

const TOKEN_TEXT = /^ftk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const TENANT = /^[a-z][a-z0-9-]{0,62}$/;

const entrySchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{12}$/),
  name: z.string().regex(NAME),
  tenant: z.string().regex(TENANT).nullable(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});
const fileSchema = z.strictObject({ version: z.literal(1), tokens: z.array(entrySchema) });

export function tokenFile(stateDir: string): string {
  // A folder no application can be named (names are DNS labels): never STATE/APP.json of an app called "tokens".
  return join(stateDir, '.api', 'tokens.json');
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function readTokens(file: string): Result<TokenEntry[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok([]);
    return fail(diag(ApiCode.TOKEN, `cannot read the token store: ${(e as Error).message}`, { file }));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(diag(ApiCode.TOKEN, `the token store is not JSON (${(e as Error).message})`, { file }));
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success)
    return fail(r.error.issues.map((i) => diag(ApiCode.TOKEN, `invalid token store: ${i.message}`, { file, field: i.path.join('.') })));
  return ok(r.data.tokens);
}

function writeTokens(file: string, tokens: TokenEntry[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, tokens }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** A new token; its text (with the secret) is returned once and stored only as a hash. */
export function issueToken(file: string, o: { name: string; tenant: string | null }): Result<{ token: string; entry: TokenEntry }> {
  if (!NAME.test(o.name))
    return fail(
      diag(ApiCode.TOKEN, `token name "${o.name}": 1-64 letters, digits, _ . @ -, starting with a letter or digit`, { field: 'name' }),
    );
  if (o.tenant !== null && !TENANT.test(o.tenant))
    return fail(diag(ApiCode.TOKEN, `tenant "${o.tenant}": a lowercase DNS label starting with a letter`, { field: 'tenant' }));
  const existing = readTokens(file);
  if (!existing.ok) return existing;
  let id: string;
  do id = randomBytes(6).toString('hex');
  while (existing.value.some((t) => t.id === id));
  const secret = randomBytes(32).toString('base64url');
  const entry: TokenEntry = {
    id,
    name: o.name,
    tenant: o.tenant,
    hash: sha256(secret).toString('hex'),
    createdAt: new Date().toISOString(),
  };
  writeTokens(file, [...existing.value, entry]);
  return ok({ token: `ftk_${id}_${secret}`, entry });
}

/** Revokes by id or name (a name shared by several tokens revokes them all); the entries revoked. */
export function revokeToken(file: string, idOrName: string): Result<TokenEntry[]> {
  const existing = readTokens(file);
  if (!existing.ok) return existing;
  const now = new Date().toISOString();
  const hit = existing.value.filter((t) => (t.id === idOrName || t.name === idOrName) && !t.revokedAt);
  if (hit.length === 0) return fail(diag(ApiCode.NOT_FOUND, `no live token with id or name "${idOrName}"`, { file, field: 'token' }));
  const next = existing.value.map((t) => (hit.includes(t) ? { ...t, revokedAt: now } : t));
  writeTokens(file, next);
  return ok(next.filter((t) => hit.some((h) => h.id === t.id)));
}

export function listTokens(file: string): Result<TokenEntry[]> {
  return readTokens(file);
}

/**
 * Verifies tokens against the store, read again whenever the file changes (a token issued or
 * revoked by `flowtap token` in another shell counts at the next request).
 */
export class TokenStore {
  private cache: { key: string; byId: Map<string, TokenEntry>; damaged: boolean } | null = null;

  constructor(readonly file: string) {}

  private read(): { byId: Map<string, TokenEntry>; damaged: boolean } {
    let key: string;
    try {
      const st = statSync(this.file);
      key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      key = 'none';
    }
    if (this.cache?.key === key) return this.cache;
    const read = readTokens(this.file);
    // A damaged store admits nobody: failing closed is the only safe reading of it.
    const byId = new Map(read.ok ? read.value.map((t) => [t.id, t]) : []);
    this.cache = { key, byId, damaged: !read.ok };
    return this.cache;
  }

  private entries(): Map<string, TokenEntry> {
    return this.read().byId;
  }

  /**
   * Why the token with this id no longer admits anyone (revoked, gone from the store, the
   * store unreadable); null while it is live. What a long request (a record stream) asks as it
   * goes on: the token was verified when it began, and may be revoked from another process since.
   */
  lapsed(id: string): string | null {
    const { byId, damaged } = this.read();
    const entry = byId.get(id);
    if (entry?.revokedAt) return `the token was revoked at ${entry.revokedAt}`;
    if (entry) return null;
    return damaged ? 'the token store cannot be read' : 'the token is no longer in the token store';
  }

  /** The token's principal; null for anything that is not a live token of this store. */
  verify(text: string): Principal | null {
    const m = TOKEN_TEXT.exec(text);
    if (!m) return null;
    const entry = this.entries().get(m[1]);
    if (!entry) return null;
    const given = sha256(m[2]);
    const stored = Buffer.from(entry.hash, 'hex');
    if (!timingSafeEqual(given, stored) || entry.revokedAt) return null;
    return { id: entry.id, name: entry.name, tenant: entry.tenant };
  }
}
