/** `flowtap simulate`: where one packet goes through the compiled firewall and taps, without root. */
import { compileSimulation, formatTrace, fromInstance, fromOutside, simulatePacket } from '../../dataplane/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { inferFirewall } from '../../firewall/index.js';
import { parsePacketSpec, type FlowTap } from '../../flowtap/index.js';
import { EXTERNAL, type Addressing, type App } from '../../model/index.js';
import { compileFromCli } from './taps.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';
import type { InlineVerdict, Strategy } from '../options.js';

export interface SimulateOptions {
  policy: string[];
  strategy: Strategy;
  packet: string;
  /** An instance, or "external". */
  from: string;
  established?: boolean;
  /** What an inline monitor does with a redirected packet: pass, block, or monitor-down (failMode decides). */
  inlineVerdict: InlineVerdict;
  json?: boolean;
}

const PACKET_EXAMPLE = 'tcp,nw_src=10.77.0.5,nw_dst=10.77.1.4,tp_dst=5432';

/** Without policies, the firewall alone. */
function deployment(appArg: string, o: SimulateOptions): { app: App; addressing: Addressing; contracts: FlowTap[] } {
  if (!o.policy.length) return { ...loadAppArg(appArg), contracts: [] };
  const { app, addressing, compiled } = compileFromCli(appArg, o.policy, o.strategy);
  return { app, addressing, contracts: compiled.contracts };
}

export function cmdSimulate(io: Io, appArg: string, o: SimulateOptions): number {
  const { app, addressing, contracts } = deployment(appArg, o);
  if (o.from !== EXTERNAL && !app.instances.some((i) => i.name === o.from))
    throw new FlowtapError(
      diag(CliCode.OPTION, `--from must be an instance (${app.instances.map((i) => i.name).join(', ')}) or "external"`, {
        field: '--from',
      }),
    );
  // An empty flow matches every packet, but describes none: `--packet=` is a slip, not a packet.
  if (o.packet.replace(/[\s,]/g, '') === '')
    throw new FlowtapError(
      diag(CliCode.OPTION, `--packet is empty: describe the packet in flow syntax, e.g. '${PACKET_EXAMPLE}'`, { field: '--packet' }),
    );
  const packet = need(parsePacketSpec(o.packet, { field: '--packet' }));
  const sim = need(compileSimulation({ app, addressing, ruleset: inferFirewall(app), contracts }));
  const traced = simulatePacket(
    sim,
    { from: o.from === EXTERNAL ? fromOutside() : fromInstance(o.from), packet },
    { ctState: o.established ? 'established' : 'new', inlineVerdict: o.inlineVerdict },
  );
  // Where the packet cannot enter, say which option to change.
  const trace = need(
    traced.ok
      ? traced
      : {
          ok: false,
          errors: traced.errors.map((e) =>
            e.loc
              ? e
              : {
                  ...e,
                  message: `--packet '${o.packet}' --from ${o.from}: ${e.message}`,
                  loc: { field: o.from === EXTERNAL ? '--packet' : '--from' },
                },
          ),
        },
  );
  io.out(o.json ? JSON.stringify(trace, null, 2) : formatTrace(trace));
  return EXIT_OK;
}
