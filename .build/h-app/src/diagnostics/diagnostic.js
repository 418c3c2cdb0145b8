/** Thrown only at edges (CLI, loaders); carries every diagnostic found, not just the first. */
export class FlowtapError extends Error {
    diagnostics;
    constructor(diagnostics) {
        const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
        super(list.map(formatDiagnostic).join('\n'));
        this.name = 'FlowtapError';
        this.diagnostics = list;
    }
}
export function diag(code, message, loc) {
    return loc ? { code, message, loc } : { code, message };
}
export function formatLocation(loc) {
    if (!loc)
        return '';
    let s = loc.file ?? '';
    if (loc.line !== undefined)
        s += `${s ? ':' : 'line '}${loc.line}${loc.col !== undefined ? `:${loc.col}` : ''}`;
    if (loc.packet !== undefined)
        s += `${s ? ' ' : ''}packet ${loc.packet}`;
    if (loc.field)
        s += `${s ? ' ' : ''}(${loc.field})`;
    return s;
}
/** `file:line:col (field): error CODE: message` — the form editors and people can both follow. */
export function formatDiagnostic(d) {
    const where = formatLocation(d.loc);
    return `${where ? where + ': ' : ''}error ${d.code}: ${d.message}`;
}
export const ok = (value) => ({ ok: true, value });
export const fail = (errors) => ({
    ok: false,
    errors: Array.isArray(errors) ? errors : [errors],
});
/** Unwrap a result at an edge; throws FlowtapError with every diagnostic. */
export function unwrap(r) {
    if (r.ok)
        return r.value;
    throw new FlowtapError(r.errors);
}
//# sourceMappingURL=diagnostic.js.map