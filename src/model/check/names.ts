import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { fieldOf, type CheckContext } from './context.js';
import { childField } from '../field-path.js';
import { ENV_KEY_RULE, isEnvKey, isLabelKey, isName, isNodeName, LABEL_KEY_RULE, NAME_RULE, NODE_NAME_RULE } from '../names.js';
import { EXTERNAL, type App } from '../types.js';

/** Every user-chosen name and key has the form later stages rely on. */
export function checkNames(app: App, ctx: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const bad = (field: string, what: string, value: string, rule: string, at: 'key' | 'value' = 'value'): void => {
    out.push(diag('E_NAME', `${what} ${JSON.stringify(value)} is not valid: expected ${rule}`, ctx.locate(field, at)));
  };

  // Empty tenant/app means the key was missing or mistyped: already reported structurally.
  if (app.tenant && !isName(app.tenant)) bad('tenant', 'tenant', app.tenant, NAME_RULE);
  if (app.name && !isName(app.name)) bad('app', 'app name', app.name, NAME_RULE);

  app.nodes.forEach((n, i) => {
    if (!isNodeName(n.name)) bad(childField(fieldOf(n, `nodes[${i}]`), 'name'), 'node name', n.name, NODE_NAME_RULE);
  });

  for (const s of app.services) {
    const field = fieldOf(s, `services.${s.name}`);
    if (s.name === EXTERNAL) {
      out.push(
        diag(
          'E_RESERVED_NAME',
          `a service cannot be named "${EXTERNAL}": that name stands for clients outside the application in requirements`,
          ctx.locate(field, 'key'),
        ),
      );
    } else if (!isName(s.name)) bad(field, 'service name', s.name, NAME_RULE, 'key');

    s.ports.forEach((p, i) => {
      if (!isName(p.name)) bad(`${field}.ports[${i}].name`, 'port name', p.name, NAME_RULE);
    });
    for (const key of Object.keys(s.labels)) {
      if (!isLabelKey(key)) bad(`${field}.labels.${key}`, 'label key', key, LABEL_KEY_RULE, 'key');
    }
    for (const key of Object.keys(s.run?.env ?? {})) {
      if (!isEnvKey(key)) bad(`${field}.run.env.${key}`, 'environment variable', key, ENV_KEY_RULE, 'key');
    }
  }

  app.monitors.forEach((m, i) => {
    if (!isName(m.name)) bad(childField(fieldOf(m, `monitors[${i}]`), 'name'), 'monitor name', m.name, NAME_RULE);
  });
  return out;
}
