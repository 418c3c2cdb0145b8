import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { fieldOf, type CheckContext } from './context.js';
import { seeAlso } from './topology.js';
import { didYouMean } from '../suggest.js';
import { EXTERNAL, type App, type AppProtocol, type Requirement, type Service } from '../types.js';

/** Which application protocols each kind of L7 constraint can be enforced on. */
const L7_FITS: Record<'http' | 'sql' | 'nats', readonly AppProtocol[]> = {
  http: ['http'],
  sql: ['postgres', 'mysql'],
  nats: ['nats'],
};

/** Requirements name existing services and ports, make sense, and are not repeated. */
export function checkRequirements(app: App, ctx: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { locate, damaged } = ctx;
  const services = new Map<string, Service>(app.services.map((s) => [s.name, s]));
  const serviceNames = [...services.keys()];
  const seen = new Map<string, Requirement[]>();

  for (const r of app.requirements) {
    const field = fieldOf(r, `requirements[${r.id}]`);
    const unknownService = (name: string, key: 'from' | 'to'): void => {
      const extra = key === 'from' ? ` or "${EXTERNAL}"` : '';
      const list = serviceNames.length ? serviceNames.join(', ') : '(none)';
      out.push(
        diag(
          'E_UNKNOWN_SERVICE',
          `unknown service "${name}" in "${key}"; expected one of: ${list}${extra}${didYouMean(name, serviceNames)}`,
          locate(`${field}.${key}`),
        ),
      );
    };
    // With no usable service at all, E_NO_SERVICES (or the structural error) already says it all.
    const skip = (name: string): boolean => damaged.servicesSection || services.size === 0 || damaged.services.has(name);

    const from = services.get(r.from);
    if (r.from !== EXTERNAL && !from && !skip(r.from)) unknownService(r.from, 'from');

    const to = services.get(r.to);
    // A service named "external" is already reported as reserved; its references are not news.
    if (r.to === EXTERNAL && !to) {
      out.push(
        diag(
          'E_UNKNOWN_SERVICE',
          `"${EXTERNAL}" can only appear in "from": a requirement grants access to a port of one of the application's services`,
          locate(`${field}.to`),
        ),
      );
    } else if (!to && !skip(r.to)) unknownService(r.to, 'to');

    if (r.from === r.to) {
      out.push(
        diag(
          'E_SELF_REQUIREMENT',
          `"from" and "to" are both "${r.from}": instances of a service need no requirement to reach themselves`,
          locate(`${field}.to`),
        ),
      );
    }
    if (r.from === EXTERNAL && to && to.exposure !== 'public') {
      out.push(
        diag(
          'E_EXTERNAL_TO_INTERNAL',
          `"${r.to}" is internal, so clients outside the application cannot reach it; set "exposure: public" on it or change "from"`,
          locate(`${field}.from`),
        ),
      );
    }

    const port = to?.ports.find((p) => p.name === r.port);
    if (to && !port) {
      const names = to.ports.map((p) => p.name);
      out.push(
        diag(
          'E_UNKNOWN_PORT',
          `service "${to.name}" has no port named "${r.port}"; its ports: ${names.join(', ') || '(none)'}${didYouMean(r.port, names)}`,
          locate(`${field}.to`),
        ),
      );
    }
    if (port) {
      for (const kind of ['http', 'sql', 'nats'] as const) {
        if (r[kind] && !L7_FITS[kind].includes(port.app)) {
          out.push(
            diag(
              'E_L7_MISMATCH',
              `${kind === 'http' ? 'an' : 'a'} ${kind} constraint needs a port speaking ${L7_FITS[kind].join(' or ')}, but ${r.to}:${r.port} speaks ${port.app}`,
              locate(`${field}.${kind}`, 'key'),
            ),
          );
        }
      }
    }

    const key = `${r.from}\u0000${r.to}\u0000${r.port}`;
    const earlier = seen.get(key) ?? [];
    const dup = earlier.find((e) => !hasL7(e) || !hasL7(r) || sameL7(e, r));
    if (dup) {
      const why = !hasL7(dup)
        ? `requirement ${dup.id} already allows all traffic`
        : !hasL7(r)
          ? 'this one would allow all traffic'
          : `requirement ${dup.id} has the same constraints`;
      out.push(
        diag(
          'E_DUP_REQUIREMENT',
          `duplicate requirement from "${r.from}" to ${r.to}:${r.port}: ${why}${seeAlso(dup.loc)}; merge them or make their constraints differ`,
          locate(field),
        ),
      );
    }
    earlier.push(r);
    seen.set(key, earlier);
  }
  return out;
}

const hasL7 = (r: Requirement): boolean => r.http !== undefined || r.sql !== undefined || r.nats !== undefined;
const sameL7 = (a: Requirement, b: Requirement): boolean =>
  JSON.stringify([a.http, a.sql, a.nats]) === JSON.stringify([b.http, b.sql, b.nats]);
