/**
 * Source restrictions (SourceRestriction, backend.ts) as the first rules of a node's forward
 * chain. What an operator expects from each kind decides where it sits and what it matches:
 *
 * - no `rate`: everything from the source is dropped, connections already established included
 *   (the rule comes before conntrack's `established` accept), as a quarantine cuts an instance
 *   off: whoever blocks a source wants its ongoing session ended too, not only new ones refused.
 * - `rate`: new connections (`ct state new`) from the source over `perSecond` are dropped, a
 *   burst of `burst` on top. An ongoing flood of SYNs or of unanswered datagrams is all `new`
 *   in conntrack's eyes (a flow is `established` only once a reply was seen), so it is limited
 *   from the moment the rule is in force; connections the service already answered carry on.
 *   The limit is one token bucket per rule: a block of sources shares it.
 *
 * Every rule counts (so a reaction can see what its restriction holds back) and carries the
 * comment `restrict <id>`, its identity for counters and drift. In audit mode a restriction still
 * drops (and logs), as a quarantine does: both are reactions someone chose to take, while audit
 * mode is about the inferred rules.
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { cidrsOverlap, formatCidr, parseCidr, parseIpv4Cidr } from '../../net/index.js';
import type { SourceRestriction } from '../backend.js';
import { nftString } from './names.js';

/** The comment every rule of a restriction carries. */
export const restrictComment = (id: string) => `restrict ${id}`;

/** Ids go into nft comments verbatim: nothing nft would strip or that could end the string. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

/**
 * The forward-chain rules of the restrictions, in the order given; every problem is a
 * diagnostic naming the restriction (E_DATAPLANE_RESTRICT), and then there are no rules.
 */
export function restrictionRules(
  restrictions: readonly SourceRestriction[],
  network: string,
  mode: 'enforce' | 'audit',
): { rules: string[]; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const rules: string[] = [];
  const net = parseIpv4Cidr(network);
  const seen = new Set<string>();
  for (const r of restrictions) {
    const bad = (why: string) => errors.push(diag('E_DATAPLANE_RESTRICT', `restriction ${JSON.stringify(r.id)}: ${why}`));
    if (typeof r.id !== 'string' || !ID.test(r.id)) {
      bad('its id must be 1-64 letters, digits or `_.:@-`, starting with a letter or digit');
      continue;
    }
    if (seen.has(r.id)) {
      bad('the id is used by another restriction');
      continue;
    }
    seen.add(r.id);
    const src = parseCidr(String(r.source), { bare: true });
    if (!src.ok) {
      bad(`source ${JSON.stringify(r.source)} is not an address or block: ${src.reason}`);
      continue;
    }
    if (net.ok && src.cidr.version === 4 && cidrsOverlap(src.cidr, net.cidr)) {
      bad(
        `source ${r.source} overlaps the application's network ${network}: restrictions hold sources outside it (an instance is quarantined instead)`,
      );
      continue;
    }
    if (r.protocol !== undefined && r.protocol !== 'tcp' && r.protocol !== 'udp') {
      bad(`protocol ${JSON.stringify(r.protocol)} is neither tcp nor udp`);
      continue;
    }
    const match: string[] = [`${src.cidr.version === 4 ? 'ip' : 'ip6'} saddr ${formatCidr(src.cidr)}`];
    if (r.port !== undefined) {
      if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) {
        bad(`port ${r.port} is not a whole number in 1..65535`);
        continue;
      }
      match.push(`${r.protocol ?? 'tcp'} dport ${r.port}`);
    } else if (r.protocol !== undefined) match.push(`meta l4proto ${r.protocol}`);
    if (r.rate) {
      const { perSecond, burst } = r.rate;
      if (!Number.isInteger(perSecond) || perSecond < 1) {
        bad(`rate ${perSecond}/second is not a whole number of at least 1`);
        continue;
      }
      // nft's limit reads a burst of 0 packets as its default of 5: ask for at least one.
      if (!Number.isInteger(burst) || burst < 1) {
        bad(`burst ${burst} is not a whole number of at least 1`);
        continue;
      }
      match.push(`ct state new limit rate over ${perSecond}/second burst ${burst} packets`);
    }
    const comment = restrictComment(r.id);
    const log = mode === 'audit' ? `log prefix ${nftString(`flowtap-audit ${comment} `)} ` : '';
    rules.push(`${match.join(' ')} counter ${log}drop comment ${nftString(comment)}`);
  }
  return errors.length ? { rules: [], errors } : { rules, errors };
}
