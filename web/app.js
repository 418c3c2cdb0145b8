// flowtap's dashboard: login, application picker, then one application's service graph, live
// notices and reactions, and per-service records, verbosity and charts. Plain ES modules, no
// build step; the libraries are served from /vendor (no CDN: the page works offline).
//
// Tests read `window.__flowtap = { cy, state }` rather than the canvas.
import { getGraph, getRecords, setUnauthorizedHandler, streamRecords, token, whoami } from './api.js';
import { createCharts } from './charts.js';
import { $, bare, h, show } from './dom.js';
import { createGraph } from './graph.js';
import { login, pickApp } from './login.js';
import { createNotices } from './notices.js';
import { createServicePanel } from './records.js';

const GRAPH_MS = 2000;
const STREAM_KINDS = 'notice,reaction,lifecycle,agent-cost';

const state = { app: null, me: null, graph: null, service: undefined, stream: 'offline' };
const graph = createGraph($('[data-testid=graph]'), {
  onSelect: (svc) => panel.choose(svc),
  onHover: (text) => {
    $('#graph-hover').textContent = text;
  },
});
const notices = createNotices(state);
const charts = createCharts(state);
const panel = createServicePanel(state, { onServiceChange: () => charts.serviceChanged() });
window.__flowtap = { cy: graph.cy, state };

let timers = [];
let stopStream = null;
let busy = false;
let again = false;

function setStream(status) {
  state.stream = status;
  const el = $('[data-testid=stream-status]');
  el.textContent =
    status === 'live' ? '● live' : status === 'reconnecting' ? '◌ reconnecting' : status.startsWith('ended') ? `■ ${status}` : '○ offline';
  el.dataset.status = status;
}

function showGraph(g) {
  state.graph = g;
  graph.update(g);
  const mode = $('[data-testid=mode]');
  mode.textContent = g.mode;
  mode.dataset.mode = g.mode;
  mode.className = `badge mode-${g.mode}`;
  $('[data-testid=graph]').dataset.mode = g.mode;
  const q = g.instances.filter((i) => i.quarantined);
  $('[data-testid=quarantined-list]').replaceChildren(
    ...(q.length
      ? q.map((i) => h('span', { class: 'badge quarantined', dataset: { instance: bare(i.id) }, text: `${bare(i.id)} quarantined` }))
      : [h('span', { class: 'muted', text: 'no instance quarantined' })]),
  );
  const down = g.monitors.filter((m) => m.health !== 'up');
  $('#monitor-health').textContent = down.length
    ? `monitors: ${down.map((m) => `${bare(m.id)} ${m.health}`).join(', ')}`
    : `${g.monitors.length} monitors up`;
  panel.syncServices();
  charts.addTraffic(g);
}

/** Fetches the graph; a request made while one is in flight runs once after it. */
async function refreshGraph() {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  const app = state.app;
  try {
    const g = await getGraph(app);
    if (app === state.app) {
      showGraph(g);
      show($('[data-testid=graph-error]'), false);
    }
  } catch (e) {
    if (app === state.app) {
      const el = $('[data-testid=graph-error]');
      el.textContent = `graph: ${e.message}`;
      show(el, true);
    }
  } finally {
    busy = false;
    if (again) {
      again = false;
      refreshGraph();
    }
  }
}

function onRecord(rec) {
  if (rec.app !== undefined && rec.app !== state.app) return;
  switch (rec.kind) {
    case 'notice':
      notices.onNoticeRecord(rec);
      break;
    case 'reaction':
      notices.onReactionRecord(rec);
      refreshGraph();
      break;
    case 'lifecycle':
      refreshGraph();
      break;
    case 'agent-cost':
      charts.addCost([rec]);
      break;
  }
}

function closeApp() {
  for (const t of timers) clearInterval(t);
  timers = [];
  stopStream?.();
  stopStream = null;
  setStream('offline');
  state.app = null;
  state.graph = null;
  panel.stop();
  notices.reset();
  charts.reset();
  graph.clear();
  show($('#dash'), false);
}

async function openApp(name) {
  state.app = name;
  history.replaceState(null, '', `#app=${encodeURIComponent(name)}`);
  $('[data-testid=app-name]').textContent = name;
  show($('#dash'), true);
  show($('#app-controls'), true);
  graph.cy.resize();
  await refreshGraph();
  timers.push(setInterval(refreshGraph, GRAPH_MS));
  stopStream = streamRecords(name, { kind: STREAM_KINDS }, { onRecord, onStatus: setStream });
  panel.start();
  notices.load().catch((e) => {
    $('[data-testid=notices-list]').replaceChildren(h('li', { class: 'error', text: `notices: ${e.message}` }));
  });
  // The last half hour of the agents' cost, then the stream keeps the chart moving.
  getRecords(name, { kind: 'agent-cost', from: Date.now() - 30 * 60_000, limit: 10000, order: 'asc' })
    .then((r) => charts.addCost(r.records))
    .catch(() => {});
}

let signingIn = false;

async function start(message = '') {
  if (signingIn) return;
  signingIn = true;
  closeApp();
  show($('#app-controls'), false);
  show($('#session-controls'), false);
  try {
    let me = null;
    const t = token.get();
    if (t)
      try {
        me = await whoami(t);
      } catch {
        token.clear();
        message ||= 'Your session ended: sign in again.';
      }
    me ??= await login(message);
    state.me = me;
    $('[data-testid=whoami]').textContent = me.operator ? 'operator' : `tenant ${me.tenant}`;
    show($('#session-controls'), true);
    const wanted = new URLSearchParams(location.hash.slice(1)).get('app');
    signingIn = false;
    await openApp(await pickApp(me, wanted));
  } finally {
    signingIn = false;
  }
}

setUnauthorizedHandler(() => {
  token.clear();
  start('401 — the token was refused: sign in again.');
});
$('[data-testid=switch-app]').addEventListener('click', () => {
  history.replaceState(null, '', '#');
  start();
});
$('[data-testid=logout]').addEventListener('click', () => {
  token.clear();
  history.replaceState(null, '', '#');
  start();
});
for (const layer of ['required', 'observed', 'tap'])
  $(`[data-testid=layer-${layer}]`).addEventListener('change', (ev) => graph.setLayer(layer, ev.target.checked));
$('[data-testid=graph-fit]').addEventListener('click', () => graph.fit());

start();
