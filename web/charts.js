// Charts (uPlot): what collecting costs the agents against their verbosity level over time, and
// the traffic of each observed edge over time.
import uPlot from './vendor/uPlot.esm.js';
import { $, bare, fmtBytesPerSec, throttle } from './dom.js';

const WINDOW_S = 30 * 60;
const MAX_COST = 20000;
const TRAFFIC_SAMPLES = 300;
const TOP_EDGES = 8;
const EDGE_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#9c755f', '#edc948'];
const HEIGHT = 190;

const sizeOf = (el) => ({ width: Math.max(280, el.clientWidth - 4), height: HEIGHT });

/**
 * The overhead series from agent-cost records (src/agent/cost.ts CostReport: collector, level,
 * cpuPercent, bytesPerSec, periodMs, windowMs, final). Each report is a rate over its window, so
 * the agents' total at a time is the sum of each collector's latest report: one point per report.
 */
function overheadSeries(records, nodes) {
  const inScope = records
    .filter((r) => typeof r.data?.cpuPercent === 'number' && (nodes === null || nodes.has(r.node)))
    .sort((a, b) => a.ts - b.ts || a.id - b.id);
  const latest = new Map();
  const x = [];
  const cpu = [];
  const bytes = [];
  const level = [];
  for (const r of inScope) {
    const d = r.data;
    latest.set(`${r.node}|${d.collector}`, { ts: r.ts, d });
    // A report older than three of its windows is of a collector that stopped.
    for (const [k, v] of latest) if (r.ts - v.ts > 3 * Math.max(v.d.windowMs ?? 0, v.d.periodMs ?? 0, 1000)) latest.delete(k);
    let c = 0;
    let b = 0;
    let l = 0;
    for (const { d: v } of latest.values()) {
      c += v.cpuPercent;
      b += typeof v.bytesPerSec === 'number' ? v.bytesPerSec : 0;
      l = Math.max(l, typeof v.level === 'number' ? v.level : 0);
    }
    const t = r.ts / 1000;
    // Same instant: the later report wins (uPlot wants x strictly ordered to draw it once).
    if (x.length && x[x.length - 1] === t) {
      cpu[cpu.length - 1] = c;
      bytes[bytes.length - 1] = b;
      level[level.length - 1] = l;
    } else {
      x.push(t);
      cpu.push(c);
      bytes.push(b);
      level.push(l);
    }
    // A collector's last report (switched off): it stops counting after this point.
    if (d.final) latest.delete(`${r.node}|${d.collector}`);
  }
  return [x, cpu, bytes, level];
}

function overheadChart(el) {
  return new uPlot(
    {
      ...sizeOf(el),
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, level: { range: [0, 4.5] } },
      series: [
        {},
        { label: 'CPU % of a core', stroke: '#e15759', width: 1.5, scale: '%', value: (_u, v) => (v == null ? '' : `${v.toFixed(2)} %`) },
        { label: 'shipped', stroke: '#4e79a7', width: 1.5, scale: 'B/s', value: (_u, v) => (v == null ? '' : fmtBytesPerSec(v)) },
        { label: 'level', stroke: '#59a14f', width: 2, scale: 'level', paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
      ],
      axes: [
        {},
        { scale: '%', stroke: '#e15759', values: (_u, vs) => vs.map((v) => `${v}%`), size: 56 },
        { scale: 'B/s', side: 1, stroke: '#4e79a7', values: (_u, vs) => vs.map(fmtBytesPerSec), size: 70, grid: { show: false } },
        {
          scale: 'level',
          side: 1,
          stroke: '#59a14f',
          values: (_u, vs) => vs.map((v) => (Number.isInteger(v) && v > 0 ? `L${v}` : '')),
          size: 30,
          grid: { show: false },
        },
      ],
    },
    [[], [], [], []],
    el,
  );
}

function trafficChart(el, labels) {
  return new uPlot(
    {
      ...sizeOf(el),
      scales: { x: { time: true } },
      series: [
        {},
        ...labels.map((label, i) => ({
          label,
          stroke: EDGE_COLORS[i % EDGE_COLORS.length],
          width: 1.5,
          spanGaps: false,
          value: (_u, v) => (v == null ? '' : fmtBytesPerSec(v)),
        })),
      ],
      axes: [{}, { values: (_u, vs) => vs.map(fmtBytesPerSec), size: 70 }],
    },
    [[], ...labels.map(() => [])],
    el,
  );
}

export function createCharts(state) {
  const overEl = $('[data-testid=overhead-chart]');
  const overNote = $('#overhead-scope');
  const trafficEl = $('[data-testid=traffic-chart]');
  const trafficNote = $('#traffic-scope');
  const cost = [];
  /** t (s) of each graph sample, and per edge key its rate at each sample. */
  const samples = [];
  const edges = new Map();
  let over = null;
  let traffic = null;
  let trafficKey = '';
  state.charts = { cost, samples, edges };

  const scopeNodes = () => {
    const nodes = (state.graph?.instances ?? []).filter((i) => i.service === state.service).map((i) => bare(i.node));
    return nodes.length ? new Set(nodes) : null;
  };

  const drawOverhead = throttle(() => {
    const nodes = scopeNodes();
    const data = overheadSeries(cost, nodes);
    const cut = data[0].findIndex((t) => t >= Date.now() / 1000 - WINDOW_S);
    const shown = cut > 0 ? data.map((s) => s.slice(cut)) : data;
    over ??= overheadChart(overEl);
    over.setData(shown);
    overEl.dataset.points = String(shown[0].length);
    overNote.textContent = nodes ? `agents on ${[...nodes].join(', ')}` : 'all agents';
    state.charts.overhead = over;
  }, 500);

  function addCost(records) {
    for (const r of records) if (r.kind === 'agent-cost') cost.push(r);
    if (cost.length > MAX_COST) cost.splice(0, cost.length - MAX_COST);
    drawOverhead();
  }

  /** One sample of every observed edge's rate, from a graph refresh. */
  function addTraffic(g, at = Date.now()) {
    const t = Math.round(at / 1000);
    if (samples.length && t <= samples[samples.length - 1]) return;
    samples.push(t);
    const k = samples.length - 1;
    for (const o of g.observed) {
      const id = `${bare(o.from)} → ${bare(o.to)}:${o.port}`;
      let e = edges.get(id);
      if (!e) {
        e = { from: o.from, to: o.to, rates: [] };
        edges.set(id, e);
      }
      e.rates[k] = o.rateBps;
    }
    if (samples.length > TRAFFIC_SAMPLES) {
      const drop = samples.length - TRAFFIC_SAMPLES;
      samples.splice(0, drop);
      for (const [id, e] of edges) {
        e.rates.splice(0, drop);
        if (!e.rates.some((v) => v !== undefined)) edges.delete(id);
      }
    }
    drawTraffic();
  }

  function drawTraffic() {
    const svcInstances = new Set((state.graph?.instances ?? []).filter((i) => i.service === state.service).map((i) => i.id));
    const about = [...edges].filter(([, e]) => svcInstances.has(e.from) || svcInstances.has(e.to));
    const peak = (e) => e.rates.reduce((m, v) => Math.max(m, v ?? 0), 0);
    // The busiest edges, then by name so a colour stays with its edge.
    const chosen = about
      .sort((a, b) => peak(b[1]) - peak(a[1]))
      .slice(0, TOP_EDGES)
      .sort((a, b) => a[0].localeCompare(b[0]));
    const labels = chosen.map(([id]) => id);
    const key = labels.join('\n');
    if (key !== trafficKey || !traffic) {
      traffic?.destroy();
      traffic = trafficChart(trafficEl, labels);
      trafficKey = key;
      state.charts.traffic = traffic;
    }
    const data = [samples.slice(), ...chosen.map(([, e]) => samples.map((_, i) => e.rates[i] ?? null))];
    traffic.setData(data);
    trafficEl.dataset.points = String(samples.length);
    trafficEl.dataset.series = String(labels.length);
    trafficNote.textContent = labels.length
      ? `edges of ${bare(state.service)} (top ${TOP_EDGES} by peak rate)`
      : `no observed edge of ${bare(state.service ?? '')} yet`;
  }

  new ResizeObserver(() => {
    over?.setSize(sizeOf(overEl));
    traffic?.setSize(sizeOf(trafficEl));
  }).observe(overEl.parentElement);

  return {
    addCost,
    addTraffic,
    serviceChanged() {
      drawOverhead();
      if (samples.length) drawTraffic();
    },
    reset() {
      cost.length = 0;
      samples.length = 0;
      edges.clear();
      over?.setData([[], [], [], []]);
      overEl.dataset.points = '0';
      traffic?.destroy();
      traffic = null;
      trafficKey = '';
    },
  };
}
