/**
 * `flowtap why APP ID`: the provenance chain of a reaction (`r-…`), a notice (`n-…`) or a
 * connection (the monitor's uid), from the broker: the connection's rows, the notice, the rule
 * that fired with its derivation, the decision and blast radius, the rules installed with their
 * handles, the orchestrator's events, the confirmation. Exit 1 when the broker knows nothing of ID.
 */
import type { StoredRecord } from '../../broker/index.js';
import { describeAction, reactionOf, whyChain } from '../../controller/index.js';
import type { CloudEnv } from '../attach.js';
import { findDeploymentBroker, openDeploymentBroker, type BrokerOverride } from '../deployment-broker.js';
import { EXIT_OK, EXIT_VIOLATIONS, type Io } from '../exit.js';

export interface WhyOptions extends BrokerOverride {
  json?: boolean;
}

const at = (ts: number) => new Date(ts).toISOString().replace('T', ' ').slice(0, 23);

function rowLine(r: StoredRecord): string {
  const row = (r.data.row ?? {}) as Record<string, unknown>;
  const fields = ['method', 'uri', 'status_code', 'query', 'command', 'subject', 'conn_state', 'history', 'note'].filter(
    (k) => row[k] !== undefined,
  );
  return `${at(r.ts)}  ${String(r.data.monitor)} ${String(r.data.log)}.log  ${fields.map((k) => `${k}=${JSON.stringify(row[k])}`).join(' ')}`;
}

function stepLines(r: StoredRecord): string[] {
  const x = reactionOf(r);
  if (!x) return [];
  const ev = String(r.data.event);
  const head = `${at(r.ts)}  ${ev.padEnd(17)} ${x.id} ${describeAction(x.action)}`;
  const out = [head];
  const pad = '      ';
  switch (ev) {
    case 'proposed': {
      const n = r.data.notice as Record<string, unknown> | undefined;
      if (n) out.push(`${pad}answers notice ${String(n.id)} ${String(n.note)} from ${String(n.monitor)}: ${String(n.msg)}`);
      out.push(`${pad}rule ${x.rule}`);
      for (const l of x.derivation.split('\n').filter(Boolean).slice(0, 12)) out.push(`${pad}  ${l}`);
      if (x.blastRadius.length)
        out.push(`${pad}blast radius: ${x.blastRadius.map((c) => `${c.from} -> ${c.to}:${c.port} ${c.effect}`).join('; ')}`);
      else out.push(`${pad}blast radius: no required connection`);
      break;
    }
    case 'applied':
      out.push(
        `${pad}in ${String(r.data.applyMs)} ms${r.data.sinceNoticeMs !== undefined ? `, ${String(r.data.sinceNoticeMs)} ms after the notice` : ''}`,
      );
      // As the apply's answer had them: nft sessions without echo give no handle, the confirmation reads them.
      for (const rule of (r.data.rules as string[] | undefined) ?? []) out.push(`${pad}rule added: ${rule}`);
      break;
    case 'confirmed':
    case 'unconfirmed':
      out.push(`${pad}${String(r.data.drops ?? 0)} packet(s) dropped by its rules${r.data.reason ? `; ${String(r.data.reason)}` : ''}`);
      for (const rule of (r.data.rules as string[] | undefined) ?? []) out.push(`${pad}rule in force: ${rule}`);
      break;
    case 'awaiting-approval':
    case 'failed':
      if (x.reason) out.push(`${pad}${x.reason}`);
      break;
  }
  if (r.data.by) out.push(`${pad}by ${String(r.data.by)}`);
  return out;
}

export async function cmdWhy(io: Io, appArg: string, id: string, o: WhyOptions, env: CloudEnv): Promise<number> {
  const d = await findDeploymentBroker(io, appArg, env, o);
  const broker = await openDeploymentBroker(d);
  try {
    const tenant = d.tenant ?? (await broker.store.query({ app: d.app, limit: 1 }))[0]?.tenant ?? '';
    const chain = await whyChain(broker.store, tenant, d.app, id);
    if (o.json) {
      io.out(JSON.stringify(chain, null, 2));
      return chain.found === 'nothing' ? EXIT_VIOLATIONS : EXIT_OK;
    }
    if (chain.found === 'nothing') {
      io.err(`flowtap why: the broker of ${d.app} knows no reaction, notice or connection ${id}`);
      return EXIT_VIOLATIONS;
    }
    io.out(`${id} is a ${chain.found}${chain.uid ? `; connection ${chain.uid}` : ''}`);
    io.out('connection (monitor rows):');
    if (chain.connection.length) for (const r of chain.connection) io.out(`  ${rowLine(r)}`);
    else io.out('  (none shipped: the agents ship monitor rows from level 3)');
    io.out('notice:');
    for (const n of chain.notices) io.out(`  ${at(n.ts)}  ${String(n.data.note)} ${String(n.data.msg)}`);
    if (!chain.notices.length) io.out(`  ${chain.noticeIds.join(', ') || '(none)'}`);
    io.out('reactions:');
    const events = [...chain.steps, ...chain.events].sort((a, b) => a.id - b.id);
    for (const r of events)
      if (r.kind === 'reaction') for (const l of stepLines(r)) io.out(`  ${l}`);
      else
        io.out(
          `  ${at(r.ts)}  orchestrator: ${String(r.data.type)} ${r.instance ?? ''}${r.data.detail ? ` ${String(r.data.detail)}` : ''}`,
        );
    if (!chain.steps.length) io.out('  (none)');
    return EXIT_OK;
  } finally {
    await broker.close();
  }
}
