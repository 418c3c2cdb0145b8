/**
 * The simulated datapath: classifies a packet against a deployment's compiled firewall and
 * taps with the semantics of the nftables scripts nodeScript renders, and says where it and
 * its copies go. The oracle for what-if runs and for tests without root.
 *
 *   const sim = compileSimulation({ app, addressing, ruleset, contracts });   // once
 *   simulatePacket(sim, { from: fromInstance('web-0'), packet }, { ctState: 'new' });
 *
 * Redirects are inline by default, as nodeScript renders them: what a monitor on the tapped
 * port's node does with a diverted frame is the option `inlineVerdict` (pass, block, or
 * monitor-down: the contract's failMode decides), and a passed frame goes on from its return
 * port (trace.diversions says what each monitor did).
 */
import type { Result } from '../../diagnostics/index.js';
import { compileSimulation } from './compile.js';
import type { Simulation } from './model.js';
import { runProbe } from './engine.js';
import type { SimEntry, SimInput, SimOptions, SimProbe, SimTrace } from './types.js';

export * from './types.js';
export { compileSimulation } from './compile.js';
export type { Simulation } from './model.js';
export { formatTrace } from './format.js';

const compiled = new WeakMap<SimInput, Result<Simulation>>();

function isSimulation(x: SimInput | Simulation): x is Simulation {
  return (x as Simulation).kind === 'flowtap-simulation';
}

/**
 * Where one packet goes. Given a SimInput, the compiled form is cached on that object: compile
 * again (or pass a new object) after changing it. Fails on an input the renderers would refuse
 * and on an entry that does not exist. For many packets, give options objects of one shape (all
 * the same keys, or one object): reading keys that some objects lack costs more than a lookup.
 */
export function simulatePacket(input: SimInput | Simulation, probe: SimProbe, opts?: SimOptions): Result<SimTrace> {
  let sim: Simulation;
  if (isSimulation(input)) sim = input;
  else {
    let c = compiled.get(input);
    if (!c) {
      c = compileSimulation(input);
      compiled.set(input, c);
    }
    if (!c.ok) return c;
    sim = c.value;
  }
  return runProbe(sim, probe, opts);
}

export const fromInstance = (instance: string): SimEntry => ({ kind: 'instance', instance });
export const fromOutside = (node?: string): SimEntry => (node === undefined ? { kind: 'outside' } : { kind: 'outside', node });
