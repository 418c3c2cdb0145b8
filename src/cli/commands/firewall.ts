import {
  NODE_UPLINKS,
  renderCiliumPolicies,
  renderK8sNetworkPolicies,
  renderNftFirewall,
  renderTenantIsolation,
} from '../../dataplane/index.js';
import { diag, FlowtapError } from '../../diagnostics/index.js';
import { inferFirewall } from '../../firewall/index.js';
import { CliCode } from '../codes.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import { loadAppArg } from '../load.js';
import type { FirewallFormat, Mode } from '../options.js';

export interface FirewallOptions {
  format: FirewallFormat;
  /** Only this node (nft). */
  node?: string;
  mode: Mode;
  /** Same as `format: 'json'`. */
  json?: boolean;
}

export function cmdFirewall(io: Io, appArg: string, o: FirewallOptions): number {
  const { app, addressing } = loadAppArg(appArg);
  const ruleset = inferFirewall(app);
  const format = o.json ? 'json' : o.format;
  switch (format) {
    case 'json':
      io.out(JSON.stringify(ruleset, null, 2));
      return EXIT_OK;
    case 'nft': {
      const nodes = o.node ? [o.node] : app.nodes.map((n) => n.name);
      for (const node of nodes) {
        if (!app.nodes.some((n) => n.name === node))
          throw new FlowtapError(
            diag(CliCode.OPTION, `--node: unknown node "${node}" (have ${app.nodes.map((n) => n.name).join(', ')})`, { field: '--node' }),
          );
        io.out(`# flowtap firewall for ${app.tenant}/${app.name}, node ${node}`);
        io.out(need(renderNftFirewall(ruleset, app, addressing, node, { mode: o.mode, uplinks: NODE_UPLINKS })));
      }
      return EXIT_OK;
    }
    case 'k8s':
      io.out(need(renderK8sNetworkPolicies(ruleset, app)));
      return EXIT_OK;
    case 'cilium':
      io.out(need(renderCiliumPolicies(app)));
      return EXIT_OK;
    case 'anp':
      io.out(need(renderTenantIsolation([app])));
      return EXIT_OK;
  }
}
