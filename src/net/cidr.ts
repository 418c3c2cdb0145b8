/**
 * Address blocks (CIDR prefixes) of both families: parse, contain, normalise, print.
 *
 * Host bits: `10.0.0.1/8` has bits set below its prefix, so its author meant either the network
 * 10.0.0.0/8 or the host 10.0.0.1, and a tool has to guess which. Where a person writes a block
 * in flowtap's own inputs (the descriptor's `network`, ruleset peers, Datalog's `cidr_contains`)
 * it is an error that names the network probably meant (`hostBits: 'reject'`, the default).
 * Where flowtap reads another tool's spelling whose own rules clear them, they are cleared
 * (`hostBits: 'clear'`): Kubernetes ipBlock (the API server accepts `10.0.0.1/8` as 10.0.0.0/8)
 * and the flow syntax (OVS masks the value with the prefix).
 */
import { addressProblem, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address.js';

/** An IPv4 block; `base` is the network address as an unsigned 32-bit integer. */
export interface Ipv4Cidr {
  base: number;
  prefix: number;
}

/** An IPv6 block; `words` is the network address as four 32-bit words, most significant first. */
interface Ipv6Cidr {
  words: Uint32Array;
  prefix: number;
}

export type IpCidr = ({ version: 4 } & Ipv4Cidr) | ({ version: 6 } & Ipv6Cidr);

type CidrResult<T> = { ok: true; cidr: T } | { ok: false; reason: string };

interface CidrOptions {
  /** What a block with host bits set is (see above); default 'reject'. */
  hostBits?: 'reject' | 'clear';
  /** Accept a bare address as a block of one (/32, /128); default false. */
  bare?: boolean;
}

const PREFIX_LENGTH = /^(?:0|[1-9][0-9]{0,2})$/;

/** The IPv4 netmask of a prefix length, as an unsigned 32-bit integer. */
export function ipv4Mask(prefix: number): number {
  // `<< 32` is `<< 0` in JavaScript, so /0 needs its own case.
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Number of addresses in an IPv4 block of this prefix length. */
export function cidrSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** First and last address of an IPv4 block. */
export function ipv4Range(c: Ipv4Cidr): { lo: number; hi: number } {
  return { lo: c.base, hi: c.base + cidrSize(c.prefix) - 1 };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + cidrSize(b.prefix) && b.base < a.base + cidrSize(a.prefix);
}

/** `a.b.c.d/n` or an IPv6 block, either family. */
export function parseCidr(text: string, opts: CidrOptions = {}): CidrResult<IpCidr> {
  return parseBlock(text, opts, undefined);
}

/** `a.b.c.d/n` only; an IPv6 block is an error that says so. */
export function parseIpv4Cidr(text: string, opts: CidrOptions = {}): CidrResult<Ipv4Cidr> {
  const r = parseBlock(text, opts, 4);
  return r.ok && r.cidr.version === 4
    ? { ok: true, cidr: { base: r.cidr.base, prefix: r.cidr.prefix } }
    : (r as { ok: false; reason: string });
}

function parseBlock(text: string, opts: CidrOptions, only: 4 | undefined): CidrResult<IpCidr> {
  const slash = text.indexOf('/');
  if (slash < 0 && !opts.bare) return { ok: false, reason: 'missing "/prefix"' };
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v6 = addr.includes(':');
  if (v6 && only === 4) {
    return {
      ok: false,
      reason: parseIpv6(addr)
        ? `"${addr}" is an IPv6 address; an IPv4 block is needed here`
        : `"${addr}" is not an IPv4 address: ${addressProblem(addr, 4)}`,
    };
  }
  const max = v6 ? 128 : 32;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!PREFIX_LENGTH.test(p) || Number(p) > max) return { ok: false, reason: `prefix "${p}" is not a number from 0 to ${max}` };
    prefix = Number(p);
  }
  const reject = (opts.hostBits ?? 'reject') === 'reject';
  if (!v6) {
    const ip = parseIpv4(addr);
    if (ip === undefined) return { ok: false, reason: `"${addr}" is not an IPv4 address: ${addressProblem(addr, 4)}` };
    const base = (ip & ipv4Mask(prefix)) >>> 0;
    if (base !== ip && reject) return { ok: false, reason: `host bits are set; did you mean ${formatIpv4(base)}/${prefix}?` };
    return { ok: true, cidr: { version: 4, base, prefix } };
  }
  const words = parseIpv6(addr);
  if (!words) return { ok: false, reason: `"${addr}" is not an IPv6 address: ${addressProblem(addr, 6)}` };
  let hostBits = false;
  for (let i = 0; i < 4; i++) {
    const w = (words[i] & wordMask(prefix, i)) >>> 0;
    if (w !== words[i]) hostBits = true;
    words[i] = w;
  }
  if (hostBits && reject) return { ok: false, reason: `host bits are set; did you mean ${formatIpv6(words)}/${prefix}?` };
  return { ok: true, cidr: { version: 6, words, prefix } };
}

/** The part of an IPv6 prefix's mask that falls in word `i`. */
function wordMask(prefix: number, i: number): number {
  return ipv4Mask(Math.max(0, Math.min(32, prefix - 32 * i)));
}

/** True when every address of `inner` lies in `outer`; blocks of different families never contain each other. */
export function cidrContains(outer: IpCidr, inner: IpCidr): boolean {
  if (inner.prefix < outer.prefix) return false;
  if (outer.version === 4) return inner.version === 4 && ((outer.base ^ inner.base) & ipv4Mask(outer.prefix)) === 0;
  if (inner.version !== 6) return false;
  for (let i = 0; i < 4; i++) if (((outer.words[i] ^ inner.words[i]) & wordMask(outer.prefix, i)) !== 0) return false;
  return true;
}

/** Canonical text: `a.b.c.d/n`, or RFC 5952 IPv6 with `/n`. */
export function formatCidr(c: IpCidr | Ipv4Cidr): string {
  return 'words' in c ? `${formatIpv6(c.words)}/${c.prefix}` : `${formatIpv4(c.base)}/${c.prefix}`;
}
