/**
 * Sets of transport ports as sorted, disjoint, non-adjacent inclusive ranges.
 * The port space is 1..65535 (port 0 is not a destination anyone can reach, and
 * Kubernetes and its analyzers use the same space), so "all ports" has one spelling.
 * Values are immutable: operations return new arrays or one of the shared constants.
 */
import type { PortRange } from './types.js';

const MIN_PORT = 1;
const MAX_PORT = 65535;

export type PortSet = readonly PortRange[];

export const NO_PORTS: PortSet = Object.freeze([]);
export const ALL_PORTS: PortSet = Object.freeze([Object.freeze({ from: MIN_PORT, to: MAX_PORT })]);

/** Normalises arbitrary ranges (any order, overlapping, out of bounds); null means all ports. */
export function portSetOf(ranges: readonly PortRange[] | null): PortSet {
  if (ranges === null) return ALL_PORTS;
  const clipped: PortRange[] = [];
  for (const r of ranges) {
    const from = Math.max(MIN_PORT, Math.floor(r.from));
    const to = Math.min(MAX_PORT, Math.floor(r.to));
    if (from <= to) clipped.push({ from, to });
  }
  if (clipped.length === 0) return NO_PORTS;
  clipped.sort((a, b) => a.from - b.from);
  const out: PortRange[] = [clipped[0]];
  for (let i = 1; i < clipped.length; i++) {
    const last = out[out.length - 1];
    const r = clipped[i];
    if (r.from <= last.to + 1) {
      if (r.to > last.to) out[out.length - 1] = { from: last.from, to: r.to };
    } else out.push(r);
  }
  return canonical(out);
}

export function isAllPorts(a: PortSet): boolean {
  return a.length === 1 && a[0].from === MIN_PORT && a[0].to === MAX_PORT;
}

export function containsPort(a: PortSet, port: number): boolean {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = a[mid];
    if (port < r.from) hi = mid - 1;
    else if (port > r.to) lo = mid + 1;
    else return true;
  }
  return false;
}

export function portsEqual(a: PortSet, b: PortSet): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].from !== b[i].from || a[i].to !== b[i].to) return false;
  return true;
}

export function unionPorts(a: PortSet, b: PortSet): PortSet {
  if (a.length === 0 || isAllPorts(b)) return b;
  if (b.length === 0 || isAllPorts(a)) return a;
  const out: PortRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const r = j >= b.length || (i < a.length && a[i].from <= b[j].from) ? a[i++] : b[j++];
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) {
      if (r.to > last.to) out[out.length - 1] = { from: last.from, to: r.to };
    } else out.push(r);
  }
  return canonical(out);
}

export function intersectPorts(a: PortSet, b: PortSet): PortSet {
  if (a.length === 0 || b.length === 0) return NO_PORTS;
  if (isAllPorts(a)) return b;
  if (isAllPorts(b)) return a;
  const out: PortRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const from = Math.max(a[i].from, b[j].from);
    const to = Math.min(a[i].to, b[j].to);
    if (from <= to) out.push(from === a[i].from && to === a[i].to ? a[i] : { from, to });
    if (a[i].to < b[j].to) i++;
    else j++;
  }
  return canonical(out);
}

/** a minus b. */
export function subtractPorts(a: PortSet, b: PortSet): PortSet {
  if (a.length === 0 || b.length === 0) return a;
  if (isAllPorts(b)) return NO_PORTS;
  const out: PortRange[] = [];
  let j = 0;
  for (const r of a) {
    let from = r.from;
    while (j < b.length && b[j].to < from) j++;
    let k = j;
    while (k < b.length && b[k].from <= r.to) {
      if (b[k].from > from) out.push({ from, to: b[k].from - 1 });
      from = Math.max(from, b[k].to + 1);
      if (b[k].to >= r.to) break;
      k++;
    }
    if (from <= r.to) out.push(from === r.from ? r : { from, to: r.to });
  }
  return canonical(out);
}

/** `80,443,1000-2000`: the spelling Kubernetes analyzers use after the protocol name. */
export function formatPorts(a: PortSet): string {
  let s = '';
  for (const r of a) {
    if (s) s += ',';
    s += r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
  }
  return s;
}

/** Shares the constants so equality checks and "all" tests short-circuit. */
function canonical(out: PortRange[]): PortSet {
  if (out.length === 0) return NO_PORTS;
  if (out.length === 1 && out[0].from === MIN_PORT && out[0].to === MAX_PORT) return ALL_PORTS;
  return out;
}
