import { defaultContext } from './check-context.js';
import { checkL7 } from './check-l7.js';
import { checkNames } from './check-names.js';
import { checkNetwork } from './check-network.js';
import { checkRequirements } from './check-requirements.js';
import { checkTopology } from './check-topology.js';
/**
 * Every semantic check on a model, whatever it was read from (YAML, Kubernetes,
 * code). Returns all problems found, in input order when positions are known.
 */
export function checkApp(app, ctx = defaultContext(app.source)) {
    const all = [
        ...checkNames(app, ctx),
        ...checkTopology(app, ctx),
        ...checkNetwork(app, ctx),
        ...checkRequirements(app, ctx),
        ...checkL7(app, ctx),
    ];
    return sortByPosition(all);
}
export function sortByPosition(list) {
    // Array.prototype.sort is stable, so problems at one spot keep their check order.
    return list.sort((a, b) => (a.loc?.line ?? 0) - (b.loc?.line ?? 0) || (a.loc?.col ?? 0) - (b.loc?.col ?? 0));
}
//# sourceMappingURL=check-app.js.map