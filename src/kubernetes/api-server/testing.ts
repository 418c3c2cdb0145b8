/**
 * Test helpers for the stand-in API server: a JSON request, and a watch stream read line by
 * line as a client reads it (events, whether the server ended it cleanly or the connection broke).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';

/**
 * JSON as a test reads it: whatever shape the server sent, walked without ceremony. The one
 * place the tests give up typing; a wrong path fails the assertion that reads it.
 */
// biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, read field by field by assertions
export type Loose = any;

export const loose = (v: unknown): Loose => v;

export interface Answer {
  status: number;
  body: Loose;
  headers: Record<string, string | string[] | undefined>;
}

/** One request; a JSON body is sent as given (a string as is), the answer parsed when JSON. */
export function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = request(
      new URL(path, base),
      {
        method,
        headers: {
          'content-type': 'application/json',
          ...(data !== undefined ? { 'content-length': Buffer.byteLength(data) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: the text itself
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

export interface WatchEvent {
  type: string;
  object: Loose;
}

export interface WatchStream {
  status: number;
  events: WatchEvent[];
  /** The chunked body ended cleanly (timeout, expiry, server close). */
  ended: boolean;
  /** The connection broke before the body ended. */
  broken: boolean;
  /** Waits until `pred` holds, failing after `ms`. */
  until(pred: (s: WatchStream) => boolean, ms?: number): Promise<void>;
  close(): void;
}

export function watch(base: string, path: string, headers: Record<string, string> = {}): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers }, (res) => {
      let buffer = '';
      const s: WatchStream = {
        status: res.statusCode ?? 0,
        events: [],
        ended: false,
        broken: false,
        async until(pred, ms = 3000) {
          const deadline = Date.now() + ms;
          while (!pred(s) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
          assert.ok(
            pred(s),
            `watch ${path}: not reached in ${ms} ms; events ${JSON.stringify(s.events.map((e) => e.type))}, ended ${s.ended}, broken ${s.broken}`,
          );
        },
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 1);
          if (line.trim()) s.events.push(JSON.parse(line) as WatchEvent);
        }
      });
      res.on('end', () => (s.ended = true));
      res.on('aborted', () => (s.broken = true));
      res.on('error', () => (s.broken = true));
      res.on('close', () => {
        if (!s.ended) s.broken = true;
      });
      resolve(s);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A Deployment with `replicas` pods labelled app=NAME. */
export function deployment(name: string, replicas = 2, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: `${name}:1`, ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
}

export function configMap(name: string, labels: Record<string, string> = {}, namespace = 'default'): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { k: name } };
}
