/** Instances of a service, in ordinal order. */
export function instancesOf(app, service) {
    return app.instances.filter((i) => i.service === service);
}
/** The service an instance belongs to, or undefined for an unknown instance. */
export function serviceOf(app, instance) {
    const inst = app.instances.find((i) => i.name === instance);
    return inst ? findService(app, inst.service) : undefined;
}
export function findService(app, service) {
    return app.services.find((s) => s.name === service);
}
export function findPort(app, service, portName) {
    return findService(app, service)?.ports.find((p) => p.name === portName);
}
//# sourceMappingURL=lookup.js.map