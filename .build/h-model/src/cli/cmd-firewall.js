import { NODE_UPLINKS, renderK8sNetworkPolicies, renderNftFirewall } from '../dataplane/index.js';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { inferFirewall } from '../firewall/index.js';
import { EXIT_OK, need } from './exit.js';
import { loadAppArg } from './load.js';
export function cmdFirewall(io, appArg, o) {
    const { app, addressing } = loadAppArg(appArg);
    const ruleset = inferFirewall(app);
    const format = o.json ? 'json' : o.format;
    if (o.mode !== 'enforce' && o.mode !== 'audit')
        throw new FlowtapError(diag('E_CLI_OPTION', `--mode must be enforce or audit, not "${o.mode}"`, { field: '--mode' }));
    switch (format) {
        case 'json':
            io.out(JSON.stringify(ruleset, null, 2));
            return EXIT_OK;
        case 'nft': {
            const nodes = o.node ? [o.node] : app.nodes.map((n) => n.name);
            for (const node of nodes) {
                if (!app.nodes.some((n) => n.name === node))
                    throw new FlowtapError(diag('E_CLI_OPTION', `unknown node "${node}"`, { field: '--node' }));
                io.out(`# flowtap firewall for ${app.tenant}/${app.name}, node ${node}`);
                io.out(renderNftFirewall(ruleset, app, addressing, node, { mode: o.mode, uplinks: NODE_UPLINKS }));
            }
            return EXIT_OK;
        }
        case 'k8s':
            io.out(need(renderK8sNetworkPolicies(ruleset, app)));
            return EXIT_OK;
        default:
            throw new FlowtapError(diag('E_CLI_OPTION', `--format must be json, nft or k8s, not "${format}"`, { field: '--format' }));
    }
}
//# sourceMappingURL=cmd-firewall.js.map