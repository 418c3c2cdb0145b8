import type { ConnId, Notice } from './notice.js';
import { NoticeType } from './notice.js';

/**
 * A request whose framing two HTTP implementations could read differently (Content-Length and
 * Transfer-Encoding together, conflicting or malformed lengths, a broken chunk): what the monitor
 * parses as one request a server may read as two. It is raised whatever the model says, since the
 * request hidden in the body is exactly the one the request policies would not otherwise see.
 */
export function requestSmuggling(uid: string, id: ConnId, ts: number, weird: string, detail: string, request: string): Notice {
  return {
    ts,
    note: NoticeType.HTTP_REQUEST_SMUGGLING,
    msg: `HTTP request framing that servers may disagree on (${weird}) in ${request || 'a request'}; parsing resumes at the next request line`,
    uid,
    id,
    src: id.origH,
    dst: id.respH,
    p: id.respP,
    evidence: {
      uids: [uid],
      port: id.respP,
      request,
      expected: 'one unambiguous message framing',
      seen: detail ? `${weird}: ${detail}` : weird,
    },
  };
}
