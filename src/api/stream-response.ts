/**
 * One client's server-sent events: its feed from the record hub written as `record` events
 * (id = the record's id, so a reconnecting EventSource resumes with Last-Event-ID), a comment
 * every 15 s to keep proxies from closing a quiet stream. The stream is pulled: nothing is
 * written ahead of what the socket takes, so a client that stops reading backs up into its
 * hub queue, where it is dropped (and its connection closed) rather than buffered. A stream
 * whose token lapses (revoked while it runs) ends with an `error` event saying why; the
 * EventSource's reconnection then gets 401 and stops.
 */
import type { Context } from 'hono';
import { ApiCode } from './codes.js';
import type { RecordHub, Subscriber } from './record-hub.js';

const PING_MS = 15_000;

export function sseResponse(c: Context, sub: Subscriber, hub: RecordHub): Response {
  const enc = new TextEncoder();
  // Under @hono/node-server the raw response is at hand: a dropped client's socket is closed at once.
  const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
  sub.whenClosed(() => {
    if (sub.dropped) outgoing?.destroy();
  });
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode(': flowtap records\nretry: 1000\n\n'));
    },
    async pull(controller) {
      await sub.wait(PING_MS);
      try {
        if (sub.closed) {
          if (sub.endedBecause !== null)
            controller.enqueue(enc.encode(`event: error\ndata: ${JSON.stringify({ code: ApiCode.AUTH, message: sub.endedBecause })}\n\n`));
          controller.close();
          return;
        }
        const records = sub.take();
        if (records.length === 0) {
          controller.enqueue(enc.encode(': ping\n\n'));
          return;
        }
        let text = '';
        for (const r of records) text += `event: record\nid: ${r.id}\ndata: ${JSON.stringify(r)}\n\n`;
        hub.stats.delivered += records.length;
        controller.enqueue(enc.encode(text));
      } catch {
        // The client went away while this pull waited: nothing left to write to.
        sub.close();
      }
    },
    cancel() {
      sub.close();
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' },
  });
}
