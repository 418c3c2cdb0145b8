import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../../model/index.js';
import { addressProblem, parseIpv4 } from '../../net/index.js';

const MAX_ADDRESSING_BYTES = 4 * 1024 * 1024;

/**
 * The part of an addressing state the monitor needs: each instance's address. Other fields of
 * the orchestrator's state (node, port, mac, monitors, nodes) are accepted and kept.
 */
const AddressingShape = z.object({
  instances: z.record(
    z.string(),
    z.looseObject({
      ip: z.string(),
      instance: z.string().optional(),
      node: z.string().optional(),
      port: z.string().optional(),
      mac: z.string().optional(),
    }),
  ),
  monitors: z.record(z.string(), z.any()).optional(),
  nodes: z.record(z.string(), z.any()).optional(),
});

/** Parse an addressing document (JSON text) against the app: every instance named must exist, every address be IPv4. */
export function parseAddressing(text: string, app: App, file: string): Result<Addressing> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(diag('E_ADDRESSING_JSON', `addressing is not JSON: ${(e as Error).message}`, { file }));
  }
  const parsed = AddressingShape.safeParse(doc);
  if (!parsed.success) {
    return fail(parsed.error.issues.map((i) => diag('E_ADDRESSING', i.message, { file, field: i.path.join('.') })));
  }
  const errors: Diagnostic[] = [];
  const known = new Set(app.instances.map((i) => i.name));
  const out: Addressing = { instances: {}, monitors: {}, nodes: {} };
  const seen = new Map<string, string>();
  for (const [name, att] of Object.entries(parsed.data.instances)) {
    const field = `instances.${name}`;
    if (!known.has(name))
      errors.push(diag('E_ADDRESSING', `unknown instance "${name}" (the app has ${[...known].join(', ')})`, { file, field }));
    if (parseIpv4(att.ip) === undefined)
      errors.push(diag('E_ADDRESSING', `"${att.ip}" is not an IPv4 address: ${addressProblem(att.ip, 4)}`, { file, field: `${field}.ip` }));
    const other = seen.get(att.ip);
    if (other !== undefined)
      errors.push(diag('E_ADDRESSING', `address ${att.ip} is given to both "${other}" and "${name}"`, { file, field: `${field}.ip` }));
    seen.set(att.ip, name);
    const inst = app.instances.find((i) => i.name === name);
    out.instances[name] = { instance: name, node: att.node ?? inst?.node ?? '', port: att.port ?? '', ip: att.ip, mac: att.mac ?? '' };
  }
  if (errors.length > 0) return fail(errors);
  out.monitors = (parsed.data.monitors ?? {}) as Addressing['monitors'];
  out.nodes = (parsed.data.nodes ?? {}) as Addressing['nodes'];
  return ok(out);
}

/**
 * The model a monitor works with: the descriptor, and the instances' addresses from an
 * addressing file (the orchestrator's state) or, without one, the local cloud's deterministic plan.
 */
export function loadMonitorModel(appPath: string, addressingPath?: string): Result<{ app: App; addressing: Addressing }> {
  const app = loadApp(appPath);
  if (!app.ok) return app;
  if (addressingPath === undefined) {
    const planned = planAddresses(app.value);
    return planned.ok ? ok({ app: app.value, addressing: planned.value }) : planned;
  }
  let text: string;
  try {
    text = readFileSync(addressingPath, 'utf8');
  } catch (e) {
    return fail(diag('E_ADDRESSING_READ', `cannot read addressing: ${(e as Error).message}`, { file: addressingPath }));
  }
  if (text.length > MAX_ADDRESSING_BYTES)
    return fail(diag('E_ADDRESSING_READ', `addressing is larger than ${MAX_ADDRESSING_BYTES} bytes`, { file: addressingPath }));
  const addressing = parseAddressing(text, app.value, addressingPath);
  if (!addressing.ok) return addressing;
  return ok({ app: app.value, addressing: addressing.value });
}
