/**
 * Reading a (hand-edited) ruleset from JSON or YAML: the same shape `flowtap firewall`
 * prints, checked field by field with positioned errors, plus references to instances
 * and services of the application.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod/v3';
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { parseYamlShape, type App } from '../model/index.js';
import { parseIpv4Cidr } from '../net/index.js';
import type { Ruleset } from './types.js';

const port = z.number().finite().int().min(1).max(65535);
const peer = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('service'), service: z.string() }),
  z.strictObject({ kind: z.literal('instances'), instances: z.array(z.string()) }),
  z.strictObject({ kind: z.literal('cidr'), cidr: z.string(), except: z.array(z.string()).default([]) }),
  z.strictObject({ kind: z.literal('external') }),
  z.strictObject({ kind: z.literal('any') }),
]);
const rule = z.strictObject({
  id: z.string().min(1),
  direction: z.enum(['ingress', 'egress']),
  target: z.string(),
  peer,
  protocol: z.enum(['tcp', 'udp', 'any']),
  ports: z.array(z.strictObject({ from: port, to: port })).nullable(),
  action: z.enum(['accept', 'drop']),
  requirement: z.number().finite().int().min(0).optional(),
  comment: z.string().optional(),
});
const schema = z.strictObject({
  tenant: z.string(),
  app: z.string(),
  network: z.string(),
  isolated: z.strictObject({ ingress: z.array(z.string()), egress: z.array(z.string()) }),
  rules: z.array(rule),
  quarantined: z.array(z.string()).optional(),
  base: z.strictObject({
    arp: z.boolean(),
    established: z.boolean(),
    dns: z.strictObject({ ip: z.string(), port }).optional(),
  }),
});

export function parseRuleset(text: string, file: string, app: App): Result<Ruleset> {
  const shaped = parseYamlShape(schema, text, file, 'a ruleset as printed by `flowtap firewall --format json`');
  if (!shaped.ok) return shaped;
  const rs = shaped.value.value as Ruleset;
  const at = shaped.value.locate;
  const errors: Diagnostic[] = [];
  const instances = new Set(app.instances.map((i) => i.name));
  const services = new Set(app.services.map((s) => s.name));
  const ids = new Set<string>();
  const network = parseIpv4Cidr(rs.network);
  if (!network.ok) errors.push(diag('E_RULESET', `network "${rs.network}" is not an IPv4 CIDR: ${network.reason}`, at('network')));
  rs.rules.forEach((r, i) => {
    const field = `rules[${i}]`;
    if (ids.has(r.id)) errors.push(diag('E_RULESET', `duplicate rule id "${r.id}"`, { file, field: `${field}.id` }));
    ids.add(r.id);
    if (!instances.has(r.target))
      errors.push(diag('E_RULESET', `rule ${r.id}: unknown instance "${r.target}"`, { file, field: `${field}.target` }));
    if (r.peer.kind === 'service' && !services.has(r.peer.service))
      errors.push(diag('E_RULESET', `rule ${r.id}: unknown service "${r.peer.service}"`, { file, field: `${field}.peer.service` }));
    if (r.peer.kind === 'instances')
      for (const x of r.peer.instances)
        if (!instances.has(x))
          errors.push(diag('E_RULESET', `rule ${r.id}: unknown instance "${x}"`, { file, field: `${field}.peer.instances` }));
    if (r.peer.kind === 'cidr')
      for (const c of [r.peer.cidr, ...r.peer.except]) {
        const block = parseIpv4Cidr(c);
        if (!block.ok)
          errors.push(diag('E_RULESET', `rule ${r.id}: "${c}" is not an IPv4 CIDR: ${block.reason}`, { file, field: `${field}.peer` }));
      }
    for (const p of r.ports ?? [])
      if (p.from > p.to)
        errors.push(diag('E_RULESET', `rule ${r.id}: port range ${p.from}-${p.to} is inverted`, { file, field: `${field}.ports` }));
  });
  return errors.length ? fail(errors) : ok(rs);
}

export function loadRuleset(file: string, app: App): Result<Ruleset> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(diag('E_NO_FILE', `cannot read ${file}: ${(e as Error).message}`, { file }));
  }
  return parseRuleset(text, file, app);
}
