// The console's only door to the daemon: every request goes through apiFetch, which
// adds the bearer token from this tab's sessionStorage and turns every failure into
// an ApiError with a plain-language message.

const TOKEN_KEY = 'evidence.token';
const BASE = '/api/v1';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem('evidence.who');
}

export class ApiError extends Error {
  // kind: 'unreachable' | 'unauthorized' | 'forbidden' | 'not_found' | 'http'
  constructor(kind, status, code, message) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
  get plain() {
    switch (this.kind) {
      case 'unreachable':
        return `The evidence server cannot be reached (${this.message}). Check that it is running and that this machine can reach it, then try again.`;
      case 'unauthorized':
        return 'Your token was not accepted: it is wrong, expired or revoked. Sign in again with a valid token.';
      case 'forbidden':
        return `Your role may not do this. The server said: ${this.message}`;
      case 'not_found':
        return `Not found: ${this.message}`;
      default:
        return `The server answered ${this.status}${this.code ? ' (' + this.code + ')' : ''}: ${this.message}`;
    }
  }
}

// Listeners told when the server rejects the token (the app then shows sign-in).
const unauthorizedListeners = new Set();
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
}

// path is under /api/v1 and already encoded (use enc() for segments and query()).
// opts: {method, json, headers, as: 'json'|'text'|'blob'|'bytes'|'response', token}
export async function apiFetch(path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  const token = opts.token ?? getToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let body;
  if (opts.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(opts.json);
  }
  let res;
  try {
    res = await fetch(BASE + path, {
      method: opts.method || 'GET',
      headers,
      body,
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
      signal: opts.signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('unreachable', 0, '', e.message || String(e));
  }
  if (!res.ok) {
    let code = '';
    let message = res.statusText || `HTTP ${res.status}`;
    let fromDaemon = false;
    try {
      const j = await res.json();
      code = j.error || '';
      message = j.message || message;
      fromDaemon = true;
    } catch {
      // Not JSON (a proxy's error page, say): keep the status text.
    }
    if (!fromDaemon && [502, 503, 504].includes(res.status)) {
      throw new ApiError('unreachable', res.status, '', `a proxy answered ${res.status} ${res.statusText}`.trim());
    }
    const kind =
      res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : res.status === 404 ? 'not_found' : 'http';
    const err = new ApiError(kind, res.status, code, message);
    if (kind === 'unauthorized' && !opts.token) unauthorizedListeners.forEach((fn) => fn(err));
    throw err;
  }
  switch (opts.as || 'json') {
    case 'json':
      return res.status === 204 ? null : res.json();
    case 'text':
      return res.text();
    case 'blob':
      return res.blob();
    case 'bytes':
      return new Uint8Array(await res.arrayBuffer());
    default:
      return res;
  }
}

// One path segment, percent-encoded (case numbers hold "/", spaces and CJK).
export const enc = (s) => encodeURIComponent(s);

// "?a=1&b=2" from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Who holds the token. Uses GET /whoami where the daemon has it; otherwise probes
// role-restricted routes without side effects (see docs/console.md).
export async function whoAmI(token) {
  try {
    const me = await apiFetch('/whoami', { token });
    if (me && me.role) return { name: me.name || '', role: me.role, inferred: false };
  } catch (e) {
    if (e.kind !== 'not_found' && e.status !== 405) throw e;
  }
  // The token must be good for something: /keys needs any valid token.
  await apiFetch('/keys', { token });
  const allowed = async (path, opts = {}) => {
    try {
      await apiFetch(path, { ...opts, token });
      return true;
    } catch (e) {
      if (e.kind === 'forbidden') return false;
      if (e.kind === 'unauthorized' || e.kind === 'unreachable') throw e;
      return true; // 400/404/...: the role check passed before the handler failed
    }
  };
  // POST /users with an empty object: 403 for non-admins, 400 (nothing created) for admins.
  if (await allowed('/users', { method: 'POST', json: {} })) return { name: '', role: 'admin', inferred: true };
  if (await allowed('/metrics', { as: 'text' })) return { name: '', role: 'auditor', inferred: true };
  if (await allowed('/cases?prefix=' + enc('\u0000probe'))) return { name: '', role: 'reviewer', inferred: true };
  return { name: '', role: 'officer', inferred: true };
}
