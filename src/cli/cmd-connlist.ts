import { computeReachability, formatConnlist, netpolsToRuleset } from '../firewall/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { importK8sManifests, k8sWorkloadKinds } from '../model/index.js';
import { EXIT_OK, need, type Io } from './exit.js';

export function cmdConnlist(io: Io, dir: string, o: { format: string }): number {
  if (o.format !== 'txt' && o.format !== 'json')
    throw new FlowtapError(diag('E_CLI_OPTION', `--format must be txt or json, not "${o.format}"`, { field: '--format' }));
  const imp = need(importK8sManifests(dir));
  for (const n of imp.notes) io.err(`note: ${n.message}`);
  const ruleset = netpolsToRuleset(imp);
  const conns = computeReachability(ruleset, imp.app, imp.addressing, { externalAs: 'ip-ranges' });
  io.out(formatConnlist(conns, o.format, { kinds: k8sWorkloadKinds(imp) }));
  return EXIT_OK;
}
