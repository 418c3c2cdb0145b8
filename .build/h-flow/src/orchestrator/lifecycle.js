export class EventHub {
    listeners = new Set();
    on(l) {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
    }
    emit(e) {
        const full = { ...e, ts: new Date().toISOString() };
        for (const l of this.listeners)
            l(full);
    }
}
//# sourceMappingURL=lifecycle.js.map