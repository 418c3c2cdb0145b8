import { EXTERNAL } from '../model/index.js';
export function startOrder(app) {
    const deps = new Map(app.services.map((s) => [s.name, new Set()]));
    for (const r of app.requirements)
        if (r.from !== EXTERNAL && r.from !== r.to)
            deps.get(r.from)?.add(r.to);
    const done = new Set();
    const visiting = new Set();
    const order = [];
    const visit = (s) => {
        if (done.has(s) || visiting.has(s))
            return;
        visiting.add(s);
        for (const d of deps.get(s) ?? [])
            visit(d);
        visiting.delete(s);
        done.add(s);
        order.push(s);
    };
    for (const s of app.services)
        visit(s.name);
    return order.flatMap((s) => app.instances.filter((i) => i.service === s).map((i) => i.name));
}
//# sourceMappingURL=start-order.js.map