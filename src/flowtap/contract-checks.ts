/**
 * Checks on a set of contracts: well-formed options, unique ids, no two redirects competing
 * for one packet, and tenancy (a tenant taps only its own ports, into its own monitors).
 */
import { diag, type Diagnostic, type DiagCode } from '../diagnostics/index.js';
import { contractLocation, describeContract, sharedDirection, type FlowTap } from './contract.js';
import { intersect } from './flow/index.js';
import { packetIn, printPacket } from './packet-spec.js';

const isPositiveFinite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** Shape and option checks for one contract. */
function checkContract(c: FlowTap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const loc = contractLocation(c);
  const name = describeContract(c);
  const err = (code: DiagCode, message: string) => out.push(diag(code, `${name}: ${message}`, loc));
  if (!c.id) err('E_CONTRACT_INVALID', 'has no id');
  if (!c.src) err('E_CONTRACT_INVALID', 'has no source port');
  if (!c.dst) err('E_CONTRACT_INVALID', 'has no destination (monitor) port');
  if (c.src && c.src === c.dst) err('E_CONTRACT_INVALID', `source and destination are the same port ${c.src}`);
  if (c.action !== 'forward' && c.action !== 'redirect')
    err('E_CONTRACT_INVALID', `action must be forward or redirect, not ${String(c.action)}`);
  if (c.direction !== 'ingress' && c.direction !== 'egress' && c.direction !== 'both')
    err('E_CONTRACT_INVALID', `direction must be ingress, egress or both, not ${String(c.direction)}`);
  const o = c.options ?? {};
  if (o.failMode !== undefined) {
    if (c.action === 'forward')
      err('E_CONTRACT_OPTION', 'failMode applies to redirect only: a forwarded copy never holds the original packet back');
    else if (o.failMode !== 'open' && o.failMode !== 'closed')
      err('E_CONTRACT_OPTION', `failMode must be open or closed, not ${String(o.failMode)}`);
  }
  if (o.sample !== undefined) {
    if (!Number.isInteger(o.sample.every) || o.sample.every < 1)
      err(
        'E_CONTRACT_OPTION',
        `sample.every must be a whole number of at least 1 (1 = every ${o.sample.unit ?? 'packet'}), not ${String(o.sample.every)}`,
      );
    if (o.sample.unit !== 'packet' && o.sample.unit !== 'flow')
      err('E_CONTRACT_OPTION', `sample.unit must be packet or flow, not ${String(o.sample.unit)}`);
  }
  if (o.budget !== undefined) {
    if (!isPositiveFinite(o.budget.rate)) err('E_CONTRACT_OPTION', `budget.rate must be a number above 0, not ${String(o.budget.rate)}`);
    if (o.budget.unit !== 'pps' && o.budget.unit !== 'bps')
      err('E_CONTRACT_OPTION', `budget.unit must be pps or bps, not ${String(o.budget.unit)}`);
  }
  return out;
}

/**
 * Two redirects on the same source port whose directions and flows intersect: a packet in the
 * intersection cannot be diverted to both monitors. Forwards may overlap anything (each one
 * copies), and a forward overlapping a redirect is fine: the copy is made first.
 */
export function checkOverlaps(contracts: readonly FlowTap[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const bySrc = new Map<string, FlowTap[]>();
  for (const c of contracts) {
    if (c.action !== 'redirect') continue;
    const list = bySrc.get(c.src);
    if (list) list.push(c);
    else bySrc.set(c.src, [c]);
  }
  for (const list of bySrc.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i];
        const b = list[j];
        // Both divert to the same monitor: the packet's destination is unambiguous
        // (ftc emits a request flow and its mirrored reply flow this way).
        if (a.dst === b.dst) continue;
        const dir = sharedDirection(a.direction, b.direction);
        if (!dir) continue;
        const both = intersect(a.flow, b.flow);
        if (!both) continue;
        const pkt = printPacket(packetIn(both), both);
        const where = dir === 'both' ? 'in both directions' : dir === 'ingress' ? 'arriving at it' : 'leaving it';
        out.push(
          diag(
            'E_CONTRACT_OVERLAP',
            `${describeContract(a)} and ${describeContract(b)} both redirect packets of port ${a.src} ${where}; ` +
              `packet "${pkt || '(any packet)'}" matches both and can be diverted to only one monitor`,
            contractLocation(b) ?? contractLocation(a),
          ),
        );
      }
    }
  }
  return out;
}

/** Every contract's own checks, duplicate ids, and redirect overlaps. */
export function checkContracts(contracts: readonly FlowTap[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, FlowTap>();
  for (const c of contracts) {
    out.push(...checkContract(c));
    const prev = seen.get(c.id);
    if (prev && c.id) {
      out.push(diag('E_CONTRACT_DUPLICATE_ID', `${describeContract(c)} reuses the id of ${describeContract(prev)}`, contractLocation(c)));
    } else seen.set(c.id, c);
  }
  out.push(...checkOverlaps(contracts));
  return out;
}

/** Who owns what: application ports and monitor ports by tenant. */
export interface Ownership {
  /** Application port (instance attachment) -> owning tenant. */
  ports: Record<string, string>;
  /** Monitor port -> owning tenant. */
  monitors?: Record<string, string>;
  /** Monitor port -> tenants explicitly allowed to use it besides its owner ('*' = every tenant). */
  sharedMonitors?: Record<string, readonly string[] | '*'>;
}

/**
 * A contract may tap only a port its tenant owns, into a monitor its tenant owns or that is
 * explicitly shared with it; so policies of different tenants cannot see each other's traffic.
 */
export function checkTenancy(contracts: readonly FlowTap[], ownership: Ownership): Diagnostic[] {
  const out: Diagnostic[] = [];
  const monitors = ownership.monitors ?? {};
  const shared = ownership.sharedMonitors ?? {};
  const own = (rec: Record<string, unknown>, key: string) => Object.hasOwn(rec, key);
  for (const c of contracts) {
    const name = describeContract(c);
    const loc = contractLocation(c);
    if (!own(ownership.ports, c.src)) {
      const why = own(monitors, c.src) ? 'is a monitor port, not an application port' : 'is not a port of any application';
      out.push(diag('E_TENANCY_UNKNOWN_PORT', `${name}: source port ${c.src} ${why}`, loc));
    } else if (ownership.ports[c.src] !== c.tenant) {
      out.push(
        diag('E_TENANCY', `${name}: tenant ${c.tenant} may not tap port ${c.src}, which belongs to tenant ${ownership.ports[c.src]}`, loc),
      );
    }
    if (!own(monitors, c.dst)) {
      if (own(ownership.ports, c.dst)) {
        out.push(
          diag(
            'E_TENANCY_NOT_MONITOR',
            `${name}: destination ${c.dst} is an application port of tenant ${ownership.ports[c.dst]}, not a monitor`,
            loc,
          ),
        );
      } else out.push(diag('E_TENANCY_UNKNOWN_PORT', `${name}: destination ${c.dst} is not a known monitor port`, loc));
      continue;
    }
    const owner = monitors[c.dst];
    if (owner === c.tenant) continue;
    const allowed = own(shared, c.dst) ? shared[c.dst] : undefined;
    if (allowed === '*' || (Array.isArray(allowed) && allowed.includes(c.tenant))) continue;
    out.push(diag('E_TENANCY', `${name}: monitor ${c.dst} belongs to tenant ${owner} and is not shared with tenant ${c.tenant}`, loc));
  }
  return out;
}
