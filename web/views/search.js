// Search items by officer, device and recording time, a page at a time.
import { apiFetch, query } from '../api.js';
import { h, clear, errorBox, loading } from './util.js';
import { itemsTable } from './items.js';

// Cursors of the pages before this one, so "Previous" works; kept for this tab only.
let earlier = [];
let lastKey = '';

// datetime-local value (reader's local time) <-> RFC 3339 UTC for the API.
function toRfc3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return isNaN(d) ? '' : d.toISOString().replace(/\.000Z$/, 'Z');
}
function toLocalInput(rfc) {
  if (!rfc) return '';
  const d = new Date(rfc);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function render(main, ctx, _args, params) {
  document.title = 'Search · Evidence console';
  const f = {
    officer: params.get('officer') || '',
    device: params.get('device') || '',
    from: params.get('from') || '',
    to: params.get('to') || '',
    limit: params.get('limit') || '25',
  };
  const cursor = params.get('cursor') || '';
  const key = JSON.stringify(f);
  if (key !== lastKey) {
    earlier = [];
    lastKey = key;
  }

  const field = (name, label, attrs = {}) =>
    h('label', {}, label, h('input', { name, id: `search-${name}`, value: f[name], autocomplete: 'off', ...attrs }));
  const form = h(
    'form',
    { class: 'search-form', role: 'search' },
    field('officer', 'Officer'),
    field('device', 'Device'),
    field('from', 'Recorded from', { type: 'datetime-local', value: toLocalInput(f.from) }),
    field('to', 'to', { type: 'datetime-local', value: toLocalInput(f.to) }),
    h(
      'label',
      {},
      'Per page',
      h('select', { name: 'limit' }, ['10', '25', '50', '100'].map((n) => h('option', { value: n, selected: n === f.limit }, n))),
    ),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const d = new FormData(form);
    ctx.go(
      '#/search' +
        query({
          officer: d.get('officer').trim(),
          device: d.get('device').trim(),
          from: toRfc3339(d.get('from')),
          to: toRfc3339(d.get('to')),
          limit: d.get('limit'),
        }),
    );
  });
  const results = h('div', { id: 'search-results' }, loading());
  main.append(h('h1', {}, 'Search'), form, results);

  try {
    const doc = await apiFetch('/search' + query({ ...f, cursor }));
    const items = doc.items || [];
    const nav = h('div', { class: 'pager' });
    if (earlier.length) {
      nav.append(
        h(
          'button',
          {
            type: 'button',
            id: 'prev-page',
            onclick: () => {
              const prev = earlier.pop();
              ctx.go('#/search' + query({ ...f, cursor: prev }));
            },
          },
          '‹ Previous',
        ),
      );
    }
    nav.append(h('span', { class: 'muted' }, ` page ${earlier.length + 1}, ${items.length} item${items.length === 1 ? '' : 's'} `));
    if (doc.next) {
      nav.append(
        h(
          'button',
          {
            type: 'button',
            id: 'next-page',
            onclick: () => {
              earlier.push(cursor);
              ctx.go('#/search' + query({ ...f, cursor: doc.next }));
            },
          },
          'Next ›',
        ),
      );
    }
    clear(
      results,
      items.length ? itemsTable(items, ctx, { showCases: true }) : h('p', { class: 'muted' }, 'Nothing matches.'),
      nav,
    );
  } catch (err) {
    clear(results, errorBox(err, 'Search failed'));
  }
}
