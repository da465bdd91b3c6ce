// The console's shell: sign-in state, role-dependent navigation, a hash router, and
// the service worker that lets the video player send this tab's token.
import { clearToken, getToken, onUnauthorized } from './api.js';
import { h, clear, errorBox } from './views/util.js';
import * as signin from './views/signin.js';
import * as cases from './views/cases.js';
import * as casePage from './views/case.js';
import * as item from './views/item.js';
import * as search from './views/search.js';
import * as log from './views/log.js';
import * as users from './views/users.js';
import * as lifecycle from './views/lifecycle.js';

const ROLES_READING_CASES = ['reviewer', 'auditor', 'admin'];

// What each role is shown. The server enforces the same rules; this only hides
// controls that would answer 403.
export const can = {
  cases: (r) => ROLES_READING_CASES.includes(r),
  link: (r) => r === 'reviewer' || r === 'admin',
  review: (r) => r === 'reviewer' || r === 'admin',
  verify: (r) => r === 'auditor' || r === 'admin',
  log: (r) => r === 'auditor' || r === 'admin',
  export: (r) => ROLES_READING_CASES.includes(r),
  users: (r) => r === 'admin',
  lifecycle: (r) => r === 'auditor' || r === 'admin',
  retention: (r) => r === 'reviewer' || r === 'admin',
};

const routes = [
  { re: /^\/signin$/, view: signin, public: true },
  { re: /^\/cases$/, view: cases },
  { re: /^\/case\/(.+)$/, view: casePage },
  { re: /^\/item\/([^/]+)$/, view: item },
  { re: /^\/search$/, view: search },
  { re: /^\/log$/, view: log },
  { re: /^\/users$/, view: users },
  { re: /^\/retention$/, view: lifecycle },
];

function loadWho() {
  try {
    return JSON.parse(sessionStorage.getItem('evidence.who') || 'null');
  } catch {
    return null;
  }
}

const ctx = {
  who: loadWho(),
  cleanups: [],
  // Called by the views to free blob URLs and stop work when the page changes.
  onLeave(fn) {
    this.cleanups.push(fn);
  },
  setWho(who) {
    this.who = who;
    if (who) sessionStorage.setItem('evidence.who', JSON.stringify(who));
    renderChrome();
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  home() {
    return this.who && can.cases(this.who.role) ? '#/cases' : '#/search';
  },
  can(what) {
    return !!this.who && can[what](this.who.role);
  },
  playback: 'blob',
};

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!ctx.who || !getToken()) {
    clear(nav);
    clear(who);
    return;
  }
  const links = [];
  if (ctx.can('cases')) links.push(['#/cases', 'Cases']);
  links.push(['#/search', 'Search']);
  if (ctx.can('log')) links.push(['#/log', 'Log & audit']);
  if (ctx.can('lifecycle')) links.push(['#/retention', 'Retention']);
  if (ctx.can('users')) links.push(['#/users', 'People']);
  clear(
    nav,
    links.map(([href, text]) => h('a', { href, class: location.hash.startsWith(href) ? 'active' : '' }, text)),
  );
  clear(
    who,
    ctx.who.name ? h('span', { class: 'name' }, ctx.who.name) : null,
    h('span', { class: 'role', title: ctx.who.inferred ? 'role inferred from what the server allows this token' : '' }, ctx.who.role),
    ' ',
    h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'),
  );
}

function signOut() {
  clearToken();
  ctx.who = null;
  renderChrome();
  ctx.go('#/signin');
}

function showBanner(node) {
  const b = document.getElementById('banner');
  if (!node) {
    b.hidden = true;
    clear(b);
    return;
  }
  clear(b, node);
  b.hidden = false;
}

onUnauthorized((err) => {
  clearToken();
  ctx.who = null;
  renderChrome();
  showBanner(errorBox(err));
  if (!location.hash.startsWith('#/signin')) location.hash = '#/signin';
});

async function route() {
  for (const fn of ctx.cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // A failing cleanup must not block the next page.
    }
  }
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const params = new URLSearchParams(qs || '');
  const main = document.getElementById('main');
  if (!getToken() || !ctx.who) {
    if (path !== '/signin') {
      location.replace('#/signin');
      return;
    }
  } else if (path === '/' || path === '/signin') {
    location.replace(ctx.home());
    return;
  } else {
    showBanner(null);
  }
  renderChrome();
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    clear(main);
    document.title = 'Evidence console';
    try {
      await r.view.render(main, ctx, m.slice(1).map(decodeURIComponent), params);
    } catch (e) {
      clear(main, errorBox(e));
    }
    main.focus({ preventScroll: true });
    return;
  }
  clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. '), h('a', { href: ctx.home() }, 'Go home'));
}

// The service worker answers the player's content requests with this tab's token.
// It needs a secure context (HTTPS, or http://127.0.0.1 / localhost); elsewhere the
// console falls back to loading small files whole (see views/item.js).
async function startWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'evidence-token-request' && e.ports[0]) {
      e.ports[0].postMessage({ token: getToken() });
    }
  });
  navigator.serviceWorker.startMessages();
  const settle = async () => {
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      // First visit: the worker claims this page once active.
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
  };
  try {
    // A browser that blocks workers may never settle: give up after a few seconds.
    await Promise.race([settle(), new Promise((resolve) => setTimeout(resolve, 4000))]);
  } catch (e) {
    console.warn('service worker unavailable', e);
  }
  ctx.playback = navigator.serviceWorker.controller ? 'worker' : 'blob';
}

async function start() {
  await startWorker();
  window.addEventListener('hashchange', route);
  document.body.dataset.playback = ctx.playback;
  route();
}

start();
