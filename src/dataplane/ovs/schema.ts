/**
 * The shape of an Open vSwitch node configuration read from outside this process: a state file
 * (what a bridge was given last) or a push on the bus to a node's agent. Both end up in
 * ovs-ofctl: a flow becomes one line of a bundle (`flow add`, `flow delete_strict`), so a text
 * holding a line break could smuggle a flow of its own into it. Every text is one line, and the
 * bridge is a name flowtap could have given.
 */
import { z } from 'zod';
import type { OvsNodeConfig } from './render.js';

const name = z.string().min(1);
const ofLine = z.string().regex(/^[^\n\r]*$/, 'expected one line');
const ruleRef = z.strictObject({ table: ofLine, chain: ofLine, comment: ofLine });
const ovsObject = z.strictObject({ id: z.number().int().nonnegative(), text: ofLine, rule: ruleRef.optional() });

export const ovsNodeConfigSchema: z.ZodType<OvsNodeConfig> = z.strictObject({
  node: name,
  bridge: z.string().regex(/^[0-9a-z]{1,15}$/, 'expected a bridge name'),
  flows: z.array(
    z.strictObject({
      table: z.number().int().min(0).max(254),
      priority: z.number().int().min(0).max(65535),
      match: ofLine,
      actions: ofLine,
      rule: ruleRef.optional(),
    }),
  ),
  meters: z.array(ovsObject),
  groups: z.array(ovsObject),
  ports: z.array(z.number().int().positive()),
});

/** Each problem of a configuration read from outside, with the path to it; none when it is sound. */
export function ovsConfigIssues(value: unknown): { path: (string | number)[]; message: string }[] {
  const r = ovsNodeConfigSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
}
