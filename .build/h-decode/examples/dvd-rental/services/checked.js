export function good(value) {
    return { ok: true, value };
}
export function bad(error) {
    return { ok: false, error };
}
//# sourceMappingURL=checked.js.map