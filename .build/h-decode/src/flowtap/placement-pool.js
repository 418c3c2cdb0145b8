export class MonitorPool {
    strategy;
    count;
    names;
    nodes;
    caps;
    /** Mbit/s placed so far. */
    used;
    byName = new Map();
    /**
     * How many kinds a monitor accepts (Infinity for `any`). Placing a flow on the most specialised
     * monitor that can take it keeps versatile capacity for the kinds only versatile monitors parse.
     */
    versatility;
    apps;
    inspectsAny;
    kinds;
    byNode = new Map();
    eligibleCache = new Map();
    localCache = new Map();
    constructor(monitors, strategy) {
        this.strategy = strategy;
        const n = monitors.length;
        this.count = n;
        this.names = new Array(n);
        this.nodes = new Array(n);
        this.apps = new Array(n);
        this.kinds = new Array(n);
        this.caps = new Float64Array(n);
        this.used = new Float64Array(n);
        this.inspectsAny = new Uint8Array(n);
        this.versatility = new Float64Array(n);
        for (let i = 0; i < n; i++) {
            const m = monitors[i];
            this.names[i] = m.name;
            this.nodes[i] = m.node;
            this.apps[i] = m.app;
            this.kinds[i] = new Set(m.inspects);
            this.inspectsAny[i] = m.inspects.includes('any') ? 1 : 0;
            this.versatility[i] = this.inspectsAny[i] ? Infinity : this.kinds[i].size;
            this.caps[i] = m.capacity;
            this.byName.set(m.name, i);
            const list = this.byNode.get(m.node);
            if (list)
                list.push(i);
            else
                this.byNode.set(m.node, [i]);
        }
    }
    /** Whether monitor `m` may receive a flow of `kind` from application `app` under the strategy. */
    accepts(m, kind, app) {
        if (!this.inspectsAny[m] && !this.kinds[m].has(kind))
            return false;
        const owner = this.apps[m];
        // per-app: only the application's own monitors; per-node: shared node monitors or its own.
        return this.strategy === 'per-app' ? owner === app : owner === undefined || owner === app;
    }
    /** Monitors that may take flows of this kind and application, in input order. */
    eligible(kind, app) {
        const key = eligibilityKey(kind, app);
        let list = this.eligibleCache.get(key);
        if (!list) {
            list = [];
            for (let m = 0; m < this.count; m++)
                if (this.accepts(m, kind, app))
                    list.push(m);
            this.eligibleCache.set(key, list);
        }
        return list;
    }
    /** Eligible monitors on `node`. */
    local(kind, app, node) {
        const key = eligibilityKey(kind, app) + '\u0000' + node;
        let list = this.localCache.get(key);
        if (!list) {
            list = (this.byNode.get(node) ?? []).filter((m) => this.accepts(m, kind, app));
            this.localCache.set(key, list);
        }
        return list;
    }
    /**
     * Whether `load` more Mbit/s fit on `m`. Written exactly as a reader checks the output (running
     * sum + load <= capacity): assignments are emitted in the order they were charged, so summing
     * them in output order reproduces these very float additions and can never exceed a capacity.
     */
    fits(m, load) {
        return this.used[m] + load <= this.caps[m];
    }
    /** Mbit/s still free on `m`, for ordering and messages. */
    room(m) {
        return this.caps[m] - this.used[m];
    }
}
function eligibilityKey(kind, app) {
    // '\u0001' marks a present app so that "no app" and an app named '' can never share a key.
    return app === undefined ? kind : kind + '\u0000\u0001' + app;
}
//# sourceMappingURL=placement-pool.js.map