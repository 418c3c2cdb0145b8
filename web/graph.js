// The service graph (cytoscape): services in tiers at the top with the descriptor's required
// edges; below them each node as a compound box holding its instances (coloured by service) and
// its monitors; observed traffic between instances; taps from an instance port to its monitor.
// Positions are computed here, not by a force layout, so a refresh every 2 s never moves anything
// unless the set of nodes changed.
import cytoscape from './vendor/cytoscape.esm.min.mjs';
import { bare, fmtBytesPerSec } from './dom.js';

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#e15759',
  '#ff9da7',
  '#86bcb6',
  '#8cd17d',
  '#a0cbe8',
];
const TIERS = ['front', 'back', 'data'];
const HEALTH_COLOR = { up: '#2e7d32', down: '#c62828', overloaded: '#ef6c00' };

const STYLE = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'font-family': 'system-ui, sans-serif', color: '#1d2733' } },
  {
    selector: 'node.node',
    style: {
      shape: 'round-rectangle',
      'background-color': '#f3f6f9',
      'border-color': '#9aa8b5',
      'border-width': 1,
      'text-valign': 'top',
      'text-halign': 'center',
      'font-weight': 'bold',
      padding: 14,
    },
  },
  {
    selector: 'node.service',
    style: {
      shape: 'round-rectangle',
      width: 120,
      height: 26,
      'background-color': 'data(color)',
      color: '#fff',
      'text-valign': 'center',
      'text-outline-color': 'data(color)',
      'text-outline-width': 1,
    },
  },
  {
    selector: 'node.external',
    style: { shape: 'ellipse', width: 90, height: 26, 'background-color': '#5f6b76', color: '#fff', 'text-valign': 'center' },
  },
  {
    selector: 'node.instance',
    style: {
      shape: 'round-rectangle',
      width: 124,
      height: 26,
      'background-color': 'data(color)',
      'background-opacity': 0.18,
      'border-color': 'data(color)',
      'border-width': 2,
      'text-valign': 'center',
      'text-wrap': 'wrap',
    },
  },
  { selector: 'node.instance.down', style: { 'border-style': 'dashed', opacity: 0.6 } },
  {
    selector: 'node.instance.quarantined',
    style: {
      'border-color': '#d50000',
      'border-width': 4,
      'border-style': 'solid',
      opacity: 1,
      'background-color': '#ffcdd2',
      'background-opacity': 1,
      height: 36,
      color: '#b71c1c',
      'font-weight': 'bold',
    },
  },
  {
    selector: 'node.monitor',
    style: {
      shape: 'hexagon',
      width: 136,
      height: 34,
      'text-wrap': 'wrap',
      'background-color': '#fff',
      'border-width': 2,
      'border-color': 'data(healthColor)',
      'text-valign': 'center',
      'font-size': 10,
    },
  },
  { selector: 'node.monitor.health-down', style: { 'background-color': '#ffebee' } },
  { selector: 'node.monitor.health-overloaded', style: { 'background-color': '#fff3e0' } },
  { selector: 'node:selected', style: { 'overlay-color': '#1565c0', 'overlay-opacity': 0.15 } },
  {
    selector: 'edge',
    style: {
      'curve-style': 'unbundled-bezier',
      'control-point-distances': 'data(bow)',
      'control-point-weights': 0.5,
      'target-arrow-shape': 'triangle',
      'arrow-scale': 0.8,
      'font-size': 9,
      'text-background-color': '#fff',
      'text-background-opacity': 0.85,
      'text-background-padding': 1,
    },
  },
  { selector: 'edge.required', style: { 'line-style': 'dashed', 'line-color': '#8a96a3', 'target-arrow-color': '#8a96a3', width: 1.5 } },
  {
    selector: 'edge.observed',
    style: {
      width: 'data(width)',
      'line-color': '#2e7d32',
      'target-arrow-color': '#2e7d32',
      'line-opacity': 0.75,
      label: 'data(label)',
      color: '#1b5e20',
    },
  },
  {
    selector: 'edge.tap',
    style: {
      'source-label': 'data(portLabel)',
      'source-text-offset': 34,
      'font-size': 8,
      color: '#37474f',
      'target-arrow-shape': 'tee',
    },
  },
  { selector: 'edge.tap.forward', style: { 'line-style': 'dotted', 'line-color': '#1565c0', 'target-arrow-color': '#1565c0', width: 1.5 } },
  { selector: 'edge.tap.redirect', style: { 'line-color': '#ef6c00', 'target-arrow-color': '#ef6c00', width: 3 } },
  { selector: 'edge.tap.monitor-down', style: { 'line-color': '#c62828', 'target-arrow-color': '#c62828' } },
  { selector: '.layer-hidden', style: { display: 'none' } },
];

/** Service colours, stable for a given set of services. */
function serviceColors(services) {
  const names = services.map((s) => s.id).sort();
  return new Map(names.map((id, i) => [id, PALETTE[i % PALETTE.length]]));
}

/** Width 1..10 px on a log scale: 100 B/s is thin, 10 MB/s is thick. */
const rateWidth = (bps) => Math.max(1, Math.min(10, 1 + 1.6 * Math.log10(1 + Math.max(0, bps) / 100)));

/** The graph as cytoscape elements. Pure, so the shape of what the page draws is easy to read. */
function toElements(g) {
  const colors = serviceColors(g.services);
  const els = [];
  const ids = new Set();
  const node = (data, classes) => {
    ids.add(data.id);
    els.push({ group: 'nodes', data, classes });
  };
  const mentionsExternal = g.required.some((r) => r.from === 'external') || g.observed.some((o) => o.from === 'external');
  if (mentionsExternal) node({ id: 'external', label: 'external' }, 'external');
  for (const n of g.nodes) node({ id: n.id, label: n.label }, 'node');
  for (const s of g.services) node({ id: s.id, label: s.label, tier: s.tier ?? '', color: colors.get(s.id) }, 'service');
  for (const i of g.instances) {
    const classes = ['instance'];
    if (i.quarantined) classes.push('quarantined');
    if (i.status !== 'running') classes.push('down');
    const label = i.quarantined ? `${i.label}\nquarantined` : i.status !== 'running' ? `${i.label} (${i.status})` : i.label;
    node(
      {
        id: i.id,
        parent: i.node,
        label,
        name: i.label,
        service: i.service,
        status: i.status,
        ip: i.ip,
        quarantined: i.quarantined === true,
        color: colors.get(i.service) ?? '#777',
      },
      classes.join(' '),
    );
  }
  for (const m of g.monitors)
    node(
      {
        id: m.id,
        parent: m.node,
        label: `${m.label}\n${m.health}${typeof m.lagS === 'number' && m.lagS >= 1 ? ` · ${m.lagS.toFixed(0)} s lag` : ''}`,
        health: m.health,
        healthColor: HEALTH_COLOR[m.health] ?? '#777',
      },
      `monitor health-${m.health}`,
    );
  const edge = (id, source, target, data, classes) => {
    // An edge to something the graph does not list (an instance just terminated) cannot be drawn.
    if (!ids.has(source) || !ids.has(target)) return;
    els.push({ group: 'edges', data: { id, source, target, bow: 0, ...data }, classes });
  };
  for (const r of g.required) edge(`req|${r.id}`, r.from, r.to, { apiId: r.id, port: r.port }, 'required');
  for (const o of g.observed)
    edge(
      `obs|${o.id}`,
      o.from,
      o.to,
      {
        apiId: o.id,
        port: o.port,
        rateBps: o.rateBps,
        bytes: o.bytes,
        packets: o.packets,
        width: rateWidth(o.rateBps),
        label: fmtBytesPerSec(o.rateBps),
      },
      'observed',
    );
  const health = new Map(g.monitors.map((m) => [m.id, m.health]));
  for (const t of g.taps) {
    const h = health.get(t.monitor) ?? 'unknown';
    // A sampled tap copies 1 in `every` flows (or packets: `unit`).
    const every = typeof t.sample === 'number' ? t.sample : t.sample?.every;
    const port = t.port ?? '*';
    const label = `:${port} ${t.action} → ${bare(t.monitor)} (${h})${every ? ` 1/${every}${t.sample?.unit ? ` ${t.sample.unit}` : ''}` : ''}`;
    edge(
      `tap|${t.id}`,
      t.instance,
      t.monitor,
      {
        apiId: t.id,
        port: t.port,
        action: t.action,
        monitor: t.monitor,
        health: h,
        label,
        portLabel: `:${port} ${t.action}${every ? ` 1/${every}` : ''}`,
      },
      `tap ${t.action}${h === 'down' ? ' monitor-down' : ''}`,
    );
  }
  return els;
}

const tierRank = (tier) => {
  const i = TIERS.indexOf(tier);
  return i < 0 ? TIERS.length : i;
};

const COL = 150;
/** Between a node's instances and its monitors: room for the taps' labels. */
const TAP_GAP = 210;

/**
 * Positions of the leaf nodes: `external` on top, the service tiers in rows under it, then the
 * nodes side by side, each with a column of its instances (grouped by service) and a column of
 * its monitors, so a tap runs across the gap between them.
 */
function layout(g) {
  const pos = {};
  const ROW = 46;
  const rows = new Map();
  for (const s of [...g.services].sort((a, b) => a.label.localeCompare(b.label))) {
    const r = tierRank(s.tier);
    rows.set(r, [...(rows.get(r) ?? []), s.id]);
  }
  const rowList = [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, ids]) => ids);
  if (g.required.some((r) => r.from === 'external') || g.observed.some((o) => o.from === 'external')) rowList.unshift(['external']);
  let x = 0;
  const top = rowList.length * ROW + 70;
  g.nodes.forEach((n, ni) => {
    const inst = g.instances
      .filter((i) => i.node === n.id)
      .sort((a, b) => a.service.localeCompare(b.service) || a.label.localeCompare(b.label));
    const mons = g.monitors.filter((m) => m.node === n.id).sort((a, b) => a.label.localeCompare(b.label));
    const cols = Math.max(1, Math.ceil(inst.length / 8));
    const perCol = Math.ceil(inst.length / cols);
    // The first node's monitors on its left, the others' on their right: traffic between
    // nodes then runs between instance columns, not across monitors.
    const left = ni === 0 && g.nodes.length > 1;
    const instX = left ? x + TAP_GAP : x;
    inst.forEach((i, k) => {
      pos[i.id] = { x: instX + Math.floor(k / perCol) * COL, y: top + (k % perCol) * 40 };
    });
    const monX = left ? x : x + (cols - 1) * COL + TAP_GAP;
    // Monitors centred against the instances they face.
    const offset = Math.max(0, ((perCol - mons.length) * 40) / 2);
    mons.forEach((m, k) => {
      pos[m.id] = { x: monX, y: top + offset + k * 48 };
    });
    x += (cols - 1) * COL + TAP_GAP + COL + 40;
  });
  const width = Math.max(x - 40 - COL, 0);
  rowList.forEach((ids, r) => {
    const rowWidth = (ids.length - 1) * COL;
    ids.forEach((id, k) => {
      pos[id] = { x: width / 2 - rowWidth / 2 + k * COL, y: r * ROW };
    });
  });
  return pos;
}

/**
 * How far an edge bows: one between two nodes of a column would run over the nodes in between,
 * so it bows out, further the longer it is, on the side given by its direction (A->B and B->A
 * apart). Other edges bow a little, so parallel ones stay distinguishable.
 */
function bowOf(e) {
  const a = e.source().position();
  const b = e.target().position();
  const dy = b.y - a.y;
  if (Math.abs(b.x - a.x) < 20) return (dy >= 0 ? 1 : -1) * (30 + Math.abs(dy) * 0.25);
  return e.hasClass('tap') ? 0 : 14;
}

function describe(el) {
  const d = el.data();
  if (el.hasClass('instance')) return `${d.name} · ${bare(d.service)} · ${d.ip} · ${d.status}${d.quarantined ? ' · QUARANTINED' : ''}`;
  if (el.hasClass('tap')) return `tap ${bare(el.source().id())}${d.label}`;
  if (el.hasClass('observed'))
    return `${bare(el.source().id())} → ${bare(el.target().id())}:${d.port} · ${d.label} · ${d.packets} packets, ${d.bytes} bytes`;
  if (el.hasClass('required')) return `required: ${bare(el.source().id())} → ${bare(el.target().id())}:${d.port}`;
  if (el.hasClass('monitor')) return `monitor ${d.label.replace('\n', ' · ')}`;
  return d.label ?? el.id();
}

export function createGraph(container, { onSelect, onHover }) {
  const cy = cytoscape({
    container,
    style: STYLE,
    elements: [],
    minZoom: 0.2,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    boxSelectionEnabled: false,
  });
  cy.on('tap', 'node.instance, node.service', (ev) => {
    const d = ev.target.data();
    onSelect?.(ev.target.hasClass('service') ? d.id : d.service);
  });
  // What an element is, in words, while the pointer is on it (the canvas has no tooltips).
  cy.on('mouseover', 'node, edge', (ev) => onHover?.(describe(ev.target)));
  cy.on('mouseout', 'node, edge', () => onHover?.(''));
  let shape = '';
  const hidden = new Set();

  function update(g) {
    const els = toElements(g);
    const want = new Set(els.map((e) => e.data.id));
    // Structure = which leaf nodes exist and where they live; only a change of it moves anything.
    const key = els
      .filter((e) => e.group === 'nodes')
      .map((e) => `${e.data.id}@${e.data.parent ?? ''}`)
      .sort()
      .join(',');
    cy.batch(() => {
      cy.elements()
        .filter((e) => !want.has(e.id()))
        .remove();
      for (const e of els) {
        const cur = cy.getElementById(e.data.id);
        if (cur.empty()) {
          cy.add(e);
          continue;
        }
        if (e.group === 'nodes' && (cur.data('parent') ?? null) !== (e.data.parent ?? null)) cur.move({ parent: e.data.parent ?? null });
        cur.data(e.data);
        cur.classes(e.classes);
      }
      for (const layer of hidden) cy.elements(`.${layer}`).addClass('layer-hidden');
      if (key !== shape) for (const [id, p] of Object.entries(layout(g))) cy.getElementById(id).position(p);
      for (const e of cy.edges()) e.data('bow', bowOf(e));
    });
    if (key !== shape) {
      shape = key;
      cy.fit(undefined, 24);
    }
  }

  function setLayer(layer, visible) {
    if (visible) hidden.delete(layer);
    else hidden.add(layer);
    cy.elements(`.${layer}`).toggleClass('layer-hidden', !visible);
  }

  function clear() {
    cy.elements().remove();
    shape = '';
  }

  return { cy, update, setLayer, clear, fit: () => cy.fit(undefined, 24) };
}
