// Small DOM and formatting helpers shared by the views. Data from the server is only
// ever put into the page as text (textContent / attributes), never as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A plain-language error box; err may be an ApiError or any Error.
export function errorBox(err, what) {
  const text = err && err.plain ? err.plain : (err && err.message) || String(err);
  const box = h('div', { class: 'error', role: 'alert' }, what ? h('strong', {}, what + ': ') : '', text);
  if (err && err.kind === 'unauthorized' && !location.hash.startsWith('#/signin')) {
    box.append(' ', h('a', { href: '#/signin' }, 'Sign in'));
  }
  return box;
}

export function formatBytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return `${shown} ${units[i]} (${n.toLocaleString('en')} bytes)`;
}

export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !isFinite(seconds)) return '';
  const s = Math.round(seconds * 10) / 10;
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = (s % 60).toFixed(1).padStart(4, '0');
  return (hh ? `${hh}:${String(mm).padStart(2, '0')}` : `${mm}`) + `:${ss}`;
}

// RFC 3339 as stored (UTC), plus the reader's local time as a tooltip.
export function timeCell(rfc3339) {
  if (!rfc3339) return h('span', { class: 'muted' }, '—');
  const d = new Date(rfc3339);
  const title = isNaN(d) ? '' : `local: ${d.toLocaleString()}`;
  return h('time', { datetime: rfc3339, title }, rfc3339);
}

export function hashCell(hex) {
  if (!hex) return h('span', { class: 'muted' }, '—');
  return h('code', { class: 'hash', title: hex }, hex);
}

// A definition list from [label, value] pairs, skipping empty values.
export function details(pairs) {
  const dl = h('dl', { class: 'details' });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(h('dt', {}, k), h('dd', {}, v));
  }
  return dl;
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', 'aria-busy': 'true' }, text);
}

export function hrefCase(c) {
  return '#/case/' + encodeURIComponent(c);
}
export function hrefItem(id) {
  return '#/item/' + encodeURIComponent(id);
}

// Custody entries arrive as {entries: [...]} (or a bare array, or entries wrapped as
// {entry, proof}); this flattens them to the event fields plus index.
export function custodyEntries(doc) {
  const list = Array.isArray(doc) ? doc : doc.entries || doc.custody || doc.events || [];
  return list.map((e) => {
    const base = e.entry && typeof e.entry === 'object' ? { ...e.entry } : { ...e };
    if (base.index === undefined && e.index !== undefined) base.index = e.index;
    if (e.inclusion_proof || e.proof) base.proof = e.inclusion_proof || e.proof;
    return base;
  });
}

// The cases of a GET /cases?prefix answer: strings or {case, ...} objects.
export function caseNames(doc) {
  const list = Array.isArray(doc) ? doc : doc.cases || [];
  return list.map((c) => (typeof c === 'string' ? c : c.case || c.name || c.number || ''));
}
