import { z } from 'zod/v3';

/**
 * Structure of the descriptor as written. Only shapes and types live here;
 * ranges, names and cross-references are semantic checks with codes of their
 * own (check/), which keeps every message specific.
 *
 * Sections are checked element by element (services one at a time, ...) so one
 * broken entry does not hide the problems of the others.
 */

const APP_PROTOCOLS = ['http', 'postgres', 'nats', 'mysql', 'dns', 'other'] as const;
export const DEFAULT_NETWORK = '10.77.0.0/16';
const DEFAULT_MONITOR_CAPACITY = 1000;

/** YAML's `.inf` is a number to a parser but never a count, a port or a name. */
const num = () => z.number().finite();
/** YAML readers write `PORT: 8080` for env values; the environment only holds strings. */
const textLike = z.union([z.string(), num(), z.boolean()]).transform(String);
const text = z.string().min(1);

export const topSchema = z.strictObject({
  tenant: z.string(),
  app: z.string(),
  network: z.string().default(DEFAULT_NETWORK),
  nodes: z.array(z.unknown()),
  services: z.record(z.string(), z.unknown()),
  monitors: z.array(z.unknown()).default([]),
  requirements: z.array(z.unknown()).default([]),
});

export const nodeSchema = z.strictObject({ name: z.string() });

const portSchema = z.strictObject({
  name: z.string(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  port: num(),
  app: z.enum(APP_PROTOCOLS).default('other'),
});

const runSchema = z.strictObject({
  command: text,
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), textLike).default({}),
});

export const serviceSchema = z.strictObject({
  exposure: z.enum(['public', 'internal']).default('internal'),
  replicas: num().default(1),
  placement: z.array(z.string()).default([]),
  labels: z.record(z.string(), textLike).default({}),
  ports: z.array(portSchema).default([]),
  run: runSchema.optional(),
});

export const monitorSchema = z.strictObject({
  name: z.string(),
  node: z.string(),
  capacity: num().default(DEFAULT_MONITOR_CAPACITY),
  inspects: z.array(z.enum([...APP_PROTOCOLS, 'any'])).default(['any']),
});

const identitySchema = z.strictObject({
  kind: z.enum(['header', 'json', 'sql-param', 'path']),
  name: z.union([z.string(), num()]).transform(String),
});

const httpSchema = z.strictObject({
  methods: z.array(z.string()).default([]),
  paths: z.array(z.string()).default([]),
  identity: identitySchema.optional(),
});

const sqlSchema = z.strictObject({
  statements: z.array(z.string()).default([]),
  tables: z.array(z.string()).default([]),
  identity: identitySchema.optional(),
});

const natsSchema = z.strictObject({
  publish: z.array(z.string()).default([]),
  subscribe: z.array(z.string()).default([]),
});

export const requirementSchema = z.strictObject({
  from: z.string(),
  to: z.string(),
  http: httpSchema.optional(),
  sql: sqlSchema.optional(),
  nats: natsSchema.optional(),
  note: z.string().optional(),
});

export type RawRequirement = z.output<typeof requirementSchema>;
