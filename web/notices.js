// Live notices with their evidence, the connection and request behind them, and the reactions
// the controller took, each with its Approve / Undo / Keep buttons.
//
// A notice record from the stream is shown at once; the API's notice list (which gives every
// notice its id and a reaction) is fetched again right after, and replaces it. A reaction
// record names its notice by that id (and carries the notice's uid and note, which is how it
// finds a notice not yet listed). One notice may have several reactions (a quarantine of the
// attacker and a deeper collection on its target): every one is shown, so each can be undone.
import { ApiError, getNotices, getReactions, getRecords, reactionOp } from './api.js';
import { $, bare, fmtTime, h } from './dom.js';
import { summarize } from './records.js';

const OPS = [
  { op: 'approve', label: 'Approve', when: ['awaiting-approval'] },
  { op: 'undo', label: 'Undo', when: ['applied', 'confirmed', 'awaiting-approval'] },
  { op: 'keep', label: 'Keep', when: ['applied', 'confirmed'] },
];
const MAX_SHOWN = 150;

/** The monitor writes its evidence as an object, or as JSON text in `sub`. */
function evidenceOf(d) {
  if (d.evidence && typeof d.evidence === 'object') return d.evidence;
  if (typeof d.sub === 'string' && d.sub.startsWith('{'))
    try {
      return JSON.parse(d.sub);
    } catch {
      /* only text */
    }
  return {};
}

const key = (n) => `${n.ts}|${n.note}|${n.uid ?? ''}`;

export function createNotices(state) {
  const list = $('[data-testid=notices-list]');
  const count = $('#notice-count');
  /** id -> notice (API shape + { provisional, reactionIds, connection, error, busy }) */
  const notices = new Map();
  const reactions = new Map();
  state.notices = notices;
  state.reactions = reactions;
  let refetch = null;

  const endpoint = (ip) => {
    if (typeof ip !== 'string' || ip === '') return undefined;
    const inst = state.graph?.instances.find((i) => i.ip === ip);
    return inst ? { ip, instance: bare(inst.id), service: bare(inst.service) } : { ip };
  };

  /** The ids of a notice's reactions, oldest first: those it had, the one the API names, and any the ledger ties to it. */
  function reactionIdsOf(id, ...known) {
    const ids = new Set(known.flat().filter(Boolean));
    for (const r of reactions.values()) if (r.notice === id) ids.add(r.id);
    const at = (x) => reactions.get(x)?.createdAt ?? Number.POSITIVE_INFINITY;
    return [...ids].sort((a, b) => at(a) - at(b) || a.localeCompare(b));
  }

  function merge(fetched) {
    const byKey = new Map(fetched.map((n) => [key(n), n]));
    const carried = new Map();
    for (const [id, n] of notices)
      if (n.provisional && byKey.has(key(n))) {
        notices.delete(id);
        carried.set(byKey.get(key(n)).id, n.reactionIds ?? []);
      }
    for (const n of fetched) {
      const old = notices.get(n.id);
      notices.set(n.id, {
        ...n,
        reactionIds: reactionIdsOf(n.id, old?.reactionIds ?? [], carried.get(n.id) ?? [], n.reaction?.id),
        connection: old?.connection,
        error: old?.error,
      });
    }
  }

  async function load() {
    const [n, r] = await Promise.all([getNotices(state.app, { limit: 100 }), getReactions(state.app)]);
    for (const x of r.reactions) reactions.set(x.id, x);
    merge(n.notices);
    render();
  }

  function scheduleRefetch() {
    clearTimeout(refetch);
    refetch = setTimeout(() => {
      getNotices(state.app, { limit: 100 })
        .then((n) => {
          merge(n.notices);
          render();
        })
        .catch(() => {
          /* the provisional notice stays; the next notice tries again */
        });
    }, 300);
  }

  function onNoticeRecord(rec) {
    const d = rec.data ?? {};
    const n = {
      id: `rec-${rec.id}`,
      ts: rec.ts,
      note: d.note,
      msg: d.msg ?? '',
      uid: rec.provenance ?? d.uid,
      src: endpoint(d.src),
      dst: { ...endpoint(d.dst), ...(typeof d.p === 'number' ? { port: d.p } : {}) },
      evidence: evidenceOf(d),
      monitor: d.monitor,
      provisional: true,
    };
    if (![...notices.values()].some((x) => key(x) === key(n))) notices.set(n.id, n);
    render();
    scheduleRefetch();
  }

  function attach(r) {
    let n = notices.get(r.notice);
    if (!n) n = [...notices.values()].find((x) => x.provisional && x.note === r.note && (x.uid ?? '') === (r.uid ?? ''));
    if (!n) {
      // The notice is older than the list, or not stored yet: its reaction still shows.
      n = { id: r.notice, ts: r.createdAt, note: r.note, msg: '', uid: r.uid, evidence: {}, placeholder: true };
      notices.set(n.id, n);
    }
    n.reactionIds = reactionIdsOf(n.id, n.reactionIds ?? [], r.id);
  }

  function onReactionRecord(rec) {
    const r = rec.data?.reaction;
    if (!r || typeof r.id !== 'string') return;
    reactions.set(r.id, r);
    attach(r);
    render();
  }

  async function act(n, reactionId, op) {
    n.busy = true;
    n.error = undefined;
    render();
    try {
      const res = await reactionOp(state.app, reactionId, op);
      if (res?.reaction) reactions.set(res.reaction.id, res.reaction);
    } catch (e) {
      n.error = e instanceof ApiError ? `${op} refused (${e.status} ${e.code}): ${e.message}` : String(e);
    } finally {
      n.busy = false;
      render();
    }
  }

  async function toggleConnection(n) {
    if (n.connection) {
      n.connection = undefined;
      render();
      return;
    }
    n.connection = { loading: true, records: [] };
    render();
    try {
      const { records } = await getRecords(state.app, { provenance: n.uid, limit: 50, order: 'asc' });
      n.connection = { records };
    } catch (e) {
      n.connection = { records: [], error: e.message };
    }
    render();
  }

  function reactionBlock(n, r) {
    const state = r.state ?? 'none';
    return h(
      'div',
      { class: `reaction state-${state}`, dataset: { testid: 'reaction', reactionId: r.id, reactionState: state } },
      h(
        'div',
        {},
        h('strong', { text: r.description ?? `${r.action?.kind ?? 'reaction'} ${r.action?.instance ?? r.action?.source ?? ''}` }),
        ` · rule ${r.rule ?? '?'}`,
      ),
      r.reason ? h('div', { class: 'muted', text: r.reason }) : null,
      r.expiresAt && !r.kept && (state === 'applied' || state === 'confirmed')
        ? h('div', { class: 'muted', text: `expires at ${fmtTime(r.expiresAt)}` })
        : null,
      r.kept ? h('div', { class: 'muted', text: 'kept (no expiry)' }) : null,
      h(
        'div',
        { class: 'buttons' },
        OPS.map(({ op, label, when }) =>
          h('button', {
            dataset: { testid: `reaction-${op}` },
            disabled: n.busy || !when.includes(state) || (op === 'keep' && r.kept),
            onclick: () => act(n, r.id, op),
            text: label,
          }),
        ),
      ),
    );
  }

  function item(n) {
    const rs = (n.reactionIds ?? []).map((id) => reactions.get(id)).filter(Boolean);
    // The notice is marked by its first reaction (what the controller did about it first).
    const r = rs[0];
    const state = r?.state ?? n.reaction?.state ?? 'none';
    const ev = Object.entries(n.evidence ?? {});
    const where = (e) => (e ? [e.instance ?? e.ip ?? '?', e.service && e.service !== e.instance ? ` (${e.service})` : ''].join('') : '?');
    return h(
      'li',
      {
        class: `notice${n.provisional ? ' provisional' : ''}${n.probe ? ' probe' : ''} state-${state}`,
        dataset: { testid: 'notice', noticeId: n.id, reactionState: state, note: n.note ?? '' },
      },
      h(
        'div',
        { class: 'notice-head' },
        h('time', { text: fmtTime(n.ts) }),
        h('strong', { class: 'note', text: (n.note ?? '').replace(/^FlowTap::/, '') }),
        r ? h('span', { class: `badge state-${state}`, dataset: { testid: 'reaction-state' }, text: state }) : null,
        // The controller's own probe matrix: a scan by design, no reaction.
        n.probe ? h('span', { class: 'badge probe', dataset: { testid: 'notice-probe' }, text: "flowtap's probe" }) : null,
      ),
      n.msg ? h('div', { class: 'msg', text: n.msg }) : null,
      n.monitor ? h('div', { class: 'muted', text: `raised by monitor ${n.monitor}` }) : null,
      n.src || n.dst ? h('div', { class: 'flow', text: `${where(n.src)} → ${where(n.dst)}${n.dst?.port ? ` :${n.dst.port}` : ''}` }) : null,
      n.evidence?.request
        ? h('div', { class: 'request' }, 'request ', h('code', { dataset: { testid: 'notice-request' }, text: n.evidence.request }))
        : null,
      n.uid
        ? h(
            'div',
            { class: 'uid' },
            'connection ',
            h('code', { text: n.uid }),
            ' ',
            h('button', {
              class: 'link',
              dataset: { testid: 'notice-connection' },
              onclick: () => toggleConnection(n),
              text: n.connection ? 'hide' : 'show records',
            }),
          )
        : null,
      n.connection
        ? h(
            'ul',
            { class: 'connection', dataset: { testid: 'notice-connection-records' } },
            n.connection.loading ? h('li', { class: 'muted', text: 'loading…' }) : null,
            n.connection.error ? h('li', { class: 'error', text: n.connection.error }) : null,
            !n.connection.loading && n.connection.records.length === 0 && !n.connection.error
              ? h('li', { class: 'muted', text: 'no record with this uid' })
              : null,
            n.connection.records.map((rec) => h('li', {}, h('span', { class: 'kind', text: rec.kind }), ' ', summarize(rec))),
          )
        : null,
      ev.length
        ? h(
            'dl',
            { class: 'evidence', dataset: { testid: 'notice-evidence' } },
            ev.flatMap(([k, v]) => [
              h('dt', { text: k }),
              h('dd', { text: Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v) }),
            ]),
          )
        : null,
      rs.map((x) => reactionBlock(n, x)),
      n.error ? h('div', { class: 'error', dataset: { testid: 'notice-error' }, text: n.error }) : null,
    );
  }

  function render() {
    const all = [...notices.values()].sort((a, b) => b.ts - a.ts);
    count.textContent = String(all.length);
    list.replaceChildren(...all.slice(0, MAX_SHOWN).map(item));
    if (all.length === 0) list.append(h('li', { class: 'muted', text: 'No notice yet.' }));
  }

  function reset() {
    notices.clear();
    reactions.clear();
    render();
  }

  return { load, reset, onNoticeRecord, onReactionRecord };
}
