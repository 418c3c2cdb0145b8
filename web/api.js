// The API client: flowtap API v1 (the contract in the API's openapi.json). Paths are relative to
// the page so the dashboard works behind a path prefix as well as at `/`.

const TOKEN_KEY = 'flowtap.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Called on any 401, so the page can go back to the login form (token revoked or expired). */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

const url = (path, query) => {
  const u = new URL(`api/v1/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  return u;
};

async function api(path, { method = 'GET', query, body, bearer = token.get() } = {}) {
  let res;
  try {
    res = await fetch(url(path, query), {
      method,
      headers: { authorization: `Bearer ${bearer ?? ''}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new ApiError(0, 'E_NETWORK', `cannot reach the API: ${e.message}`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page: reported below with the status.
  }
  if (!res.ok) {
    const err = json?.error ?? {};
    const e = new ApiError(res.status, err.code ?? `HTTP_${res.status}`, err.message ?? `${res.status} ${res.statusText}`, err.field);
    if (res.status === 401 && bearer === token.get()) onUnauthorized(e);
    throw e;
  }
  return json;
}

const app = (name) => `apps/${encodeURIComponent(name)}`;

export const whoami = (bearer) => api('whoami', { bearer });
export const listApps = () => api('apps');
export const getGraph = (name) => api(`${app(name)}/graph`);
export const getNotices = (name, query) => api(`${app(name)}/notices`, { query });
export const getReactions = (name) => api(`${app(name)}/reactions`);
export const getRecords = (name, query) => api(`${app(name)}/records`, { query });
export const getVerbosity = (name) => api(`${app(name)}/verbosity`);
export const putVerbosity = (name, body) => api(`${app(name)}/verbosity`, { method: 'PUT', body });
export const reactionOp = (name, id, op) => api(`${app(name)}/reactions/${encodeURIComponent(id)}/${op}`, { method: 'POST' });

/**
 * The live record stream (SSE). EventSource resumes by itself after a dropped connection, but
 * gives up on an HTTP error; then this reopens it from the last record seen, after a pause.
 */
export function streamRecords(name, query, { onRecord, onStatus }) {
  let es = null;
  let lastId = query.afterId;
  let stopped = false;
  let retry = null;
  const open = () => {
    const u = url(`${app(name)}/records/stream`, { ...query, afterId: lastId, token: token.get() });
    es = new EventSource(u);
    es.onopen = () => onStatus('live');
    es.onerror = (ev) => {
      if (stopped) return;
      // The server's own `event: error` (the token was revoked): final, reconnecting would only get 401s.
      if (typeof ev.data === 'string') {
        let why = 'the stream was ended by the server';
        try {
          why = JSON.parse(ev.data).message ?? why;
        } catch {}
        stopped = true;
        es.close();
        onStatus(`ended: ${why}`);
        return;
      }
      if (es.readyState === EventSource.CLOSED) {
        onStatus('offline');
        retry = setTimeout(open, 3000);
      } else onStatus('reconnecting');
    };
    es.addEventListener('record', (ev) => {
      let rec;
      try {
        rec = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (typeof rec?.id === 'number') lastId = rec.id;
      onRecord(rec);
    });
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    es?.close();
  };
}
