// Service worker: lets <video> and <img> load evidence content and thumbnails with
// the tab's bearer token, without the token ever appearing in a URL or a cookie.
//
// The browser's media player fetches /api/v1/evidence/{id}/content itself, with Range
// requests as the reader seeks; it cannot add an Authorization header. This worker
// sees those requests, asks the tab that made them for its token (kept in that tab's
// sessionStorage; the worker keeps no copy) and re-issues them with the header and the
// same Range. The server's 206 answers stream through unchanged, so seeking in a
// multi-gigabyte file downloads only what is watched.

const PROTECTED = /^\/api\/v1\/evidence\/[^/]+\/(content|thumbnail)$/;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' && req.method !== 'HEAD') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || !PROTECTED.test(url.pathname)) return;
  if (req.headers.has('Authorization')) return; // the console's own fetch(): leave it be
  event.respondWith(withToken(event, url));
});

function askToken(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 5000);
    channel.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(e.data && typeof e.data.token === 'string' ? e.data.token : null);
    };
    client.postMessage({ type: 'evidence-token-request' }, [channel.port2]);
  });
}

function unauthorized(message) {
  return new Response(JSON.stringify({ error: 'unauthorized', message }), {
    status: 401,
    headers: { 'Content-Type': 'application/json' },
  });
}

async function withToken(event, url) {
  const client = event.clientId ? await self.clients.get(event.clientId) : null;
  if (!client) return unauthorized('no signed-in console tab made this request');
  const token = await askToken(client);
  if (!token) return unauthorized('this tab is not signed in');
  const headers = new Headers({ Authorization: `Bearer ${token}` });
  for (const name of ['Range', 'If-Range', 'If-None-Match']) {
    const v = event.request.headers.get(name);
    if (v) headers.set(name, v);
  }
  return fetch(url.href, {
    method: event.request.method,
    headers,
    mode: 'same-origin',
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'error',
  });
}
