/**
 * `flowtap agent --spec FILE`: one node's agent, as `flowtap up` starts it in the node's
 * namespace; runs until SIGTERM or SIGINT, then ships what it holds and exits 0.
 * `flowtap relay --route SOCKET=HOST:PORT...`: the host side of the agents' way to the broker's
 * servers (see orchestrator/broker-relay.ts).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { agentOptions, parseAgentSpec, runAgent, type AgentSpec } from '../../agent/index.js';
import { BrokerCode, openBroker, type Broker } from '../../broker/index.js';
import { diag, FlowtapError, formatDiagnostic } from '../../diagnostics/index.js';
import { startForwarder, startRelay, viaLoopback, type Forwarder, type RelayRoute } from '../../orchestrator/index.js';
import { realSystem } from '../../system/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { pause, whenAborted } from '../signals.js';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

function readSpec(file: string): AgentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FlowtapError(diag(CliCode.NO_FILE, `cannot read the agent spec: ${(e as Error).message}`, { file }));
  }
  return need(parseAgentSpec(text, file));
}

/**
 * Opens the broker, waiting for servers that do not answer yet (an agent outlives a broker's
 * restart; started with the broker down, it waits for it). A malformed address is not waited for.
 * Null when told to stop meanwhile.
 */
async function openPatiently(io: Io, addresses: { store: string; bus: string }, stop: AbortSignal): Promise<Broker | null> {
  let wait = RETRY_MIN_MS;
  let said = '';
  while (!stop.aborted) {
    // An agent writes a few records a period: SQLite checkpoints in its commits, no worker thread.
    const r = await openBroker({ ...addresses, checkpoints: 'writer' });
    if (r.ok) return r.value;
    if (r.errors.some((d) => d.code === BrokerCode.URL)) throw new FlowtapError(r.errors);
    const text = r.errors.map(formatDiagnostic).join('; ');
    if (text !== said) io.err(`flowtap agent: the broker does not answer yet (${text}); retrying`);
    said = text;
    await pause(wait, stop);
    wait = Math.min(wait * 2, RETRY_MAX_MS);
  }
  return null;
}

export async function cmdAgent(io: Io, specFile: string, stop: AbortSignal): Promise<number> {
  const spec = readSpec(specFile);
  const forwarders: Forwarder[] = [];
  try {
    const addresses = { store: spec.broker.store, bus: spec.broker.bus };
    for (const which of ['store', 'bus'] as const) {
      const socket = spec.broker.relay?.[which];
      if (!socket) continue;
      const f = await startForwarder(socket);
      forwarders.push(f);
      addresses[which] = viaLoopback(addresses[which], f.port);
    }
    const broker = await openPatiently(io, addresses, stop);
    if (!broker) return EXIT_OK;
    let agent: Awaited<ReturnType<typeof runAgent>>;
    try {
      agent = await runAgent(agentOptions(spec, broker, realSystem));
    } catch (e) {
      await broker.close();
      throw e;
    }
    if (spec.ready) writeFileSync(spec.ready, `${process.pid}\n`);
    io.err(
      `flowtap agent ${spec.node}: running for ${spec.tenant}/${spec.app} (pid ${process.pid}), level ${spec.level} every ${spec.periodMs / 1000} s, ` +
        `${spec.instances.length} instances, ${spec.monitors.length} monitors; store ${spec.broker.store}, bus ${spec.broker.bus}${forwarders.length ? ' (through the relay)' : ''}`,
    );
    await whenAborted(stop);
    await agent.stop();
    await broker.close();
    if (spec.ready) rmSync(spec.ready, { force: true });
    const st = agent.stats().shipper;
    io.err(`flowtap agent ${spec.node}: stopped; shipped ${st.shipped} records, dropped ${st.dropped}, ${st.buffered} left unshipped`);
    return EXIT_OK;
  } finally {
    for (const f of forwarders) await f.close();
  }
}

/** `SOCKET=HOST:PORT`. */
function parseRoute(text: string): RelayRoute {
  const m = /^(\/[^=]+)=(\[[^\]]+\]|[^:=]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new FlowtapError(diag(CliCode.OPTION, `--route ${text}: expected /ABSOLUTE/SOCKET=HOST:PORT`, { field: 'route' }));
  return { socket: m[1], host: m[2].replace(/^\[(.*)\]$/, '$1'), port };
}

export async function cmdRelay(io: Io, routes: string[], stop: AbortSignal): Promise<number> {
  if (routes.length === 0) throw new FlowtapError(diag(CliCode.USAGE, 'relay needs at least one --route', { field: 'route' }));
  const parsed = routes.map(parseRoute);
  const relay = await startRelay(parsed);
  io.err(`flowtap relay: ${parsed.map((r) => `${r.socket} -> ${r.host}:${r.port}`).join(', ')}`);
  await whenAborted(stop);
  await relay.close();
  return EXIT_OK;
}
