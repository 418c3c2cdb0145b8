/** What a service role provides: its routes, and how to release what it opened. */
import { bad, good } from './checked.js';
import { readServiceEnv } from './env.js';
export function defineService(def) {
    return {
        name: def.name,
        needs: def.needs,
        async start(source, log) {
            const env = readServiceEnv(source, def.needs);
            if (!env.ok)
                return bad(`${def.name}: ${env.error}`);
            const parts = await def.start(env.value, log);
            if (!parts.ok)
                return bad(`${def.name}: ${parts.error}`);
            return good({ port: env.value.port, bind: env.value.bind, parts: parts.value });
        },
    };
}
//# sourceMappingURL=service.js.map