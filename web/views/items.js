// The list of evidence items shown on a case page and in search results: poster
// frame, duration, officer, device, recorded and received times, size and hash.
import { apiFetch, enc } from '../api.js';
import { h, formatBytes, formatDuration, timeCell, hashCell, hrefItem, hrefCase } from './util.js';

export function hasVideo(record) {
  const streams = (record.media && record.media.streams) || [];
  return streams.some((s) => s.type === 'video');
}

// Loads a poster frame with the bearer header and shows it through a blob URL (an
// <img src> cannot carry the header). Revoked when the page is left.
export function thumbnail(id, ctx, alt) {
  const img = h('img', { class: 'thumb', alt, width: 160, height: 90, decoding: 'async' });
  const box = h('div', { class: 'thumb-box' }, img);
  let url = null;
  ctx.onLeave(() => url && URL.revokeObjectURL(url));
  queueThumb(async () => {
    try {
      const blob = await apiFetch(`/evidence/${enc(id)}/thumbnail`, { as: 'blob' });
      url = URL.createObjectURL(blob);
      img.src = url;
    } catch (err) {
      box.replaceChildren(h('span', { class: 'no-thumb', title: err.plain || err.message }, 'no preview'));
    }
  });
  return box;
}

// At most a few thumbnail requests at once, so a large case does not flood the server.
const pending = [];
let running = 0;
function queueThumb(job) {
  pending.push(job);
  pump();
}
function pump() {
  while (running < 4 && pending.length) {
    const job = pending.shift();
    running++;
    job().finally(() => {
      running--;
      pump();
    });
  }
}

export function itemsTable(items, ctx, { showCases = false } = {}) {
  const rows = items.map((r) => {
    const duration = r.media && typeof r.media.duration === 'number' ? formatDuration(r.media.duration) : '';
    return h(
      'tr',
      { class: 'item-row', dataset: { id: r.id } },
      h('td', {}, h('a', { href: hrefItem(r.id) }, hasVideo(r) || !r.media ? thumbnail(r.id, ctx, `poster frame of ${r.id}`) : h('span', { class: 'no-thumb' }, 'not video'))),
      h(
        'td',
        {},
        h('a', { href: hrefItem(r.id), class: 'item-link' }, r.filename || r.id),
        h('div', { class: 'muted small' }, r.id),
        showCases && r.cases && r.cases.length
          ? h('div', { class: 'small' }, r.cases.map((c) => h('a', { href: hrefCase(c), class: 'tag' }, c)))
          : null,
      ),
      h('td', { class: 'num' }, duration || h('span', { class: 'muted' }, '—')),
      h('td', {}, r.officer),
      h('td', {}, r.device),
      h('td', {}, timeCell(r.recorded_at)),
      h('td', {}, timeCell(r.received_at)),
      h('td', { class: 'num' }, formatBytes(r.size)),
      h('td', {}, hashCell(r.sha256)),
    );
  });
  return h(
    'table',
    { class: 'items' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Preview', 'Item', 'Duration', 'Officer', 'Device', 'Recorded', 'Received', 'Size', 'SHA-256'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    h('tbody', {}, rows),
  );
}
