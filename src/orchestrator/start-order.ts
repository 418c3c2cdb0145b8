/**
 * Instances start after the services they call, so a service that connects at start
 * (a database client, a NATS subscriber) finds its peer listening. Cycles in the
 * requirement graph are broken by descriptor order.
 */
import type { App } from '../model/index.js';
import { EXTERNAL } from '../model/index.js';

export function startOrder(app: App): string[] {
  const deps = new Map<string, Set<string>>(app.services.map((s) => [s.name, new Set<string>()]));
  for (const r of app.requirements) if (r.from !== EXTERNAL && r.from !== r.to) deps.get(r.from)?.add(r.to);
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: string[] = [];
  const visit = (s: string) => {
    if (done.has(s) || visiting.has(s)) return;
    visiting.add(s);
    for (const d of deps.get(s) ?? []) visit(d);
    visiting.delete(s);
    done.add(s);
    order.push(s);
  };
  for (const s of app.services) visit(s.name);
  return order.flatMap((s) => app.instances.filter((i) => i.service === s).map((i) => i.name));
}
