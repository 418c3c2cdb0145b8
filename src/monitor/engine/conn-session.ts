import type { LogValue } from '../logs/index.js';
import type { StreamParser } from '../stream/index.js';
import type { ConnContext, ConnId } from '../policy/index.js';

/** What the engine keeps per connection (in `Connection.userData`). */
export class ConnSession {
  parser: StreamParser | null = null;
  /** Zeek's conn.log `service`: set once the first bytes or a parser recognised its protocol. */
  service = '';
  /** Told to the policies as a failed attempt at its reset already, not again at its close. */
  attemptReported = false;
  /** Weird names already logged for this connection (each is logged once). */
  weirdNames: string[] | null = null;
  /** `id.orig_h`, `id.orig_p`, `id.resp_h`, `id.resp_p` for log rows. */
  readonly idValues: readonly LogValue[];

  constructor(
    readonly uid: string,
    readonly id: ConnId,
    readonly ctx: ConnContext | null,
  ) {
    this.idValues = [id.origH, id.origP, id.respH, id.respP];
  }

  /** True the first time `name` is reported on this connection. */
  firstWeird(name: string): boolean {
    if (this.weirdNames?.includes(name)) return false;
    this.weirdNames ??= [];
    this.weirdNames.push(name);
    return true;
  }
}
