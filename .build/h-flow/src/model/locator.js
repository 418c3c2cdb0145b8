import { isMap, isPair, isScalar, isSeq } from 'yaml';
import { childField, parentField } from './field-path.js';
/** For models that did not come from a file with positions: names the field only. */
export function plainLocator(file) {
    return (field) => {
        const loc = {};
        if (file !== undefined)
            loc.file = file;
        if (field)
            loc.field = field;
        return loc;
    };
}
/**
 * Indexes every mapping entry and sequence item of a parsed YAML document by
 * field path once, so each lookup is a map hit. A field that does not exist
 * (a missing key) resolves to its nearest existing ancestor.
 */
export function yamlLocator(doc, lines, file) {
    const index = new Map();
    const root = doc.contents;
    index.set('', { value: root?.range?.[0] ?? 0 });
    if (root)
        indexNode(root, '', index);
    return (field, at = 'value') => {
        let f = field;
        let offsets;
        while (f !== null) {
            offsets = index.get(f);
            if (offsets)
                break;
            f = parentField(f);
        }
        const offset = (at === 'key' ? offsets?.key ?? offsets?.value : offsets?.value ?? offsets?.key) ?? 0;
        const pos = lines.linePos(offset);
        const loc = { file, line: pos.line, col: pos.col };
        if (field)
            loc.field = field;
        return loc;
    };
}
function indexNode(node, field, index) {
    if (isMap(node)) {
        for (const pair of node.items) {
            if (!isPair(pair) || !isScalar(pair.key))
                continue;
            const f = childField(field, String(pair.key.value));
            if (index.has(f))
                continue; // duplicate key: already reported, keep the first
            const keyOffset = pair.key.range?.[0];
            const value = pair.value;
            const valueOffset = value?.range?.[0];
            index.set(f, { key: keyOffset, value: valueOffset ?? keyOffset });
            indexNode(value, f, index);
        }
    }
    else if (isSeq(node)) {
        node.items.forEach((item, i) => {
            const f = childField(field, i);
            const offset = item?.range?.[0];
            index.set(f, { value: offset });
            indexNode(item, f, index);
        });
    }
}
//# sourceMappingURL=locator.js.map