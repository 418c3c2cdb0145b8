/** `flowtap taps` and `flowtap explain-tap`: compile monitoring policies into FlowTap contracts. */
import { readFileSync } from 'node:fs';
import { readPolicies } from '../../controller/index.js';
import { flowToNft, renderNftTaps, renderOpenFlow } from '../../dataplane/index.js';
import { diag, formatLocation, FlowtapError } from '../../diagnostics/index.js';
import {
  compileTaps,
  formatContract,
  matchesPacket,
  parsePacketSpec,
  printPacket,
  type CompiledTaps,
  type Placement,
} from '../../flowtap/index.js';
import type { Addressing, App } from '../../model/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';
import type { Strategy, TapsFormat } from '../options.js';

export interface TapsOptions {
  /** At least one (commander insists). */
  policy: string[];
  strategy: Strategy;
  format: TapsFormat;
  /** JSON file: instance -> expected Mbit/s (measured statistics). */
  loads?: string;
  /** JSON file: an earlier `flowtap taps --json` output (or its placement) to re-place from. */
  previous?: string;
  /** Same as `format: 'json'`. */
  json?: boolean;
}

export interface ExplainTapOptions {
  policy: string[];
  strategy: Strategy;
  packet: string;
  json?: boolean;
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FlowtapError(diag(CliCode.INPUT, `cannot read ${what} from ${file}: ${(e as Error).message}`, { file }));
  }
}

function readLoads(file: string): Record<string, number> {
  const doc = readJson(file, 'loads');
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || Object.values(doc).some((v) => typeof v !== 'number' || !(v >= 0)))
    throw new FlowtapError(diag(CliCode.INPUT, 'loads must be a JSON object of instance name -> Mbit/s (a number >= 0)', { file }));
  return doc as Record<string, number>;
}

export function compileFromCli(
  appArg: string,
  policy: string[],
  strategy: Strategy,
  more: { loads?: string; previous?: string } = {},
): { app: App; addressing: Addressing; compiled: CompiledTaps } {
  const { app, addressing } = loadAppArg(appArg);
  const loads = more.loads ? readLoads(more.loads) : undefined;
  const prev = more.previous ? (readJson(more.previous, 'the previous placement') as { placement?: Placement } & Placement) : undefined;
  const previous = prev ? (prev.placement ?? prev) : undefined;
  const compiled = need(
    compileTaps(app, addressing, readPolicies(policy), { strategy, ...(loads ? { loads } : {}), ...(previous ? { previous } : {}) }),
  );
  return { app, addressing, compiled };
}

/** OpenFlow port numbers in descriptor order: instances first, then monitors. */
function ofPorts(app: App, addressing: Addressing): { ports: Record<string, number>; macs: Record<string, string> } {
  const ports: Record<string, number> = {};
  const macs: Record<string, string> = {};
  let n = 1;
  for (const i of app.instances) {
    ports[i.name] = n++;
    macs[i.name] = addressing.instances[i.name].mac;
  }
  for (const m of app.monitors) ports[m.name] = n++;
  return { ports, macs };
}

export function cmdTaps(io: Io, appArg: string, o: TapsOptions): number {
  const { app, addressing, compiled } = compileFromCli(appArg, o.policy, o.strategy, { loads: o.loads, previous: o.previous });
  const format = o.json ? 'json' : o.format;
  switch (format) {
    case 'json':
      io.out(JSON.stringify(compiled, null, 2));
      return EXIT_OK;
    case 'nft':
      for (const node of app.nodes) {
        io.out(`# flowtap taps for ${app.tenant}/${app.name}, node ${node.name}`);
        io.out(need(renderNftTaps(compiled.contracts, app, addressing, node.name, { inline: true })));
      }
      return EXIT_OK;
    case 'ovs':
      io.out([need(renderOpenFlow(compiled.contracts, ofPorts(app, addressing))).script].flat().join('\n'));
      return EXIT_OK;
    case 'text':
      for (const c of compiled.contracts) io.out(`${formatContract(c, { details: true })}  # ${c.id}`);
      if (compiled.placement)
        io.out(
          `placement: ${compiled.placement.assignments.length} assignments, cross-node share ${(compiled.placement.crossNodeShare * 100).toFixed(1)}%, ` +
            `monitor load ${Object.entries(compiled.placement.monitorLoad)
              .map(([m, l]) => `${m}=${l}`)
              .join(' ')}`,
        );
      if (o.previous) {
        io.out(`re-placement: ${compiled.moved.length} flow group(s) moved`);
        for (const m of compiled.moved) io.out(`  moved ${m.flow} (${m.load} Mbit/s): ${m.from} -> ${m.to ?? 'nowhere (unplaced)'}`);
      }
      return EXIT_OK;
  }
}

/** Which policy rule produced which contract, and which rendered rule matches the packet. Applies nothing. */
export function cmdExplainTap(io: Io, appArg: string, o: ExplainTapOptions): number {
  const { app, addressing, compiled } = compileFromCli(appArg, o.policy, o.strategy);
  const pkt = need(parsePacketSpec(o.packet, { field: '--packet' }));
  const hits = compiled.contracts.filter((c) => matchesPacket(c.flow, pkt));
  const rendered = new Map<string, string[]>();
  for (const node of app.nodes) {
    const text = need(renderNftTaps(compiled.contracts, app, addressing, node.name, { inline: true }));
    let chain = '';
    for (const line of text.split('\n')) {
      const m = /^\s*chain (\S+) \{/.exec(line);
      if (m) chain = m[1];
      const id = /comment "([^"]+)"/.exec(line)?.[1];
      if (id) rendered.set(id, [...(rendered.get(id) ?? []), `${node.name} ${chain}: ${line.trim()}`]);
    }
  }
  const result = hits.map((c) => ({
    contract: formatContract(c, { details: true }),
    id: c.id,
    origin: c.origin?.policyFile ? formatLocation({ file: c.origin.policyFile, line: c.origin.line }) : undefined,
    monitor: c.dst,
    derivation: compiled.derivations[c.id],
    nft: rendered.get(c.id) ?? [],
    nftMatch: flowToNft(c.flow, 'nftables-netdev').ok ? (flowToNft(c.flow, 'nftables-netdev') as { value: string }).value : undefined,
  }));
  if (o.json) {
    io.out(JSON.stringify({ packet: printPacket(pkt), matches: result }, null, 2));
    return EXIT_OK;
  }
  io.out(`packet ${printPacket(pkt)}: ${hits.length} of ${compiled.contracts.length} contracts match (dry run, nothing applied)`);
  for (const r of result) {
    io.out(`- ${r.contract}  [${r.id}]${r.origin ? ` from ${r.origin}` : ''}`);
    for (const n of r.nft) io.out(`  rendered: ${n}`);
    for (const l of (r.derivation ?? '').split('\n')) if (l) io.out(`  | ${l}`);
  }
  return EXIT_OK;
}
