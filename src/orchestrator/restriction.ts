/**
 * What makes a source restriction acceptable, checked before anything is applied and again when
 * a state file is read back: its id and source end up in nft scripts (a comment, a match), so a
 * value that is not exactly a token or an address must never reach one.
 */
import type { SourceRestriction } from '../dataplane/index.js';
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { cidrsOverlap, formatCidr, formatIpv4, formatIpv6, parseCidr, parseIpv4, parseIpv6, type IpCidr } from '../net/index.js';
import { OrchestratorCode } from './codes.js';

/** As the nft renderer takes it (nft/restrict.ts): nothing that could end or escape the comment it goes into. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;
const KEYS = new Set(['id', 'source', 'port', 'protocol', 'rate']);

const isPositiveInt = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;

/** The source as nft should match it: a bare address stays one, a block is written canonically. */
function canonicalSource(text: string): { ok: true; source: string; cidr: IpCidr } | { ok: false; reason: string } {
  if (!text.includes('/')) {
    const v4 = parseIpv4(text);
    if (v4 !== undefined) return { ok: true, source: formatIpv4(v4), cidr: { version: 4, base: v4, prefix: 32 } };
    const v6 = parseIpv6(text);
    if (v6) return { ok: true, source: formatIpv6(v6), cidr: { version: 6, words: v6, prefix: 128 } };
  }
  const r = parseCidr(text, { bare: true });
  return r.ok ? { ok: true, source: formatCidr(r.cidr), cidr: r.cidr } : { ok: false, reason: r.reason };
}

/**
 * The restriction, its source in canonical form; or one diagnostic per bad field, each naming
 * it. `network` is the application's own block: a source inside it is an instance, which the
 * firewall and quarantine govern, not a restriction.
 */
export function checkRestriction(r: SourceRestriction, network?: string): Result<SourceRestriction> {
  const errors: Diagnostic[] = [];
  const bad = (field: string, message: string) => errors.push(diag(OrchestratorCode.RESTRICTION, message, { field }));
  const raw = r as unknown as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object') return fail(diag(OrchestratorCode.RESTRICTION, 'a restriction must be an object'));
  for (const k of Object.keys(raw)) if (!KEYS.has(k)) bad(k, `a restriction has no field "${k}" (id, source, port, protocol, rate)`);
  if (typeof raw.id !== 'string' || !ID.test(raw.id))
    bad(
      'id',
      `the restriction id ${JSON.stringify(raw.id ?? null)} must be 1-64 letters, digits or "_.:@-", starting with a letter or digit`,
    );
  let source = '';
  if (typeof raw.source !== 'string') bad('source', 'the source must be an IPv4 or IPv6 address or CIDR prefix');
  else {
    const s = canonicalSource(raw.source);
    if (!s.ok) bad('source', `the source "${raw.source}" is not an address or CIDR prefix: ${s.reason}`);
    else {
      source = s.source;
      const net = network ? parseCidr(network) : undefined;
      if (net?.ok && s.cidr.version === 4 && net.cidr.version === 4 && cidrsOverlap(s.cidr, net.cidr))
        bad('source', `the source ${source} overlaps the application's network ${network}: instances are isolated, not restricted`);
    }
  }
  if (raw.port !== undefined && !isPositiveInt(raw.port, 65535))
    bad('port', `the port ${JSON.stringify(raw.port)} must be a whole number from 1 to 65535`);
  if (raw.protocol !== undefined) {
    if (raw.protocol !== 'tcp' && raw.protocol !== 'udp')
      bad('protocol', `the protocol ${JSON.stringify(raw.protocol)} must be tcp or udp`);
    else if (raw.port === undefined) bad('protocol', 'a protocol needs a port: without one the restriction holds for every protocol');
  }
  if (raw.rate !== undefined) {
    const rate = raw.rate as Record<string, unknown> | null;
    if (rate === null || typeof rate !== 'object') bad('rate', 'the rate must be { perSecond, burst }');
    else {
      for (const k of Object.keys(rate))
        if (k !== 'perSecond' && k !== 'burst') bad(`rate.${k}`, `a rate has no field "${k}" (perSecond, burst)`);
      if (!isPositiveInt(rate.perSecond))
        bad(
          'rate.perSecond',
          `the rate ${JSON.stringify(rate.perSecond ?? null)} must be a whole number of connections per second, at least 1`,
        );
      if (!isPositiveInt(rate.burst))
        bad('rate.burst', `the burst ${JSON.stringify(rate.burst ?? null)} must be a whole number, at least 1`);
    }
  }
  if (errors.length) return fail(errors);
  const out: SourceRestriction = { id: r.id, source };
  if (r.port !== undefined) out.port = r.port;
  if (r.protocol !== undefined) out.protocol = r.protocol;
  if (r.rate !== undefined) out.rate = { perSecond: r.rate.perSecond, burst: r.rate.burst };
  return ok(out);
}

/** One line for events and progress: `r1: 203.0.113.7 to tcp/80 limited to 10/s (burst 5)`. */
export function describeRestriction(r: SourceRestriction): string {
  const to = r.port !== undefined ? ` to ${r.protocol ?? 'tcp'}/${r.port}` : '';
  const what = r.rate ? `limited to ${r.rate.perSecond}/s (burst ${r.rate.burst})` : 'dropped';
  return `${r.id}: ${r.source}${to} ${what}`;
}
