/**
 * Expands a service's run spec for one instance. Placeholders let a descriptor wire
 * services together without knowing addresses, which the orchestrator decides:
 *   {{ip}} own address, {{dir}} the instance's run folder, {{root}} the project root,
 *   {{addr:SERVICE}} the address of SERVICE's first running instance.
 */
import { diag, FlowtapError } from '../diagnostics/index.js';
export function expandTemplate(text, ctx, where) {
    return text.replace(/\{\{\s*([a-z]+)(?::([^}\s]+))?\s*\}\}/g, (whole, key, arg) => {
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
                    throw new FlowtapError(diag('E_RUN_TEMPLATE', `${whole}: no running instance of service "${arg}"`, { field: where }));
                return a;
            }
            default:
                throw new FlowtapError(diag('E_RUN_TEMPLATE', `unknown placeholder ${whole}`, { field: where }));
        }
    });
}
export function expandRunSpec(spec, ctx, service) {
    const where = `services.${service}.run`;
    const argv = [spec.command, ...spec.args].map((a, i) => expandTemplate(a, ctx, `${where}.args[${i}]`));
    const env = {};
    for (const [k, v] of Object.entries(spec.env))
        env[k] = expandTemplate(v, ctx, `${where}.env.${k}`);
    return { argv, env };
}
//# sourceMappingURL=run-spec.js.map