export class Interner {
    values = [];
    strings = new Map();
    numbers = new Map();
    intern(v) {
        const map = typeof v === 'string' ? this.strings : this.numbers;
        let id = map.get(v);
        if (id === undefined) {
            id = this.values.length;
            // -0 and 0 are one constant (Map already treats them as one key).
            this.values.push(typeof v === 'number' && Object.is(v, -0) ? 0 : v);
            map.set(v, id);
        }
        return id;
    }
    /** The id of a value, or -1 when it was never interned (so no tuple can hold it). */
    lookup(v) {
        const id = typeof v === 'string' ? this.strings.get(v) : this.numbers.get(v);
        return id ?? -1;
    }
    value(id) {
        return this.values[id];
    }
}
//# sourceMappingURL=intern.js.map