export function selectorMatches(selector, labels) {
    for (const key of Object.keys(selector.matchLabels)) {
        if (!Object.hasOwn(labels, key) || labels[key] !== selector.matchLabels[key])
            return false;
    }
    for (const req of selector.matchExpressions) {
        const has = Object.hasOwn(labels, req.key);
        switch (req.operator) {
            case 'In':
                if (!has || !req.values.includes(labels[req.key]))
                    return false;
                break;
            case 'NotIn':
                if (has && req.values.includes(labels[req.key]))
                    return false;
                break;
            case 'Exists':
                if (!has)
                    return false;
                break;
            case 'DoesNotExist':
                if (has)
                    return false;
                break;
        }
    }
    return true;
}
//# sourceMappingURL=k8s-selector.js.map