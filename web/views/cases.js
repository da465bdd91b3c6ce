// Cases: find case numbers by prefix (any UTF-8, CJK included).
import { apiFetch, query } from '../api.js';
import { h, clear, errorBox, loading, hrefCase, caseNames } from './util.js';

export async function render(main, ctx, _args, params) {
  document.title = 'Cases · Evidence console';
  const prefix = params.get('prefix') || '';
  const input = h('input', {
    type: 'search',
    id: 'case-prefix',
    name: 'prefix',
    value: prefix,
    placeholder: 'case number or its beginning, e.g. 汉台执罚〔2017〕',
    autocomplete: 'off',
  });
  const results = h('div', { id: 'case-results', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'searchbar', role: 'search' },
    h('label', { for: 'case-prefix' }, 'Case number'),
    input,
    h('button', { type: 'submit' }, 'Find'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.go('#/cases' + query({ prefix: input.value }));
  });
  main.append(h('h1', {}, 'Cases'), form, results);
  input.focus();

  clear(results, loading());
  try {
    const names = caseNames(await apiFetch('/cases' + query({ prefix }).replace(/^$/, '?prefix=')));
    if (names.length === 0) {
      clear(results, h('p', { class: 'muted' }, prefix ? `No case number starts with “${prefix}”.` : 'No cases yet.'));
      return;
    }
    clear(
      results,
      h('p', { class: 'muted' }, `${names.length} case${names.length === 1 ? '' : 's'}`),
      h(
        'ul',
        { class: 'case-list' },
        names.map((c) => h('li', {}, h('a', { href: hrefCase(c), class: 'case-link' }, c))),
      ),
    );
  } catch (err) {
    clear(results, errorBox(err, 'Could not list cases'));
  }
}
