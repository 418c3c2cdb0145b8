/**
 * Expands a service's run spec for one instance. Placeholders let a descriptor wire
 * services together without knowing addresses, which the orchestrator decides:
 *   {{ip}} own address, {{dir}} the instance's run folder, {{root}} the project root,
 *   {{addr:SERVICE}} the address of SERVICE's first running instance.
 */
import { diag, FlowtapError } from '../diagnostics/index.js';
import { OrchestratorCode } from './codes.js';
import type { RunSpec } from '../model/index.js';

interface RunContext {
  ip: string;
  dir: string;
  root: string;
  addressOf(service: string): string | undefined;
}

function expandTemplate(text: string, ctx: RunContext, where: string): string {
  return text.replace(/\{\{\s*([a-z]+)(?::([^}\s]+))?\s*\}\}/g, (whole, key: string, arg?: string) => {
    switch (key) {
      case 'ip':
        return ctx.ip;
      case 'dir':
        return ctx.dir;
      case 'root':
        return ctx.root;
      case 'addr': {
        const a = arg ? ctx.addressOf(arg) : undefined;
        if (!a)
          throw new FlowtapError(
            diag(OrchestratorCode.RUN_TEMPLATE, `${whole}: no running instance of service "${arg}"`, { field: where }),
          );
        return a;
      }
      default:
        throw new FlowtapError(diag(OrchestratorCode.RUN_TEMPLATE, `unknown placeholder ${whole}`, { field: where }));
    }
  });
}

export function expandRunSpec(spec: RunSpec, ctx: RunContext, service: string): { argv: string[]; env: Record<string, string> } {
  const where = `services.${service}.run`;
  const argv = [spec.command, ...spec.args].map((a, i) => expandTemplate(a, ctx, `${where}.args[${i}]`));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = expandTemplate(v, ctx, `${where}.env.${k}`);
  return { argv, env };
}
