/**
 * Open vSwitch as an oracle for flowtap's flow syntax: a generator of matches over every field
 * both know (valid ones and the invalid kinds OVS must refuse or alter), a batch runner for
 * `ovs-ofctl parse-flows`, and the verdict that compares the two.
 *
 * The protocol is forced to NXM (`-F nxm`): it carries every field flowtap supports bit for bit
 * (vlan_tci with any mask among them), while OpenFlow 1.2+ maps vlan_tci onto VLAN_VID/PCP and
 * silently loses masks it cannot express, and OpenFlow 1.0 drops whatever it lacks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SHORTHANDS, type FlowtapExtension } from '../src/flowtap/flow/index.js';
import { parseFlow, printFlow } from '../src/flowtap/index.js';
import type { Rng } from '../src/random/index.js';

const run = promisify(execFile);

export const OVS_OFCTL = process.env.FLOWTAP_OVS_OFCTL || 'ovs-ofctl';

// ---------------------------------------------------------------------------------------------
// Generator

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];
const chance = (r: Rng, p: number) => r() < p;
const hex = (n: number | bigint) => '0x' + n.toString(16);

/** A random number of `bits` bits, biased to small values, zero and all ones. */
function bigValue(r: Rng, bits: number): bigint {
  const full = (1n << BigInt(bits)) - 1n;
  switch (int(r, 5)) {
    case 0:
      return 0n;
    case 1:
      return full;
    case 2:
      return BigInt(int(r, 256)) & full;
    default: {
      let v = 0n;
      for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(int(r, 0x10000));
      return v & full;
    }
  }
}

/** A mask over `bits` bits: a prefix, an arbitrary pattern, a single bit, zero or all ones. */
function bigMask(r: Rng, bits: number): bigint {
  const full = (1n << BigInt(bits)) - 1n;
  switch (int(r, 6)) {
    case 0:
      return 0n;
    case 1:
      return full;
    case 2: {
      const len = BigInt(int(r, bits + 1));
      return (full << (BigInt(bits) - len)) & full;
    }
    case 3:
      return 1n << BigInt(int(r, bits));
    default:
      return bigValue(r, bits);
  }
}

/** A number in decimal or hex, as OVS reads both. */
function num(r: Rng, v: number | bigint): string {
  return chance(r, 0.5) ? v.toString() : hex(v);
}

/** `value` or `value/mask` for a maskable integer field of `bits` bits. */
function maskedInt(r: Rng, bits: number, maskP = 0.5): string {
  const v = bigValue(r, bits);
  if (!chance(r, maskP)) return num(r, v);
  return `${num(r, v)}/${hex(bigMask(r, bits))}`;
}

/** An exact-only field: a value, now and then with the two masks OVS takes (all ones, zero). */
function exactInt(r: Rng, max: number, bytes: number): string {
  const v = int(r, max + 1);
  if (chance(r, 0.1)) return `${v}/${hex(2 ** (8 * bytes) - 1)}`;
  if (chance(r, 0.03)) return `${v}/0`;
  return num(r, v);
}

function ipv4(r: Rng): string {
  if (chance(r, 0.3)) return pick(r, ['10.0.0.1', '192.168.1.0', '0.0.0.0', '255.255.255.255']);
  return [int(r, 256), int(r, 256), int(r, 256), int(r, 256)].join('.');
}

function ipv4Masked(r: Rng): string {
  const a = ipv4(r);
  switch (int(r, 4)) {
    case 0:
      return a;
    case 1:
      return `${a}/${int(r, 33)}`;
    case 2:
      return `${a}/${ipv4(r)}`;
    default:
      return `${a}/${pick(r, ['255.255.255.0', '255.0.0.0', '255.255.255.255', '0.0.0.0'])}`;
  }
}

function ipv6(r: Rng): string {
  const groups = Array.from({ length: 8 }, () => (chance(r, 0.4) ? 0 : int(r, 0x10000)).toString(16));
  if (chance(r, 0.2)) return pick(r, ['::1', '::', '2001:db8::1', 'fe80::1', '::ffff:10.0.0.1', '::a00:1', '::1:0:0']);
  return groups.join(':');
}

function ipv6Masked(r: Rng): string {
  const a = ipv6(r);
  switch (int(r, 4)) {
    case 0:
      return a;
    case 1:
      return `${a}/${int(r, 129)}`;
    case 2:
      return `${a}/${ipv6(r)}`;
    default:
      return `${a}/${pick(r, ['ffff:ffff::', 'ffff::', '::'])}`;
  }
}

function mac(r: Rng): string {
  return Array.from({ length: 6 }, () =>
    int(r, 256)
      .toString(16)
      .padStart(chance(r, 0.8) ? 2 : 1, '0'),
  ).join(':');
}

function macMasked(r: Rng): string {
  if (!chance(r, 0.4)) return mac(r);
  const m = pick(r, ['ff:ff:ff:ff:ff:ff', 'ff:ff:ff:00:00:00', '01:00:00:00:00:00', '00:00:00:00:00:00', 'fe:ff:ff:ff:ff:ff']);
  return `${mac(r)}/${chance(r, 0.5) ? m : mac(r)}`;
}

const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns'];
const CT_FLAGS = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'];

/** `+a-b`, `a|b`, a number, or value/mask, over the given flag names (distinct, as OVS wants). */
function flags(r: Rng, names: readonly string[], bits: number): string {
  const chosen = names.filter(() => chance(r, 0.25));
  if (chosen.length === 0) chosen.push(pick(r, names));
  switch (int(r, 4)) {
    case 0:
      return chosen.map((n) => (chance(r, 0.5) ? '+' : '-') + n).join('');
    case 1:
      return chosen.join('|');
    case 2:
      return hex(bigValue(r, bits));
    default:
      return `${hex(bigValue(r, bits))}/${hex(bigMask(r, bits))}`;
  }
}

/** What a generated flow claims to be, so the report can say what was covered. */
export type FlowKind = 'valid-looking' | 'invalid' | 'extension';

export interface GeneratedFlow {
  text: string;
  kind: FlowKind;
  /** For kind 'extension': which of flowtap's extensions it uses. */
  extension?: FlowtapExtension;
  /** Field names used, for coverage. */
  fields: string[];
}

/** One element generator: the field name(s) it may use and a value (valid, or deliberately not). */
interface FieldGen {
  /** The underlying field, so one flow never names it twice (OVS keeps the last, flowtap intersects). */
  key: string;
  names: readonly string[];
  valid: (r: Rng) => string;
  invalid: (r: Rng) => string;
}

const g = (key: string, names: readonly string[], valid: (r: Rng) => string, invalid: (r: Rng) => string): FieldGen => ({
  key,
  names,
  valid,
  invalid,
});

const PORT_NAMES = ['LOCAL', 'local', 'CONTROLLER', 'IN_PORT', 'NORMAL', 'FLOOD', 'ALL', 'TABLE', 'ANY', 'NONE'];

const GENS: readonly FieldGen[] = [
  g(
    'in_port',
    ['in_port'],
    (r) => (chance(r, 0.2) ? pick(r, PORT_NAMES) : String(chance(r, 0.1) ? 65280 + int(r, 256) : int(r, 65280))),
    (r) => pick(r, [hex(int(r, 100)), String(65536 + int(r, 100000)), `${int(r, 100)}/1`, 'nowhere']),
  ),
  g('dl_src', ['dl_src', 'eth_src'], macMasked, (r) => pick(r, ['01:02:03:04:05', '01:02:03:04:05:06:07', 'zz:00:00:00:00:00'])),
  g('dl_dst', ['dl_dst', 'eth_dst'], macMasked, (r) => pick(r, ['01:02:03:04:05', `${mac(r)}/ff:ff`])),
  g(
    'vlan_tci',
    ['vlan_tci'],
    (r) => {
      const present = chance(r, 0.6) ? 0x1000 : 0;
      const value = (int(r, 0x10000) & ~0x1000) | present;
      if (chance(r, 0.3)) return hex(value);
      const mask = pick(r, [0x1000, 0x1fff, 0xefff, 0xffff, 0x0fff, 0xf000, 0xe000, int(r, 0x10000)]);
      return `${hex(value)}/${hex(mask)}`;
    },
    (r) => pick(r, ['0x10000', '0x1000/0x10000', 'tagged']),
  ),
  g(
    'dl_vlan',
    ['dl_vlan'],
    (r) => (chance(r, 0.15) ? '0xffff' : num(r, int(r, 4096))),
    (r) => String(4096 + int(r, 60000)),
  ),
  g(
    'dl_vlan_pcp',
    ['dl_vlan_pcp'],
    (r) => String(int(r, 8)),
    (r) => String(8 + int(r, 248)),
  ),
  g(
    'dl_type',
    ['dl_type', 'eth_type'],
    (r) => pick(r, ['0x0800', '0x86dd', '0x0806', '0x8035', '0x88cc', '0x8847', hex(int(r, 0x10000)), '2048']),
    (r) => pick(r, ['0x10000', '0x0800/0xff00', 'ipv4']),
  ),
  g('nw_src', ['nw_src', 'ip_src'], ipv4Masked, (r) => pick(r, [`${ipv4(r)}/33`, '10.0.0', '010.0.0.1', '10.0.0.1/255.255.0'])),
  g('nw_dst', ['nw_dst', 'ip_dst'], ipv4Masked, (r) => pick(r, [`${ipv4(r)}/40`, '1.2.3.256'])),
  g('ipv6_src', ['ipv6_src'], ipv6Masked, (r) => pick(r, [`${ipv6(r)}/129`, '1::2::3', 'g::1'])),
  g('ipv6_dst', ['ipv6_dst'], ipv6Masked, (r) => pick(r, [`${ipv6(r)}/200`, '::1::'])),
  g(
    'ipv6_label',
    ['ipv6_label'],
    (r) => maskedInt(r, 20),
    (r) => hex(0x100000 + int(r, 0xfffff)),
  ),
  g('nd_target', ['nd_target'], ipv6Masked, (r) => pick(r, ['1::2::3', `${ipv6(r)}/129`])),
  g('arp_spa', ['arp_spa'], ipv4Masked, (r) => pick(r, [`${ipv4(r)}/33`])),
  g('arp_tpa', ['arp_tpa'], ipv4Masked, (r) => pick(r, ['1.2.3'])),
  g('arp_sha', ['arp_sha'], macMasked, (r) => pick(r, ['1:2:3'])),
  g('arp_tha', ['arp_tha'], macMasked, (r) => pick(r, ['1:2:3:4:5:6:7'])),
  g(
    'arp_op',
    ['arp_op'],
    (r) => exactInt(r, 255, 2),
    (r) => pick(r, [String(256 + int(r, 65000)), '1/0xff', String(65536 + int(r, 10))]),
  ),
  g(
    'nw_proto',
    ['nw_proto', 'ip_proto'],
    (r) => exactInt(r, 255, 1),
    (r) => pick(r, [String(256 + int(r, 1000)), '6/0xf0']),
  ),
  g(
    'nw_tos',
    ['nw_tos'],
    (r) => (chance(r, 0.9) ? exactInt(r, 63, 1).replace(/^(0x)?[0-9a-f]+/, (v) => String(Number(v) * 4)) : String(int(r, 64) * 4)),
    (r) => pick(r, [String(int(r, 64) * 4 + 1 + int(r, 3)), String(256 + int(r, 100)), '4/0xfc']),
  ),
  g(
    'ip_dscp',
    ['ip_dscp'],
    (r) => String(int(r, 64)),
    (r) => String(64 + int(r, 192)),
  ),
  g(
    'nw_ecn',
    ['nw_ecn', 'ip_ecn'],
    (r) => exactInt(r, 3, 1),
    (r) => pick(r, [String(4 + int(r, 252)), '1/1', '256']),
  ),
  g(
    'nw_ttl',
    ['nw_ttl'],
    (r) => exactInt(r, 255, 1),
    (r) => pick(r, [String(256 + int(r, 100)), '1/1']),
  ),
  g(
    'ip_frag',
    ['ip_frag', 'nw_frag'],
    (r) => pick(r, ['no', 'yes', 'first', 'later', 'not_later']),
    (r) => pick(r, ['maybe', '0x1/0x1', '0/3', 'NO']),
  ),
  g(
    'tp_src',
    ['tp_src', 'tcp_src', 'udp_src', 'sctp_src'],
    (r) => maskedInt(r, 16, 0.3),
    (r) => pick(r, [String(65536 + int(r, 1000)), 'http', '0x10000/0xffff']),
  ),
  g(
    'tp_dst',
    ['tp_dst', 'tcp_dst', 'udp_dst', 'sctp_dst'],
    (r) => maskedInt(r, 16, 0.3),
    (r) => pick(r, [String(65536 + int(r, 1000)), '80/0x10000']),
  ),
  g(
    'tcp_flags',
    ['tcp_flags'],
    (r) => flags(r, TCP_FLAGS, 12),
    (r) => pick(r, ['+syn+syn', '+syn-syn', '+SYN', 'syn|ACK', '0x1000', '0x12/0x1000', '+foo']),
  ),
  g(
    'icmp_type',
    ['icmp_type', 'icmpv4_type', 'icmpv6_type'],
    (r) => (chance(r, 0.3) ? pick(r, ['135', '136', '8', '0']) : exactInt(r, 255, 1)),
    (r) => pick(r, [String(256 + int(r, 100)), '8/0xf']),
  ),
  g(
    'icmp_code',
    ['icmp_code', 'icmpv4_code', 'icmpv6_code'],
    (r) => (chance(r, 0.5) ? '0' : exactInt(r, 255, 1)),
    (r) => pick(r, [String(256 + int(r, 100))]),
  ),
  g(
    'tun_id',
    ['tun_id', 'tunnel_id'],
    (r) => maskedInt(r, 64),
    (r) => pick(r, ['0x10000000000000000', '1/0x10000000000000000', 'vni']),
  ),
  g('tun_src', ['tun_src'], ipv4Masked, (r) => pick(r, ['1.2.3.4/33'])),
  g('tun_dst', ['tun_dst'], ipv4Masked, (r) => pick(r, ['1.2.3.4.5'])),
  g(
    'metadata',
    ['metadata'],
    (r) => maskedInt(r, 64),
    (r) => pick(r, ['0x10000000000000000', 'meta']),
  ),
  ...Array.from({ length: 16 }, (_, i) =>
    g(
      `reg${i}`,
      [`reg${i}`],
      (r) => maskedInt(r, 32),
      (r) => pick(r, ['0x100000000', '1/0x100000000']),
    ),
  ),
  g(
    'reg16',
    ['reg16'],
    () => '1',
    () => '1',
  ),
  g(
    'ct_state',
    ['ct_state'],
    (r) => flags(r, CT_FLAGS, 8),
    (r) => pick(r, ['+trk+trk', '+trk-trk', 'NEW', '0x100', '+foo']),
  ),
  g(
    'ct_zone',
    ['ct_zone'],
    (r) => exactInt(r, 65535, 2),
    (r) => pick(r, ['65536', '5/0xff']),
  ),
  g(
    'ct_mark',
    ['ct_mark'],
    (r) => maskedInt(r, 32),
    (r) => pick(r, ['0x100000000']),
  ),
];

/** Protocol contexts: shorthands and explicit dl_type/nw_proto, the prerequisites most fields need. */
const CONTEXTS: ReadonlyArray<{ text: string; keys: string[] }> = [
  { text: '', keys: [] },
  ...['ip', 'ipv4', 'ipv6', 'ip6', 'arp', 'rarp', 'mpls'].map((s) => ({ text: s, keys: ['dl_type'] })),
  ...['tcp', 'udp', 'sctp', 'icmp', 'tcp6', 'udp6', 'sctp6', 'icmp6'].map((s) => ({ text: s, keys: ['dl_type', 'nw_proto'] })),
  { text: 'dl_type=0x0800,nw_proto=6', keys: ['dl_type', 'nw_proto'] },
  { text: 'eth_type=0x86dd,ip_proto=58', keys: ['dl_type', 'nw_proto'] },
  { text: 'icmp6,icmp_type=135', keys: ['dl_type', 'nw_proto', 'icmp_type'] },
  { text: 'icmp6,icmp_type=136,icmp_code=0', keys: ['dl_type', 'nw_proto', 'icmp_type', 'icmp_code'] },
];

/** Fields that make most sense after each context, to reach past the prerequisite checks often. */
const FITS: Record<string, readonly string[]> = {
  ip: ['nw_src', 'nw_dst', 'nw_proto', 'nw_tos', 'ip_dscp', 'nw_ecn', 'nw_ttl', 'ip_frag'],
  ipv6: ['ipv6_src', 'ipv6_dst', 'ipv6_label', 'nw_proto', 'nw_tos', 'nw_ecn', 'nw_ttl', 'ip_frag'],
  arp: ['arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha', 'arp_op', 'nw_src', 'nw_dst', 'nw_proto'],
  l4: ['tp_src', 'tp_dst', 'ip_frag', 'nw_tos', 'nw_ttl'],
  tcp: ['tp_src', 'tp_dst', 'tcp_flags', 'ip_frag'],
  icmp: ['icmp_type', 'icmp_code', 'ip_frag', 'nd_target'],
  nd: ['nd_target', 'ip_frag', 'ipv6_src'],
};

function fitting(ctx: string): readonly string[] {
  if (ctx.startsWith('icmp6,icmp_type')) return FITS.nd;
  if (ctx.includes('nw_proto=6') || /^tcp/.test(ctx)) return [...FITS.tcp, ...FITS.ip];
  if (/^(udp|sctp)/.test(ctx)) return FITS.l4;
  if (/^icmp/.test(ctx) || ctx.includes('ip_proto=58')) return FITS.icmp;
  if (/^(ipv6|ip6)/.test(ctx)) return FITS.ipv6;
  if (/^(ip|ipv4)/.test(ctx)) return FITS.ip;
  if (/^(arp|rarp)/.test(ctx)) return FITS.arp;
  return [];
}

const TWINS: Record<string, string> = {
  nw_src: 'arp_spa',
  arp_spa: 'nw_src',
  nw_dst: 'arp_tpa',
  arp_tpa: 'nw_dst',
  nw_proto: 'arp_op',
  arp_op: 'nw_proto',
  // ICMP's type and code live where the ports do.
  tp_src: 'icmp_type',
  icmp_type: 'tp_src',
  tp_dst: 'icmp_code',
  icmp_code: 'tp_dst',
};

const BY_KEY = new Map(GENS.map((x) => [x.key, x]));

const APP_SHORTHANDS = Object.keys(SHORTHANDS).filter((k) => SHORTHANDS[k].extension);

/** flowtap's extensions (fields.ts), generated a little: flowtap must take them; never compared. */
function extensionFlow(r: Rng): { text: string; extension: FlowtapExtension } {
  const lo = int(r, 60000);
  switch (int(r, 3)) {
    case 0:
      return { text: `${pick(r, ['tcp', 'udp6'])},${pick(r, ['tp_dst', 'tp_src'])}=${lo}-${lo + 1 + int(r, 5000)}`, extension: 'range' };
    case 1:
      return { text: pick(r, APP_SHORTHANDS), extension: 'app-shorthand' };
    default:
      return { text: `tcp,tp_dst=80,tp_dst=0x50/0xfff0`, extension: 'repeat' };
  }
}

/**
 * One random match: a protocol context, then one to five elements on distinct fields, valid in
 * form or (with probability `pInvalid` each) deliberately not.
 */
export function generateFlow(r: Rng, pInvalid = 0.07): GeneratedFlow {
  if (chance(r, 0.02)) return { ...extensionFlow(r), kind: 'extension', fields: [] };
  const ctx = pick(r, CONTEXTS);
  const used = new Set(ctx.keys);
  const parts = ctx.text ? [ctx.text] : [];
  const fields: string[] = [];
  let invalid = false;
  const fits = fitting(ctx.text);
  const count = 1 + int(r, 5);
  for (let i = 0; i < count; i++) {
    const gen = fits.length > 0 && chance(r, 0.6) ? BY_KEY.get(pick(r, fits))! : pick(r, GENS);
    // dl_vlan/dl_vlan_pcp/vlan_tci share the TCI; OVS applies them in order, flowtap intersects.
    const tci = gen.key === 'vlan_tci' || gen.key === 'dl_vlan' || gen.key === 'dl_vlan_pcp';
    // Under ARP, nw_src/nw_dst/nw_proto name the same fields as arp_spa/arp_tpa/arp_op.
    const twin = TWINS[gen.key];
    if (twin && used.has(twin)) continue;
    if (used.has(gen.key) || (tci && (used.has('vlan_tci') || used.has('dl_vlan_0xffff')))) continue;
    if (gen.key === 'vlan_tci' && (used.has('dl_vlan') || used.has('dl_vlan_pcp'))) continue;
    if ((gen.key === 'ip_dscp' && used.has('nw_tos')) || (gen.key === 'nw_tos' && used.has('ip_dscp'))) continue;
    if (gen.key === 'dl_type' && used.has('dl_type')) continue;
    used.add(gen.key);
    const bad = chance(r, pInvalid);
    invalid ||= bad;
    const name = pick(r, gen.names);
    let value = bad ? gen.invalid(r) : gen.valid(r);
    if (gen.key === 'dl_vlan' && value === '0xffff') {
      if (used.has('dl_vlan_pcp')) value = '1';
      else used.add('dl_vlan_0xffff');
    }
    if (gen.key === 'dl_vlan_pcp' && used.has('dl_vlan_0xffff')) continue;
    fields.push(name);
    parts.push(`${name}=${chance(r, 0.03) ? '*' : chance(r, 0.01) ? '' : value}`);
  }
  // Element order is free in both syntaxes; shuffle now and then to prove it.
  if (chance(r, 0.2)) parts.reverse();
  return { text: parts.join(','), kind: invalid || fields.includes('reg16') ? 'invalid' : 'valid-looking', fields };
}

// ---------------------------------------------------------------------------------------------
// Runner

export type OvsVerdict = { ok: true; canonical: string } | { ok: false; error: string };

const FLOW_MOD = /^NXT_FLOW_MOD \(xid=0x([0-9a-f]+)\): (.*)$/;

/** One run of `ovs-ofctl -F nxm parse-flows` over `matches`: stdout, or the line it stopped at. */
async function parseFlowsOnce(file: string, matches: readonly string[]): Promise<{ stdout: string } | { line: number; error: string }> {
  writeFileSync(file, matches.map((m) => (m ? `${m},actions=drop` : 'actions=drop')).join('\n') + '\n');
  try {
    const { stdout } = await run(OVS_OFCTL, ['-F', 'nxm', 'parse-flows', file], { maxBuffer: 1 << 28 });
    return { stdout };
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? e);
    const m = /flows\.txt:(\d+): (.*)/.exec(stderr);
    if (!m) throw new Error(`ovs-ofctl failed without naming a line: ${stderr}`);
    return { line: Number(m[1]) - 1, error: m[2].trim() };
  }
}

/**
 * Each match through `ovs-ofctl -F nxm parse-flows` (one process per flow would cost ~15 ms
 * each). A syntax error stops the whole file at its line: that flow is recorded as refused,
 * the lines before it are kept, and the rest goes through again; at the end all the kept flows
 * run once more for their printed form. Errors found decoding (bad prerequisites, bad values)
 * are printed per flow and do not stop the file.
 */
async function ovsParseBatch(matches: readonly string[]): Promise<{ verdicts: OvsVerdict[]; invocations: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-ovs-'));
  const file = join(dir, 'flows.txt');
  const verdicts: OvsVerdict[] = new Array(matches.length);
  let invocations = 0;
  try {
    const kept: number[] = [];
    let rest = matches.map((_, i) => i);
    while (rest.length > 0) {
      invocations++;
      const r = await parseFlowsOnce(
        file,
        rest.map((i) => matches[i]),
      );
      if ('stdout' in r) {
        kept.push(...rest);
        break;
      }
      kept.push(...rest.slice(0, r.line));
      verdicts[rest[r.line]] = { ok: false, error: r.error };
      rest = rest.slice(r.line + 1);
    }
    if (kept.length > 0) {
      invocations++;
      const r = await parseFlowsOnce(
        file,
        kept.map((i) => matches[i]),
      );
      if (!('stdout' in r)) throw new Error(`ovs-ofctl refused a flow it parsed before: ${r.error}`);
      let printed = 0;
      for (const l of r.stdout.split('\n')) {
        const m = FLOW_MOD.exec(l);
        if (!m) continue;
        const i = kept[parseInt(m[1], 16) - 1];
        printed++;
        const body = m[2];
        if (body.startsWith('***decode error')) verdicts[i] = { ok: false, error: body.replace(/\*/g, '') };
        else verdicts[i] = { ok: true, canonical: body.replace(/^ADD ?/, '').replace(/ ?actions=drop$/, '') };
      }
      if (printed !== kept.length) throw new Error(`ovs-ofctl printed ${printed} flows for ${kept.length}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { verdicts, invocations };
}

/** ovsParse over chunks, two at a time (a syntax error costs a run of the rest of its chunk). */
export async function ovsParse(matches: readonly string[], chunk = 400): Promise<{ verdicts: OvsVerdict[]; invocations: number }> {
  const chunks: string[][] = [];
  for (let i = 0; i < matches.length; i += chunk) chunks.push(matches.slice(i, i + chunk));
  const verdicts: OvsVerdict[] = [];
  let invocations = 0;
  for (let i = 0; i < chunks.length; i += 2) {
    const done = await Promise.all(chunks.slice(i, i + 2).map((c) => ovsParseBatch(c)));
    for (const d of done) {
      verdicts.push(...d.verdicts);
      invocations += d.invocations;
    }
  }
  return { verdicts, invocations };
}

// ---------------------------------------------------------------------------------------------
// Verdict

/** The names OVS may print an element under (aliases, shared storage, the TCI's two spellings). */
function printNames(name: string): string[] {
  const alias: Record<string, string[]> = {
    eth_src: ['dl_src'],
    eth_dst: ['dl_dst'],
    ip_src: ['nw_src'],
    ip_dst: ['nw_dst'],
    nw_src: ['nw_src', 'arp_spa'],
    nw_dst: ['nw_dst', 'arp_tpa'],
    ip_proto: ['nw_proto'],
    nw_proto: ['nw_proto', 'arp_op'],
    ip_dscp: ['nw_tos'],
    ip_ecn: ['nw_ecn'],
    ip_frag: ['nw_frag'],
    nw_frag: ['nw_frag'],
    tunnel_id: ['tun_id'],
    dl_vlan: ['dl_vlan', 'vlan_tci'],
    dl_vlan_pcp: ['dl_vlan_pcp', 'vlan_tci'],
  };
  if (alias[name]) return alias[name];
  const m = /^(tcp|udp|sctp)_(src|dst)$/.exec(name);
  if (m) return [`tp_${m[2]}`];
  const i = /^icmpv[46]_(type|code)$/.exec(name);
  if (i) return [`icmp_${i[1]}`];
  return [name];
}

/** Names OVS reads by where the value is stored, not by the protocol the name belongs to. */
const STORAGE_ALIASES = new Set([
  'tcp_src',
  'tcp_dst',
  'udp_src',
  'udp_dst',
  'sctp_src',
  'sctp_dst',
  'icmpv4_type',
  'icmpv4_code',
  'icmpv6_type',
  'icmpv6_code',
  'ip_src',
  'ip_dst',
  'arp_spa',
  'arp_tpa',
  'arp_op',
]);

function elementsOf(text: string): Array<{ name: string; value: string | undefined; start: number; end: number }> {
  const out: Array<{ name: string; value: string | undefined; start: number; end: number }> = [];
  const re = /[^,\s]+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const eq = m[0].indexOf('=');
    out.push({
      name: eq < 0 ? m[0] : m[0].slice(0, eq),
      value: eq < 0 ? undefined : m[0].slice(eq + 1),
      start: m.index,
      end: m.index + m[0].length,
    });
  }
  return out;
}

/**
 * Address spellings OVS's scanf-based readers take and src/net refuses on purpose: IPv4 octets
 * with leading zeros or above 255 (OVS wraps them), MAC groups of three digits (OVS keeps the
 * low byte).
 */
function scanfLenient(value: string): boolean {
  const [addr] = value.split('/');
  const octets = addr.split('.');
  if (octets.length === 4 && octets.every((o) => /^[0-9]+$/.test(o)))
    return octets.some((o) => (o.length > 1 && o.startsWith('0')) || Number(o) > 255);
  const groups = addr.split(':');
  return groups.length === 6 && groups.every((x) => /^[0-9a-f]+$/i.test(x)) && groups.some((x) => x.length > 2);
}

function printedValues(canonical: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of elementsOf(canonical)) if (e.value !== undefined) out.set(e.name, e.value);
  return out;
}

/** Why flowtap refuses what OVS took: the `strict` extension, in one of its forms. */
export type Excuse = 'prereq-dropped' | 'storage-alias' | 'value-altered' | 'empty-value';

export type Comparison =
  | { outcome: 'agree-accept' | 'agree-reject' | 'extension' }
  | { outcome: 'stricter'; excuse: Excuse }
  | { outcome: 'disagree'; detail: string };

/**
 * flowtap against OVS on one match. Where OVS accepts and flowtap refuses, every flowtap error
 * must be one the `strict` extension explains, and OVS's own output must show it: the element
 * is gone from OVS's canonical form (a dropped prerequisite), OVS read it by storage under
 * another protocol's name, or OVS printed a different value than the one written.
 */
export function compare(flow: GeneratedFlow, ovs: OvsVerdict): Comparison {
  if (flow.kind === 'extension') return { outcome: 'extension' };
  const ft = parseFlow(flow.text);
  if (ft.ok && ovs.ok) {
    const mine = printFlow(ft.value);
    return mine === ovs.canonical
      ? { outcome: 'agree-accept' }
      : { outcome: 'disagree', detail: `flowtap prints ${JSON.stringify(mine)}, OVS ${JSON.stringify(ovs.canonical)}` };
  }
  if (!ft.ok && !ovs.ok) return { outcome: 'agree-reject' };
  if (ft.ok && !ovs.ok) return { outcome: 'disagree', detail: `flowtap accepts (${printFlow(ft.value)}), OVS refuses: ${ovs.error}` };
  if (ft.ok || !ovs.ok) throw new Error('unreachable');
  const printed = printedValues(ovs.canonical);
  const elements = elementsOf(flow.text);
  let excuse: Excuse | undefined;
  for (const err of ft.errors) {
    const at = (err.loc?.col ?? 1) - 1;
    // An empty value is reported just past its element, so the end is inclusive.
    const el = elements.find((e) => at >= e.start && at <= e.end);
    const names = el ? printNames(el.name) : [];
    const gone = names.every((n) => !printed.has(n));
    let why: Excuse | undefined;
    if (el && err.code === 'E_FLOW_PREREQ' && gone) why = 'prereq-dropped';
    else if (el && err.code === 'E_FLOW_PREREQ' && STORAGE_ALIASES.has(el.name)) why = 'storage-alias';
    else if (el && err.code === 'E_FLOW_OUT_OF_RANGE' && (gone || names.every((n) => printed.get(n) !== el.value))) why = 'value-altered';
    // OVS reads `field=` as `field=0/0`, any value: flowtap wants the `*` that says so.
    else if (el && err.code === 'E_FLOW_BAD_VALUE' && el.value === '' && gone) why = 'empty-value';
    else if (el && err.code === 'E_FLOW_BAD_VALUE' && scanfLenient(el.value ?? '') && names.every((n) => printed.get(n) !== el.value))
      why = 'value-altered';
    if (!why) {
      return {
        outcome: 'disagree',
        detail: `flowtap refuses (${err.code}: ${err.message}), OVS accepts as ${JSON.stringify(ovs.canonical)}`,
      };
    }
    excuse ??= why;
  }
  return { outcome: 'stricter', excuse: excuse ?? 'value-altered' };
}
