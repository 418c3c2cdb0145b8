/**
 * `flowtap token issue NAME (--tenant T | --operator)`, `token list`, `token revoke ID|NAME`: the
 * API's bearer tokens, kept hashed in the state folder. A token's text is printed once, at issue.
 */
import { issueToken, listTokens, revokeToken, tokenFile, type TokenEntry } from '../../api/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { stateDirOf } from '../../orchestrator/index.js';
import type { CloudEnv } from '../attach.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';

const shown = (t: TokenEntry) =>
  `${t.id}  ${t.name.padEnd(20)} ${(t.tenant === null ? 'operator' : `tenant ${t.tenant}`).padEnd(20)} issued ${t.createdAt}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`;

export async function cmdTokenIssue(
  io: Io,
  name: string,
  o: { tenant?: string; operator?: boolean; json?: boolean },
  env: CloudEnv = {},
): Promise<number> {
  if ((o.tenant === undefined) === (o.operator !== true))
    throw new FlowtapError(
      diag(CliCode.USAGE, 'a token speaks for one tenant (--tenant T) or for the operator (--operator): give exactly one', {
        field: 'tenant',
      }),
    );
  const { token, entry } = need(issueToken(tokenFile(stateDirOf(env.stateDir)), { name, tenant: o.operator ? null : o.tenant! }));
  if (o.json) io.out(JSON.stringify({ token, id: entry.id, name: entry.name, tenant: entry.tenant }, null, 2));
  else {
    io.out(token);
    io.err(
      `token ${entry.id} (${entry.name}) for ${entry.tenant === null ? 'the operator' : `tenant ${entry.tenant}`}: shown once, kept only as a hash`,
    );
  }
  return EXIT_OK;
}

export async function cmdTokenList(io: Io, json: boolean, env: CloudEnv = {}): Promise<number> {
  const all = need(listTokens(tokenFile(stateDirOf(env.stateDir))));
  // Never the hashes: they are not secrets, but nobody needs them.
  const rows = all.map(({ hash: _hash, ...t }) => t);
  if (json) io.out(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) io.out('no tokens');
  else for (const t of all) io.out(shown(t));
  return EXIT_OK;
}

export async function cmdTokenRevoke(io: Io, idOrName: string, json: boolean, env: CloudEnv = {}): Promise<number> {
  const gone = need(revokeToken(tokenFile(stateDirOf(env.stateDir)), idOrName));
  if (json)
    io.out(
      JSON.stringify(
        gone.map(({ hash: _hash, ...t }) => t),
        null,
        2,
      ),
    );
  else for (const t of gone) io.out(`revoked ${shown(t)}`);
  return EXIT_OK;
}
