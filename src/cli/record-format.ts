/**
 * One line per record for people: time, node, kind, who it is about, then what matters of its
 * kind. `--json` prints the records whole instead.
 */
import type { StoredRecord } from '../broker/index.js';

type Data = Record<string, unknown>;

const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

function endpoint(host: unknown, port: unknown): string {
  return port === undefined || port === null ? str(host) : `${str(host)}:${str(port)}`;
}

function settingsLine(settings: unknown): string {
  if (!settings || typeof settings !== 'object') return '';
  return describeSettings(settings as Record<string, { level: number; periodMs: number; active: boolean }>);
}

/** `level 4 every 2 s: counters interfaces flows logs monitor-logs syscalls` (levels and periods grouped). */
export function describeSettings(
  settings: Record<string, { level: number; periodMs: number; active?: boolean; instances?: string[] }>,
): string {
  const groups = new Map<string, string[]>();
  for (const [c, s] of Object.entries(settings)) {
    const key = `level ${s.level} every ${s.periodMs / 1000} s${s.instances ? ` for ${s.instances.join(',')}` : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const active = Object.entries(settings)
    .filter(([, s]) => s.active)
    .map(([c]) => c);
  const head = [...groups].map(([k, cs]) => (groups.size === 1 ? k : `${cs.join(',')} at ${k}`)).join('; ');
  return `${head}; collecting: ${active.join(' ') || 'nothing'}`;
}

/** A step of a cluster's firewall workflow (`flowtap serve --kubeconfig`); only those carry a trigger. */
function clusterWorkflowStep(d: Data): string {
  const head = `workflow ${str(d.workflow)} ${str(d.step)}`;
  const names = (v: unknown) => (Array.isArray(v) ? v.map(str).join(', ') : '');
  if (d.step === 'rendered') return `${head}: ${num(d.rules)} rules (${(d.trigger as unknown[]).map(str).join('; ')})`;
  if (d.step === 'failed') return `${head}: ${str(d.error)}`;
  const changed = (['created', 'replaced', 'deleted'] as const).filter((k) => names(d[k])).map((k) => `${k} ${names(d[k])}`);
  return `${head}: ${[...changed, `${Array.isArray(d.unchanged) ? d.unchanged.length : 0} unchanged`].join('; ')} in ${num(d.ms)} ms`;
}

function summary(r: StoredRecord): string {
  const d = r.data as Data;
  switch (r.kind) {
    case 'counter':
      return `${str(d.type)} ${str(d.comment) || `${str(d.chain)}#${str(d.handle)}`}: +${num(d.dPackets)} pkts +${num(d.dBytes)} B (${num(d.packets)} pkts)`;
    case 'interface':
      return `${str(d.name)}: rx +${num(d.dRxPackets)} pkts +${num(d.dRxBytes)} B, tx +${num(d.dTxPackets)} pkts +${num(d.dTxBytes)} B${num(d.dRxDropped) + num(d.dTxDropped) ? `, dropped +${num(d.dRxDropped) + num(d.dTxDropped)}` : ''}`;
    case 'flow':
      return `${str(d.proto)} ${endpoint(d.src, d.sport)} -> ${endpoint(d.dst, d.dport)}${d.state ? ` ${str(d.state)}` : ''} ${num(d.origPackets)}/${num(d.replyPackets)} pkts ${num(d.origBytes)}/${num(d.replyBytes)} B${d.ended ? ' ended' : ''}`;
    case 'log':
      return str(d.line);
    case 'monitor-log': {
      const row = (d.row ?? {}) as Data;
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
        .map(str)
        .join(' ');
      return `${str(d.monitor)} ${str(d.log)} ${endpoint(row['id.orig_h'], row['id.orig_p'])} -> ${endpoint(row['id.resp_h'], row['id.resp_p'])}${what ? ` ${what}` : ''}${d.unparsed ? ` ${str(d.unparsed)}` : ''}`;
    }
    case 'syscall':
      if (d.event === 'counts') {
        const top = Object.entries((d.counts ?? {}) as Record<string, number>)
          .slice(0, 4)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        return `${num(d.total)} system calls in ${num(d.periodMs) / 1000} s (${top})`;
      }
      if (d.event === 'exec') return `exec ${str(d.filename)} (pid ${str(d.pid)})`;
      if (d.event === 'connect') return `connect ${str(d.comm)} -> ${endpoint(d.daddr, d.dport)} x${num(d.count)}`;
      return JSON.stringify(d);
    case 'notice':
      return `${str(d.monitor)} ${str(d.note)} ${str(d.msg)}`;
    case 'agent-cost':
      if (d.event === 'loss')
        return `LOSS: ${num(d.dropped)} records (${num(d.droppedBytes)} B) dropped while the store was unreachable for ${num(d.outageMs) / 1000} s, ${num(d.notPublished)} not published; by kind ${JSON.stringify(d.byKind ?? {})}`;
      return `${str(d.collector)} at level ${str(d.level)}: ${num(d.cpuPercent).toFixed(3)}% of a core, ${num(d.recordsPerSec)} records/s, ${num(d.bytesPerSec)} B/s over ${num(d.windowMs) / 1000} s${d.final ? ' (last)' : ''}${Array.isArray(d.errors) ? `; errors: ${d.errors.join('; ')}` : ''}`;
    case 'config':
      if (Array.isArray(d.trigger)) return clusterWorkflowStep(d);
      if (d.what === 'verbosity')
        return `verbosity ${str(d.outcome)}${d.id ? ` (${str(d.id)})` : ''}: ${d.outcome === 'applied' ? settingsLine(d.settings) : Array.isArray(d.errors) ? d.errors.join('; ') : ''}`;
      if (d.what === 'agent') return `agent ${str(d.event)}${d.settings ? `: ${settingsLine(d.settings)}` : ''}`;
      return `${str(d.kind)} version ${str(d.version)} ${str(d.outcome)}${Array.isArray(d.errors) ? `: ${d.errors.join('; ')}` : ''}`;
    case 'topology':
      if (d.type === 'tap')
        return `tap ${str(d.src)} -> ${str(d.dst)} "${str(d.flow)}" ${str(d.action)} (${str(d.srcNode)} -> ${str(d.dstNode)})`;
      if (d.type === 'instance')
        return `instance ${str(d.name)} of ${str(d.service)} on ${str(d.node)} at ${str(d.ip)} (port ${str(d.port)})`;
      return `${str(d.type)} ${str(d.name)}${d.ip ? ` ${str(d.ip)}` : ''}${d.node && d.type !== 'node' ? ` on ${str(d.node)}` : ''}`;
    case 'lifecycle':
      return `${str(d.type)}${d.detail ? `: ${str(d.detail)}` : ''}`;
    default:
      return JSON.stringify(d);
  }
}

export function formatRecord(r: StoredRecord): string {
  const about = r.instance ?? r.service ?? '-';
  return `${new Date(r.ts).toISOString()} ${(r.node ?? '-').padEnd(6)} ${r.kind.padEnd(11)} ${about.padEnd(18)} ${summary(r)}`;
}
