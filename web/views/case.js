// A case: its items, their timeline with the holes between recordings, the case-file
// reviews, and (reviewers, auditors) the export of its bundle.
import { apiFetch, enc } from '../api.js';
import { h, clear, errorBox, loading } from './util.js';
import { itemsTable } from './items.js';
import { exportButton } from './export.js';
import { timelineSection } from './case_timeline.js';
import { reviewsSection } from './case_reviews.js';

export async function render(main, ctx, [caseNumber]) {
  document.title = `${caseNumber} · Evidence console`;
  const body = h('div', {}, loading());
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/cases' }, 'Cases'), ' › '),
    h('h1', { class: 'case-number' }, caseNumber),
    ctx.can('export') ? exportButton(caseNumber, ctx) : null,
    body,
  );
  try {
    const doc = await apiFetch(`/cases/${enc(caseNumber)}`);
    const items = doc.items || [];
    if (items.length === 0) {
      clear(body, h('p', { class: 'muted' }, 'No items are linked to this case.'));
      return;
    }
    clear(
      body,
      h('p', { class: 'muted' }, `${items.length} item${items.length === 1 ? '' : 's'}`),
      itemsTable(items, ctx),
      timelineSection(caseNumber, ctx),
      reviewsSection(caseNumber, ctx),
    );
  } catch (err) {
    clear(body, errorBox(err, 'Could not open the case'));
  }
}
