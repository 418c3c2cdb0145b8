export function quarantine(ruleset, instances) {
    if (!instances.length)
        return ruleset;
    const q = new Set(instances);
    const add = (list) => [...new Set([...list, ...instances])];
    return {
        ...ruleset,
        isolated: { ingress: add(ruleset.isolated.ingress), egress: add(ruleset.isolated.egress) },
        rules: ruleset.rules.filter((r) => !q.has(r.target)),
        quarantined: add(ruleset.quarantined ?? []),
    };
}
//# sourceMappingURL=quarantine.js.map