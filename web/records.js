// Per service: the records collected, and the verbosity controls the agents honour.
import { ApiError, getRecords, getVerbosity, putVerbosity } from './api.js';
import { $, bare, fmtBytesPerSec, fmtTime, h } from './dom.js';

// The agent's collectors (src/agent/settings.ts) and the level from which each runs.
const COLLECTORS = [
  ['counters', 1],
  ['interfaces', 1],
  ['flows', 2],
  ['logs', 2],
  ['monitor-logs', 3],
  ['syscalls', 4],
];
const KINDS = [
  'counter',
  'interface',
  'flow',
  'log',
  'monitor-log',
  'syscall',
  'notice',
  'reaction',
  'lifecycle',
  'topology',
  'config',
  'agent-cost',
  'audit',
];
const MAX_ROWS = 300;
const POLL_MS = 3000;

const s = (v) => (v === undefined || v === null ? '' : String(v));
const n = (v) => (typeof v === 'number' ? v : 0);
const ep = (host, port) => (port === undefined || port === null ? s(host) : `${s(host)}:${s(port)}`);

/** One line for people, per kind (the same reading as the CLI's `flowtap records`). */
export function summarize(r) {
  const d = r.data ?? {};
  switch (r.kind) {
    case 'counter':
      return `${s(d.type)} ${s(d.comment) || `${s(d.chain)}#${s(d.handle)}`}: +${n(d.dPackets)} pkts +${n(d.dBytes)} B`;
    case 'interface':
      return `${s(d.name)}: rx +${n(d.dRxBytes)} B, tx +${n(d.dTxBytes)} B`;
    case 'flow':
      return `${s(d.proto)} ${ep(d.src, d.sport)} → ${ep(d.dst, d.dport)} ${s(d.state)} ${n(d.origBytes)}/${n(d.replyBytes)} B${d.ended ? ' ended' : ''}`;
    case 'log':
      return s(d.line);
    case 'monitor-log': {
      const row = d.row ?? {};
      const what = [
        row.method,
        row.host,
        row.uri,
        row.status_code,
        row.statement,
        row.query,
        row.subject,
        row.conn_state,
        row.name,
        row.note,
      ]
        .filter((x) => x !== undefined && x !== null && x !== '')
        .map(s)
        .join(' ');
      return `${s(d.monitor)} ${s(d.log)} ${ep(row['id.orig_h'], row['id.orig_p'])} → ${ep(row['id.resp_h'], row['id.resp_p'])} ${what}${d.unparsed ? s(d.unparsed) : ''}`;
    }
    case 'syscall':
      if (d.event === 'exec') return `exec ${s(d.filename)} (pid ${s(d.pid)})`;
      if (d.event === 'connect') return `connect ${s(d.comm)} → ${ep(d.daddr, d.dport)} ×${n(d.count)}`;
      if (d.event === 'counts') return `${n(d.total)} system calls in ${n(d.periodMs) / 1000} s`;
      return JSON.stringify(d);
    case 'notice':
      return `${s(d.monitor)} ${s(d.note)} ${s(d.msg)}`;
    case 'reaction':
      return `${s(d.event)} ${s(d.reaction?.action?.kind)} ${s(d.reaction?.state)}`;
    case 'agent-cost':
      if (d.event === 'loss') return `loss: ${n(d.dropped)} records dropped`;
      return `${s(d.collector)} level ${s(d.level)}: ${n(d.cpuPercent).toFixed(3)}% CPU, ${n(d.recordsPerSec)} rec/s, ${fmtBytesPerSec(n(d.bytesPerSec))}`;
    case 'lifecycle':
      return `${s(d.type)}${d.detail ? `: ${s(d.detail)}` : ''}`;
    default:
      return JSON.stringify(d);
  }
}

export function createServicePanel(state, { onServiceChange }) {
  const select = $('[data-testid=service-select]');
  const kindSelect = $('[data-testid=records-kind]');
  const body = $('[data-testid=records-table] tbody');
  const nodesLine = $('#service-nodes');
  const form = $('[data-testid=verbosity-form]');
  const vNode = $('[data-testid=verbosity-node]');
  const vCollector = $('[data-testid=verbosity-collector]');
  const vLevel = $('[data-testid=verbosity-level]');
  const vPeriod = $('[data-testid=verbosity-period]');
  const vResult = $('[data-testid=verbosity-result]');
  const vCurrent = $('[data-testid=verbosity-current]');
  let records = [];
  let lastId = 0;
  let poll = null;
  let generation = 0;

  vCollector.replaceChildren(
    h('option', { value: '', text: 'all collectors' }),
    ...COLLECTORS.map(([c, l]) => h('option', { value: c, text: `${c} (from level ${l})` })),
  );
  kindSelect.replaceChildren(h('option', { value: '', text: 'all kinds' }), ...KINDS.map((k) => h('option', { value: k, text: k })));

  const serviceNodes = (svc) => [...new Set((state.graph?.instances ?? []).filter((i) => i.service === svc).map((i) => i.node))];

  function syncServices() {
    const services = (state.graph?.services ?? []).map((x) => x.id).sort();
    const have = [...select.options].map((o) => o.value);
    if (services.join() !== have.join()) {
      select.replaceChildren(...services.map((id) => h('option', { value: id, text: bare(id) })));
      if (!services.includes(state.service)) select.value = services[0] ?? '';
      else select.value = state.service;
    }
    const nodes = (state.graph?.nodes ?? []).map((x) => x.id);
    const haveNodes = [...vNode.options].map((o) => o.value).slice(1);
    if (nodes.join() !== haveNodes.join()) {
      const keep = vNode.value;
      vNode.replaceChildren(
        h('option', { value: '', text: 'all nodes' }),
        ...nodes.map((id) => h('option', { value: bare(id), text: bare(id) })),
      );
      vNode.value = keep;
    }
    if (select.value && select.value !== state.service) choose(select.value);
    const on = serviceNodes(state.service).map(bare);
    nodesLine.textContent = on.length ? `instances on ${on.join(', ')}` : '';
  }

  function row(r) {
    return h(
      'tr',
      { dataset: { recordId: r.id, kind: r.kind } },
      h('td', { text: fmtTime(r.ts) }),
      h('td', { text: r.node ?? '' }),
      h('td', { text: r.kind }),
      h('td', { text: r.instance ?? '' }),
      h('td', { class: 'summary', text: summarize(r) }),
    );
  }

  function renderRecords() {
    body.replaceChildren(...records.map(row));
    if (records.length === 0) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'no record yet' })));
  }

  async function loadRecords() {
    const g = ++generation;
    records = [];
    lastId = 0;
    renderRecords();
    if (!state.service) return;
    const kind = kindSelect.value || undefined;
    const res = await getRecords(state.app, { service: bare(state.service), kind, limit: 200, order: 'desc' });
    if (g !== generation) return;
    records = res.records;
    lastId = records.reduce((m, r) => Math.max(m, r.id), 0);
    renderRecords();
  }

  async function pollRecords() {
    if (!state.service) return;
    const g = generation;
    const kind = kindSelect.value || undefined;
    const res = await getRecords(state.app, { service: bare(state.service), kind, afterId: lastId || undefined, limit: 500, order: 'asc' });
    if (g !== generation || res.records.length === 0) return;
    lastId = res.records.reduce((m, r) => Math.max(m, r.id), lastId);
    records = [...res.records.reverse(), ...records].slice(0, MAX_ROWS);
    renderRecords();
  }

  async function loadVerbosity() {
    const v = await getVerbosity(state.app);
    state.verbosity = v;
    const hosting = new Set(serviceNodes(state.service).map(bare));
    const nodes = Object.keys(v.nodes ?? {}).sort();
    vCurrent.replaceChildren(
      h('thead', {}, h('tr', {}, h('th', { text: 'node' }), ...COLLECTORS.map(([c]) => h('th', { text: c })))),
      h(
        'tbody',
        {},
        nodes.map((node) =>
          h(
            'tr',
            { class: hosting.has(node) ? 'hosting' : '', dataset: { node } },
            h('th', { text: node }),
            ...COLLECTORS.map(([c, from]) => {
              const x = v.nodes[node][c];
              if (!x) return h('td', { text: '–' });
              const on = x.level >= from;
              return h('td', {
                class: on ? 'on' : 'off',
                title: on ? 'collecting' : 'below its level: off',
                text: `L${x.level} · ${x.periodMs / 1000}s`,
              });
            }),
          ),
        ),
      ),
    );
    // The controls start from what the service's first node runs.
    const first = v.nodes[[...hosting][0] ?? nodes[0]];
    const any = first && Object.values(first)[0];
    if (any && !form.dataset.touched) {
      vLevel.value = String(any.level);
      vPeriod.value = String(any.periodMs / 1000);
    }
  }

  form.addEventListener('input', () => {
    form.dataset.touched = '1';
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const periodMs = Math.round(Number(vPeriod.value) * 1000);
    const body = { level: Number(vLevel.value), periodMs };
    if (vNode.value) body.node = vNode.value;
    if (vCollector.value) body.collector = vCollector.value;
    vResult.className = 'muted';
    vResult.textContent = 'sending…';
    try {
      const res = await putVerbosity(state.app, body);
      const acks = res.acks ?? [];
      vResult.className = acks.every((a) => a.outcome === 'applied') ? 'ok' : 'error';
      vResult.textContent = `change ${res.change}: ${acks.map((a) => `${a.node} ${a.outcome}`).join(', ') || 'no agent answered'}`;
      delete form.dataset.touched;
      await loadVerbosity();
    } catch (e) {
      vResult.className = 'error';
      vResult.textContent = e instanceof ApiError ? `${e.status} ${e.code}: ${e.message}${e.field ? ` (${e.field})` : ''}` : String(e);
    }
  });

  function choose(svc) {
    state.service = svc;
    select.value = svc;
    const on = serviceNodes(svc).map(bare);
    nodesLine.textContent = on.length ? `instances on ${on.join(', ')}` : '';
    onServiceChange(svc);
    loadRecords().catch(() => {});
    loadVerbosity().catch(() => {});
  }

  select.addEventListener('change', () => choose(select.value));
  kindSelect.addEventListener('change', () => loadRecords().catch(() => {}));

  return {
    syncServices,
    choose,
    start() {
      clearInterval(poll);
      poll = setInterval(() => pollRecords().catch(() => {}), POLL_MS);
    },
    stop() {
      clearInterval(poll);
      generation++;
      state.service = undefined;
      select.replaceChildren();
      delete form.dataset.touched;
    },
    loadVerbosity,
  };
}
