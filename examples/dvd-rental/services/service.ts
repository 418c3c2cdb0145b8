/** What a service role provides: its routes, and how to release what it opened. */
import { bad, good, type Checked } from './checked.js';
import { readServiceEnv, type EnvKey, type ServiceEnv, type ServiceName } from './env.js';
import type { Route } from './http-server.js';
import type { Logger } from './log.js';
import { openDatabase, type Pool } from './db.js';

interface ServiceParts {
  readonly routes: readonly Route[];
  /** Called after the HTTP server has drained: stop consumers, close pools and connections. */
  stop(): Promise<void>;
}

export interface ServiceDefinition<K extends EnvKey> {
  readonly name: ServiceName;
  /** The dependency URLs this role needs; anything else in the environment is ignored. */
  readonly needs: readonly K[];
  start(env: ServiceEnv<K>, log: Logger): Promise<Checked<ServiceParts>>;
}

/** A service whose environment is read and checked at start. */
export interface Service {
  readonly name: ServiceName;
  readonly needs: readonly EnvKey[];
  start(source: NodeJS.ProcessEnv, log: Logger): Promise<Checked<{ port: number; bind: string; parts: ServiceParts }>>;
}

export function defineService<K extends EnvKey>(def: ServiceDefinition<K>): Service {
  return {
    name: def.name,
    needs: def.needs,
    async start(source, log) {
      const env = readServiceEnv(source, def.needs);
      if (!env.ok) return bad(`${def.name}: ${env.error}`);
      const parts = await def.start(env.value, log);
      if (!parts.ok) return bad(`${def.name}: ${parts.error}`);
      return good({ port: env.value.port, bind: env.value.bind, parts: parts.value });
    },
  };
}

/** A service that needs only the database: its routes are built on the opened pool, closed at stop. */
export function defineDatabaseService(name: ServiceName, routes: (pool: Pool) => readonly Route[]): Service {
  return defineService({
    name,
    needs: ['DATABASE_URL'],
    async start(env, log) {
      const db = await openDatabase(env.DATABASE_URL, log);
      if (!db.ok) return db;
      const pool = db.value;
      return good({ routes: routes(pool), stop: () => pool.end() });
    },
  });
}
