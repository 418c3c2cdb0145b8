import type { LogSchema } from '../logs/index.js';

/**
 * inline.log: one row per decision of an inline monitor, in Zeek's style. `action` is what
 * happens to the flow: `pass` or `block` for a request or connection; `fallback` when the
 * monitor hands every redirected flow to its contract's failMode (overloaded) and `live` when it
 * takes them back. `fail_mode` is the flow's contract failMode.
 */
export const INLINE_LOG: LogSchema = {
  path: 'inline',
  fields: ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'action', 'request', 'reason', 'fail_mode'],
  types: ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'string', 'string', 'enum'],
};
