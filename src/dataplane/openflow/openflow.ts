/**
 * Renders FlowTap contracts to OpenFlow flows in `ovs-ofctl` syntax (Open vSwitch, OpenFlow 1.5
 * with Nicira extensions).
 *
 * Pipeline (three tables, T0 = `table`, T1 = `table + 1` and T2 = `table + 2` for budgeted copies):
 * - T0 holds egress taps (packets a tapped port sends: `in_port=SRC`). A forward outputs a copy
 *   to its monitor and continues to T1; a redirect outputs to its monitor only.
 * - T1 holds ingress taps (packets delivered to a tapped port). OpenFlow cannot match the port a
 *   packet will leave by, so they match `dl_dst=<MAC of SRC>`; that MAC must be supplied (and
 *   broadcast or multicast frames reaching the port are therefore not tapped on ingress).
 *   Forwards copy and then switch the packet normally (NORMAL); a redirect outputs to its
 *   monitor only.
 * - Packets coming back from an inline (redirect) monitor skip both tables: re-injected traffic
 *   is switched normally and is not tapped again.
 * Where contracts overlap, each non-empty intersection gets its own flow with all their actions
 * (copies first, then the diversion), at a priority that grows with the number of contracts
 * combined, so the most specific combination wins (see openflow-cells.ts).
 *
 * flowtap's port ranges become several flows with bitwise port matches (OVS's recipe). Budgets
 * become OpenFlow meters that drop the excess of the tapped copy. Open vSwitch refuses a meter
 * inside `clone`, so a budgeted forward clones into T2 (`clone(load:N->NXM_NX_REG3[],resubmit(,T2))`),
 * where one flow per budget (`reg3=N`) meters and outputs the copy; a redirect meters in place
 * (`meter:N,output:M`). `failMode=open` becomes a fast-failover group
 * that falls back to normal forwarding when the monitor's port is down (Open vSwitch wants a port
 * watched in every bucket: the fallback watches the tapped port, up whenever it has traffic). Sampling has no OpenFlow
 * equivalent that delivers to a port (OVS's `sample` action exports to IPFIX/sFlow collectors),
 * so a sample option is an E_BACKEND_UNSUPPORTED error naming the option and this backend.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import {
  checkOverlaps,
  contractLocation,
  describeContract,
  formatContract,
  intersect,
  parseFlow,
  pipelineFields,
  portToMasks,
  printFlow,
  type FlowMatch,
  type FlowTap,
  type Masked,
  type PortMatch,
} from '../../flowtap/index.js';
import { overlapCells } from './cells.js';

const OPENFLOW_BACKEND = 'openflow';

export interface OpenFlowOptions {
  /** Bridge the commands address; default `br-int`. */
  bridge?: string;
  /** Port name (instance attachment or monitor) -> OpenFlow port number. */
  ports: Record<string, number>;
  /** Port name -> MAC address; needed for the SRC of every ingress (or both) contract. */
  macs?: Record<string, string>;
  /** First of the three tables used; default 0. */
  table?: number;
  /** Priority of a flow implementing one contract; n overlapping contracts get base + n - 1. Default 100. */
  basePriority?: number;
  /** Id of the first meter (budgets) and group (fail-open); default 1. */
  firstMeter?: number;
  firstGroup?: number;
  /** Cookie on every flow, so that flowtap's flows can be found and deleted; default 0xf10a7a9. */
  cookie?: number;
  /** Most flows the rendering may produce; default 10000. */
  maxFlows?: number;
}

interface OpenFlowEntry {
  table: number;
  priority: number;
  match: FlowMatch;
  actions: string;
  /** Ids of the contracts this flow implements; empty for the pipeline's own flows. */
  contracts: string[];
  /** The flow as `ovs-ofctl add-flow` takes it. */
  text: string;
}

interface OpenFlowMeter {
  id: number;
  contract: string;
  /** As `ovs-ofctl add-meter` takes it. */
  text: string;
}

interface OpenFlowGroup {
  id: number;
  text: string;
}

export interface OpenFlowRules {
  bridge: string;
  flows: OpenFlowEntry[];
  meters: OpenFlowMeter[];
  groups: OpenFlowGroup[];
  /** Shell lines (with # comments) that install everything: meters, groups, then flows. */
  script: string[];
}

/** Priority of the flows that let traffic re-injected by inline monitors bypass the taps. */
export const OPENFLOW_BYPASS_PRIORITY = 65000;

interface Piece {
  contract: FlowTap;
  side: 'egress' | 'ingress';
  /** in_port number (egress) or MAC text (ingress): pieces with different keys never overlap. */
  key: string;
  match: FlowMatch;
}

interface Settings {
  bridge: string;
  t0: number;
  t1: number;
  t2: number;
  base: number;
  cookie: string;
  maxFlows: number;
}

function checkOptions(opts: OpenFlowOptions): Result<Settings> {
  const errs: Diagnostic[] = [];
  const bad = (m: string) => errs.push(diag('E_OPENFLOW_OPTIONS', m));
  const bridge = opts.bridge ?? 'br-int';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) bad(`bridge name ${JSON.stringify(bridge)} is not a valid interface name`);
  const table = opts.table ?? 0;
  if (!Number.isInteger(table) || table < 0 || table > 252)
    bad(`table ${table} must be a whole number from 0 to 252 (three tables are used)`);
  const base = opts.basePriority ?? 100;
  if (!Number.isInteger(base) || base < 1 || base >= OPENFLOW_BYPASS_PRIORITY)
    bad(`basePriority ${base} must be a whole number from 1 to ${OPENFLOW_BYPASS_PRIORITY - 1}`);
  for (const [name, n] of Object.entries(opts.ports)) {
    if (!Number.isInteger(n) || n < 1 || n > 0xfeff)
      bad(`port ${name} has OpenFlow port number ${n}; it must be a whole number from 1 to 65279`);
  }
  const cookie = opts.cookie ?? 0xf10a7a9;
  if (!Number.isSafeInteger(cookie) || cookie < 0) bad(`cookie ${cookie} must be a non-negative whole number`);
  if (errs.length > 0) return fail(errs);
  return ok({
    bridge,
    t0: table,
    t1: table + 1,
    t2: table + 2,
    base,
    cookie: '0x' + cookie.toString(16),
    maxFlows: opts.maxFlows ?? 10000,
  });
}

/** A meter for a contract's budget, or a diagnostic when the budget is not expressible. */
function meterFor(c: FlowTap, id: number): OpenFlowMeter | Diagnostic | undefined {
  const b = c.options?.budget;
  if (!b) return undefined;
  const where = contractLocation(c);
  if (c.action === 'redirect' && c.options?.failMode === 'open') {
    return diag(
      'E_BACKEND_UNSUPPORTED',
      `${describeContract(c)}: option budget with failMode=open cannot be expressed by the ${OPENFLOW_BACKEND} backend: an OpenFlow meter can only drop the excess, which is failing closed`,
      where,
    );
  }
  // Round down so the meter never lets through more than the budget.
  const rate = b.unit === 'pps' ? Math.floor(b.rate) : Math.floor(b.rate / 1000);
  if (rate < 1) {
    const unit = b.unit === 'pps' ? '1 packet/s' : '1 kbit/s (1000 bps)';
    return diag(
      'E_BACKEND_UNSUPPORTED',
      `${describeContract(c)}: option budget of ${b.rate} ${b.unit} cannot be expressed by the ${OPENFLOW_BACKEND} backend: OpenFlow meters count in whole units of at least ${unit}`,
      where,
    );
  }
  return { id, contract: c.id, text: `meter=${id},${b.unit === 'pps' ? 'pktps' : 'kbps'},band=type=drop,rate=${rate}` };
}

/** The contract's flow restricted to each side it taps, or diagnostics explaining why not. */
function piecesOf(c: FlowTap, opts: OpenFlowOptions): Piece[] | Diagnostic[] {
  const where = contractLocation(c);
  const name = describeContract(c);
  const errs: Diagnostic[] = [];
  const srcPort = Object.hasOwn(opts.ports, c.src) ? opts.ports[c.src] : undefined;
  if (srcPort === undefined) errs.push(diag('E_OPENFLOW_PORT', `${name}: source port ${c.src} has no OpenFlow port number`, where));
  if (!Object.hasOwn(opts.ports, c.dst))
    errs.push(diag('E_OPENFLOW_PORT', `${name}: monitor port ${c.dst} has no OpenFlow port number`, where));
  for (const f of pipelineFields(c.flow)) {
    errs.push(
      diag(
        'E_BACKEND_UNSUPPORTED',
        `${name}: ${f} cannot be expressed by the ${OPENFLOW_BACKEND} backend: its own pipeline sets the registers, metadata and conntrack state a tap would match`,
        where,
      ),
    );
  }
  const sample = c.options?.sample;
  if (sample && sample.every !== 1) {
    errs.push(
      diag(
        'E_BACKEND_UNSUPPORTED',
        `${name}: option sample (1 in ${sample.every} ${sample.unit}s) cannot be expressed by the ${OPENFLOW_BACKEND} backend: ` +
          `OpenFlow's sample action exports to IPFIX/sFlow collectors, not to a monitor port; drop the option or use a backend that samples`,
        where,
      ),
    );
  }
  const pieces: Piece[] = [];
  if (c.direction !== 'ingress' && srcPort !== undefined) {
    const m = intersect(c.flow, { in_port: { value: srcPort, mask: 0xffff } });
    if (m) pieces.push({ contract: c, side: 'egress', key: String(srcPort), match: m });
  }
  if (c.direction !== 'egress') {
    const mac = opts.macs && Object.hasOwn(opts.macs, c.src) ? opts.macs[c.src] : undefined;
    const dl = mac === undefined ? undefined : parseFlow(`dl_dst=${mac}`);
    if (mac === undefined) {
      errs.push(
        diag(
          'E_BACKEND_UNSUPPORTED',
          `${name}: direction ${c.direction} cannot be expressed by the ${OPENFLOW_BACKEND} backend without the MAC address of ${c.src}: ` +
            `OpenFlow cannot match the port a packet leaves by, so ingress taps match dl_dst`,
          where,
        ),
      );
    } else if (!dl?.ok) {
      errs.push(
        diag('E_OPENFLOW_PORT', `${name}: MAC address ${JSON.stringify(mac)} of port ${c.src} is not of the form xx:xx:xx:xx:xx:xx`, where),
      );
    } else {
      const m = intersect(c.flow, dl.value);
      if (m) pieces.push({ contract: c, side: 'ingress', key: printFlow(dl.value), match: m });
    }
  }
  if (errs.length > 0) return errs;
  if (pieces.length === 0) {
    return [
      diag(
        'E_OPENFLOW_NEVER_MATCHES',
        `${name}: the flow never matches traffic of port ${c.src} (its in_port or dl_dst excludes the port itself), so the contract would tap nothing`,
        where,
      ),
    ];
  }
  return pieces;
}

/** The match with flowtap's port ranges turned into bitwise matches: one match per combination. */
export function expandRanges(m: FlowMatch): FlowMatch[] {
  let out: FlowMatch[] = [m];
  for (const field of ['tp_src', 'tp_dst'] as const) {
    const p: PortMatch | undefined = m[field];
    if (!p?.range) continue;
    const blocks: Masked[] = portToMasks(p);
    const next: FlowMatch[] = [];
    for (const prev of out) {
      for (const b of blocks) {
        const copy: FlowMatch = { ...prev };
        if (b.mask === 0) delete copy[field];
        else copy[field] = { value: b.value, mask: b.mask };
        next.push(copy);
      }
    }
    out = next;
  }
  return out;
}

function flowText(s: Settings, table: number, priority: number, match: FlowMatch, actions: string): string {
  const m = printFlow(match);
  return `table=${table},priority=${priority},cookie=${s.cookie},${m ? m + ',' : ''}actions=${actions}`;
}

/**
 * Renders contracts for one bridge. Fails with every diagnostic found: unknown ports, options the
 * backend cannot express, overlapping redirects, contracts that can never match, limits.
 */
export function renderOpenFlow(contracts: readonly FlowTap[], opts: OpenFlowOptions): Result<OpenFlowRules> {
  const settings = checkOptions(opts);
  if (!settings.ok) return settings;
  const s = settings.value;
  const errs: Diagnostic[] = [...checkOverlaps(contracts)];
  const pieces: Piece[] = [];
  const meters = new Map<string, OpenFlowMeter>();
  let meterId = opts.firstMeter ?? 1;
  for (const c of contracts) {
    const p = piecesOf(c, opts);
    if (p.length > 0 && 'code' in p[0]) errs.push(...(p as Diagnostic[]));
    else pieces.push(...(p as Piece[]));
    const meter = meterFor(c, meterId);
    if (meter && 'code' in meter) errs.push(meter);
    else if (meter) {
      meters.set(c.id, meter);
      meterId++;
    }
  }
  if (errs.length > 0) return fail(errs);

  const port = (name: string) => opts.ports[name];
  const groups = new Map<string, OpenFlowGroup>();
  let groupId = opts.firstGroup ?? 1;
  const continueWith = (side: Piece['side']) => (side === 'egress' ? `resubmit(,${s.t1})` : 'NORMAL');
  const failOpenGroup = (monitor: number, side: Piece['side'], tapped: number): number => {
    const key = `${monitor}/${side}/${tapped}`;
    let g = groups.get(key);
    if (!g) {
      const id = groupId++;
      g = {
        id,
        text: `group_id=${id},type=fast_failover,bucket=watch_port:${monitor},actions=output:${monitor},bucket=watch_port:${tapped},actions=${continueWith(side)}`,
      };
      groups.set(key, g);
    }
    return g.id;
  };
  /** Meter id -> monitor port of the budgeted copies (one T2 flow each). */
  const budgeted = new Map<number, { monitor: number; contract: string }>();
  const actionsFor = (members: FlowTap[], side: Piece['side']): string => {
    const redirect = members.find((c) => c.action === 'redirect');
    const seen = new Set<number>(redirect ? [port(redirect.dst)] : []);
    const acts: string[] = [];
    for (const c of members) {
      if (c.action !== 'forward' || seen.has(port(c.dst))) continue;
      seen.add(port(c.dst));
      const meter = meters.get(c.id);
      acts.push(meter ? `clone(load:${meter.id}->NXM_NX_REG3[],resubmit(,${s.t2}))` : `output:${port(c.dst)}`);
      if (meter) budgeted.set(meter.id, { monitor: port(c.dst), contract: c.id });
    }
    if (!redirect) acts.push(continueWith(side));
    else if (redirect.options?.failMode === 'open') acts.push(`group:${failOpenGroup(port(redirect.dst), side, port(redirect.src))}`);
    else {
      const meter = meters.get(redirect.id);
      if (meter) acts.push(`meter:${meter.id}`);
      acts.push(`output:${port(redirect.dst)}`);
    }
    return acts.join(',');
  };

  const flows: OpenFlowEntry[] = [];
  const add = (table: number, priority: number, match: FlowMatch, actions: string, ids: string[]) =>
    flows.push({ table, priority, match, actions, contracts: ids, text: flowText(s, table, priority, match, actions) });

  const groupsBySide = new Map<string, Piece[]>();
  for (const p of pieces) {
    const key = `${p.side}|${p.key}`;
    const list = groupsBySide.get(key);
    if (list) list.push(p);
    else groupsBySide.set(key, [p]);
  }
  for (const list of groupsBySide.values()) {
    const cells = overlapCells(
      list.map((p) => p.match),
      s.maxFlows,
    );
    if (cells === 'limit') {
      return fail(
        diag(
          'E_BACKEND_LIMIT',
          `the overlapping contracts of one port need more than ${s.maxFlows} flows in the ${OPENFLOW_BACKEND} backend`,
        ),
      );
    }
    const side = list[0].side;
    for (const cell of cells) {
      const members = cell.members.map((i) => list[i].contract);
      const priority = s.base + cell.members.length - 1;
      if (priority >= OPENFLOW_BYPASS_PRIORITY) {
        return fail(
          diag(
            'E_BACKEND_LIMIT',
            `${cell.members.length} contracts overlap on one port; priorities would exceed ${OPENFLOW_BYPASS_PRIORITY - 1}`,
          ),
        );
      }
      const actions = actionsFor(members, side);
      const ids = members.map((c) => c.id);
      for (const m of expandRanges(cell.match)) add(side === 'egress' ? s.t0 : s.t1, priority, m, actions, ids);
      if (flows.length > s.maxFlows)
        return fail(diag('E_BACKEND_LIMIT', `the contracts need more than ${s.maxFlows} flows in the ${OPENFLOW_BACKEND} backend`));
    }
  }

  const inline = [...new Set(contracts.filter((c) => c.action === 'redirect').map((c) => port(c.dst)))].sort((a, b) => a - b);
  for (const p of inline) add(s.t0, OPENFLOW_BYPASS_PRIORITY, { in_port: { value: p, mask: 0xffff } }, 'NORMAL', []);
  add(s.t0, 0, {}, `resubmit(,${s.t1})`, []);
  add(s.t1, 0, {}, 'NORMAL', []);
  // The registers are no flow-syntax field, so these flows are written out here.
  for (const [id, { monitor, contract }] of budgeted) {
    const actions = `meter:${id},output:${monitor}`;
    const text = `table=${s.t2},priority=${s.base},cookie=${s.cookie},reg3=${id},actions=${actions}`;
    flows.push({ table: s.t2, priority: s.base, match: {}, actions, contracts: [contract], text });
  }
  flows.sort((a, b) => a.table - b.table || b.priority - a.priority || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));

  const meterList = [...meters.values()];
  const groupList = [...groups.values()];
  return ok({
    bridge: s.bridge,
    flows,
    meters: meterList,
    groups: groupList,
    script: scriptFor(s, contracts, flows, meterList, groupList),
  });
}

function scriptFor(
  s: Settings,
  contracts: readonly FlowTap[],
  flows: OpenFlowEntry[],
  meters: OpenFlowMeter[],
  groups: OpenFlowGroup[],
): string[] {
  const cmd = (verb: string, arg: string) => `ovs-ofctl -O OpenFlow15 ${verb} ${s.bridge} '${arg}'`;
  const out = [`# flowtap: ${contracts.length} FlowTap contract(s) on bridge ${s.bridge}, tables ${s.t0}-${s.t2}, cookie ${s.cookie}`];
  for (const c of contracts) out.push(`# ${c.id} = ${formatContract(c, { details: true })}`);
  if (flows.some((f) => f.match.ip_frag)) out.push(`# matches on ip_frag need: ovs-ofctl set-frags ${s.bridge} nx-match`);
  for (const m of meters) {
    const c = contracts.find((x) => x.id === m.contract);
    out.push(`# meter ${m.id}: budget ${c?.options?.budget?.rate} ${c?.options?.budget?.unit} of ${m.contract}`, cmd('add-meter', m.text));
  }
  for (const g of groups) out.push(`# group ${g.id}: fail open when the monitor's port is down`, cmd('add-group', g.text));
  let last = '';
  for (const f of flows) {
    const label = f.contracts.length > 0 ? f.contracts.join(' + ') : 'pipeline';
    if (label !== last) out.push(`# ${label}`);
    last = label;
    out.push(cmd('add-flow', f.text));
  }
  return out;
}
