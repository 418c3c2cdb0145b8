import { diag, type Diagnostic } from '../diagnostics/index.js';
import { noDamage, type Damage } from './check/index.js';
import { childField } from './field-path.js';
import type { Locator } from './locator.js';
import { DEFAULT_NETWORK, monitorSchema, nodeSchema, requirementSchema, serviceSchema, topSchema, type RawRequirement } from './schema.js';
import { checkShape } from './schema-issues.js';
import type { App, HttpConstraint, MonitorSpec, NodeSpec, Requirement, Service, SqlConstraint } from './types.js';

export interface Built {
  /** Every entry that passed the structural checks; `instances` is left empty. */
  app: App;
  damaged: Damage;
  errors: Diagnostic[];
}

/**
 * Turns the plain value of a YAML document into a model, entry by entry.
 * Entries that fail the structural checks are left out and recorded as damaged.
 */
export function buildApp(raw: unknown, file: string, locate: Locator): Built {
  const errors: Diagnostic[] = [];
  const damaged = noDamage();
  const top = checkShape(topSchema, raw, '', locate);
  if (!top.ok) errors.push(...top.errors);
  const obj = isRecord(raw) ? raw : {};

  const app: App = {
    tenant: typeof obj.tenant === 'string' ? obj.tenant : '',
    name: typeof obj.app === 'string' ? obj.app : '',
    network: typeof obj.network === 'string' ? obj.network : DEFAULT_NETWORK,
    nodes: [],
    services: [],
    monitors: [],
    requirements: [],
    instances: [],
    source: file,
  };

  if (Array.isArray(obj.nodes)) {
    obj.nodes.forEach((item, i) => {
      const field = childField('nodes', i);
      const r = checkShape(nodeSchema, item, field, locate);
      if (r.ok) app.nodes.push({ name: r.value.name, loc: locate(field) } satisfies NodeSpec);
      else {
        errors.push(...r.errors);
        if (isRecord(item) && typeof item.name === 'string') damaged.nodes.add(item.name);
      }
    });
  } else damaged.nodesSection = true;

  if (isRecord(obj.services)) {
    for (const name of Object.keys(obj.services)) {
      const field = childField('services', name);
      const r = checkShape(serviceSchema, obj.services[name], field, locate);
      if (!r.ok) {
        errors.push(...r.errors);
        damaged.services.add(name);
        continue;
      }
      const s = r.value;
      const service: Service = {
        name,
        exposure: s.exposure,
        replicas: s.replicas,
        ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, app: p.app })),
        placement: s.placement,
        labels: s.labels,
        loc: locate(field, 'key'),
      };
      if (s.run) service.run = { command: s.run.command, args: s.run.args, env: s.run.env };
      app.services.push(service);
    }
  } else damaged.servicesSection = true;

  if (Array.isArray(obj.monitors)) {
    obj.monitors.forEach((item, i) => {
      const field = childField('monitors', i);
      const r = checkShape(monitorSchema, item, field, locate);
      if (r.ok) {
        const m = r.value;
        app.monitors.push({
          name: m.name,
          node: m.node,
          capacity: m.capacity,
          inspects: m.inspects,
          loc: locate(field),
        } satisfies MonitorSpec);
      } else errors.push(...r.errors);
    });
  }

  if (Array.isArray(obj.requirements)) {
    obj.requirements.forEach((item, i) => {
      const field = childField('requirements', i);
      const r = checkShape(requirementSchema, item, field, locate);
      if (!r.ok) {
        errors.push(...r.errors);
        return;
      }
      const target = splitTarget(r.value.to);
      if (!target) {
        errors.push(diag('E_TO_FORMAT', toFormatMessage(r.value.to), locate(childField(field, 'to'))));
        return;
      }
      app.requirements.push(toRequirement(i, r.value, target, locate(field)));
    });
  }

  return { app, damaged, errors };
}

function splitTarget(to: string): { service: string; port: string } | null {
  const m = /^([^:\s]+):([^:\s]+)$/.exec(to);
  return m ? { service: m[1], port: m[2] } : null;
}

function toFormatMessage(to: string): string {
  const hint = to.includes(':') ? '' : ` (add the port name, e.g. "${to}:http")`;
  return `"to" must be "service:port", naming a service and one of its port names; got ${JSON.stringify(to)}${hint}`;
}

function toRequirement(id: number, r: RawRequirement, target: { service: string; port: string }, loc: Requirement['loc']): Requirement {
  const req: Requirement = { id, from: r.from, to: target.service, port: target.port, loc };
  if (r.http) {
    const http: HttpConstraint = { methods: r.http.methods.map((m) => m.toUpperCase()), paths: r.http.paths };
    // Header names are case-insensitive on the wire; one spelling makes matching a string compare.
    if (r.http.identity)
      http.identity = {
        kind: r.http.identity.kind,
        name: r.http.identity.kind === 'header' ? r.http.identity.name.toLowerCase() : r.http.identity.name,
      };
    req.http = http;
  }
  if (r.sql) {
    // Statement kinds are checked by checkL7; the cast is what they will be once they pass.
    const sql: SqlConstraint = {
      statements: r.sql.statements.map((s) => s.toUpperCase()) as SqlConstraint['statements'],
      tables: r.sql.tables,
    };
    if (r.sql.identity) sql.identity = { ...r.sql.identity };
    req.sql = sql;
  }
  if (r.nats) req.nats = { publish: r.nats.publish, subscribe: r.nats.subscribe };
  if (r.note !== undefined) req.note = r.note;
  return req;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
