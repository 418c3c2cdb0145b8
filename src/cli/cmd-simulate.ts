/** `flowtap simulate`: where one packet goes through the compiled firewall and taps, without root. */
import { compileSimulation, formatTrace, fromInstance, fromOutside, simulatePacket } from '../dataplane/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { inferFirewall } from '../firewall/index.js';
import { parsePacketSpec, type FlowTap } from '../flowtap/index.js';
import { EXTERNAL } from '../model/index.js';
import { compileFromCli } from './cmd-taps.js';
import { EXIT_OK, need, type Io } from './exit.js';
import { loadAppArg } from './load.js';

export interface SimulateCliOptions {
  policy: string[];
  strategy: string;
  packet: string;
  from: string;
  established: boolean;
  json: boolean;
}

export function cmdSimulate(io: Io, appArg: string, o: SimulateCliOptions): number {
  let app, addressing, contracts: FlowTap[];
  if (o.policy.length) ({ app, addressing, compiled: { contracts } } = compileFromCli(appArg, o.policy, o.strategy));
  else ({ app, addressing } = loadAppArg(appArg)), (contracts = []);
  if (o.from !== EXTERNAL && !app.instances.some((i) => i.name === o.from))
    throw new FlowtapError(diag('E_CLI_OPTION', `--from must be an instance (${app.instances.map((i) => i.name).join(', ')}) or "external"`, { field: '--from' }));
  const packet = need(parsePacketSpec(o.packet, { field: '--packet' }));
  const sim = need(compileSimulation({ app, addressing, ruleset: inferFirewall(app), contracts }));
  const trace = need(
    simulatePacket(sim, { from: o.from === EXTERNAL ? fromOutside() : fromInstance(o.from), packet }, { ctState: o.established ? 'established' : 'new' }),
  );
  io.out(o.json ? JSON.stringify(trace, null, 2) : formatTrace(trace));
  return EXIT_OK;
}
