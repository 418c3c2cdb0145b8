import type { App, Instance, PortSpec, Service } from './types.js';

/** Instances of a service, in ordinal order. */
export function instancesOf(app: App, service: string): Instance[] {
  return app.instances.filter((i) => i.service === service);
}

/** The service an instance belongs to, or undefined for an unknown instance. */
export function serviceOf(app: App, instance: string): Service | undefined {
  const inst = app.instances.find((i) => i.name === instance);
  return inst ? findService(app, inst.service) : undefined;
}

function findService(app: App, service: string): Service | undefined {
  return app.services.find((s) => s.name === service);
}

export function findPort(app: App, service: string, portName: string): PortSpec | undefined {
  return findService(app, service)?.ports.find((p) => p.name === portName);
}
