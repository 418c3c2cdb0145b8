export function formatField(path) {
    let out = '';
    for (const seg of path) {
        if (typeof seg === 'number')
            out += `[${seg}]`;
        else
            out += out ? `.${seg}` : seg;
    }
    return out;
}
export function childField(parent, seg) {
    if (typeof seg === 'number')
        return `${parent}[${seg}]`;
    return parent ? `${parent}.${seg}` : seg;
}
/** The enclosing field, or null at the root: `a.b[2]` -> `a.b` -> `a` -> ''. */
export function parentField(field) {
    if (field === '')
        return null;
    const m = /(?:\.[^.[\]]*|\[\d+\])$/.exec(field);
    return m ? field.slice(0, m.index) : '';
}
//# sourceMappingURL=field-path.js.map