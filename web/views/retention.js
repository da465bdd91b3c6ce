// An item's retention on its page: category, retain_until (or permanent), the
// tombstone of a disposed item, and for reviewers and admins a way to change the
// category (PUT /evidence/{id}/retention, a `retention` custody entry).
import { apiFetch, enc } from '../api.js';
import { h, clear, details, errorBox, timeCell } from './util.js';

export function retentionSection(record, ctx, refreshCustody) {
  const section = h('section', { class: 'card', id: 'retention' }, h('h2', {}, 'Retention'));
  const body = h('div', { id: 'retention-body' });
  const notice = h('div', { id: 'retention-notice', 'aria-live': 'polite' });
  section.append(body, notice);

  const show = (retention) => {
    const rows = [
      ['Category', h('span', { id: 'retention-category' }, retention.category)],
      [
        'Keep until',
        h('span', { id: 'retention-until' }, retention.retain_until ? timeCell(retention.retain_until) : 'permanent'),
      ],
    ];
    if (record.legal_hold) rows.push(['Legal hold', 'on']);
    clear(body, details(rows));
    if (record.disposed) {
      const d = record.disposed;
      body.append(
        h(
          'div',
          { class: 'card bad', id: 'disposed', role: 'status' },
          h('strong', {}, 'Disposed of'),
          ` on ${d.at} by disposition ${d.disposition}: requested by ${d.requested_by}, approved by ${d.approved_by}`,
          d.reason ? ` (reason: ${d.reason})` : '',
          '. The record stays; the content is gone.',
        ),
      );
    }
  };
  show(record.retention || { category: 'routine', retain_until: null });

  if (ctx.can('retention') && !record.disposed) {
    const select = h('select', { id: 'retention-select', 'aria-label': 'retention category' });
    const change = h('button', { type: 'button', id: 'retention-change' }, 'Change category');
    section.append(h('div', { class: 'actions' }, select, ' ', change));
    apiFetch('/retention/categories')
      .then(({ categories }) => {
        clear(
          select,
          categories.map((c) =>
            h(
              'option',
              { value: c.name, selected: record.retention && c.name === record.retention.category },
              c.permanent ? `${c.name} (permanent)` : `${c.name} (${c.days} days)`,
            ),
          ),
        );
      })
      .catch((err) => clear(notice, errorBox(err, 'Could not list the retention categories')));
    change.addEventListener('click', async () => {
      change.disabled = true;
      try {
        const r = await apiFetch(`/evidence/${enc(record.id)}/retention`, { method: 'PUT', json: { category: select.value } });
        record.retention = r.retention;
        show(r.retention);
        clear(notice, h('p', { class: 'ok', role: 'status' }, `Category set to ${r.retention.category} (log entry ${r.log_index}).`));
        if (refreshCustody) refreshCustody();
      } catch (err) {
        clear(notice, errorBox(err, 'Could not change the category'));
      } finally {
        change.disabled = false;
      }
    });
  }
  return section;
}
