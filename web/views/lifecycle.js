// Retention (admins and auditors): items past their retain_until (GET /retention/due)
// and the disposition queue (GET /dispositions). Admins request a disposition of due
// items; a different admin approves or rejects it (four eyes: the server refuses the
// requester with 403 four_eyes, and the button says so before it is pressed).
import { apiFetch, enc } from '../api.js';
import { h, clear, errorBox, hrefItem, loading, timeCell } from './util.js';

export async function render(main, ctx) {
  document.title = 'Retention · Evidence console';
  const admin = ctx.who && ctx.who.role === 'admin';
  const notice = h('div', { id: 'lifecycle-notice', 'aria-live': 'polite' });
  const due = h('div', { id: 'due-list' });
  const queue = h('div', { id: 'disposition-list' });
  const reason = h('input', { id: 'dispose-reason', placeholder: 'reason (required)', autocomplete: 'off' });
  const request = h('button', { type: 'button', id: 'dispose-request' }, 'Request disposition of the selected items');
  const say = (text) => clear(notice, h('p', { class: 'ok', role: 'status' }, text));

  async function loadDue() {
    clear(due, loading());
    try {
      const { items } = await apiFetch('/retention/due?limit=1000');
      if (!items.length) {
        clear(due, h('p', { class: 'muted', id: 'due-empty' }, 'No item is due.'));
        return;
      }
      clear(
        due,
        h(
          'table',
          { class: 'due' },
          h('thead', {}, h('tr', {}, [admin ? '' : null, 'Item', 'Category', 'Keep until'].filter((t) => t !== null).map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            items.map((i) =>
              h(
                'tr',
                { dataset: { item: i.id } },
                admin ? h('td', {}, h('input', { type: 'checkbox', class: 'due-pick', value: i.id, 'aria-label': 'select ' + i.id })) : null,
                h('td', {}, h('a', { href: hrefItem(i.id) }, h('code', {}, i.id))),
                h('td', {}, i.category),
                h('td', {}, timeCell(i.retain_until)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      clear(due, errorBox(err, 'Could not list the due items'));
    }
  }

  async function decide(d, verb, button) {
    button.disabled = true;
    try {
      const r = await apiFetch(`/dispositions/${enc(d.id)}/${verb}`, { method: 'POST' });
      say(verb === 'approve' ? `Disposition ${d.id} carried out: ${r.disposed.length} item(s) disposed of.` : `Disposition ${d.id} rejected.`);
      await Promise.all([loadQueue(), loadDue()]);
    } catch (err) {
      clear(notice, errorBox(err, `Could not ${verb} disposition ${d.id}`));
      button.disabled = false;
    }
  }

  async function loadQueue() {
    clear(queue, loading());
    try {
      const { items } = await apiFetch('/dispositions?limit=200');
      if (!items.length) {
        clear(queue, h('p', { class: 'muted' }, 'No dispositions yet.'));
        return;
      }
      clear(
        queue,
        h(
          'table',
          { class: 'dispositions' },
          h('thead', {}, h('tr', {}, ['Disposition', 'State', 'Items', 'Reason', 'Requested by', 'Decided by', ''].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            items.map((d) => {
              const actions = h('td', { class: 'actions' });
              if (admin && d.state === 'pending') {
                const own = ctx.who.name && ctx.who.name === d.requested_by;
                const approve = h(
                  'button',
                  { type: 'button', class: 'approve', disabled: own, title: own ? 'four eyes: another admin must approve your request' : '' },
                  'Approve',
                );
                const reject = h('button', { type: 'button', class: 'reject' }, 'Reject');
                approve.addEventListener('click', () => decide(d, 'approve', approve));
                reject.addEventListener('click', () => decide(d, 'reject', reject));
                actions.append(approve, ' ', reject);
              }
              return h(
                'tr',
                { dataset: { disposition: d.id, state: d.state } },
                h('td', {}, h('code', {}, d.id)),
                h('td', { class: 'state' }, d.state),
                h('td', {}, d.items.map((i) => h('a', { href: hrefItem(i), class: 'tag' }, i))),
                h('td', {}, d.reason),
                h('td', { class: 'requested-by' }, `${d.requested_by} `, timeCell(d.requested_at)),
                h('td', {}, d.decided_by ? [`${d.decided_by} `, timeCell(d.decided_at)] : '—'),
                actions,
              );
            }),
          ),
        ),
      );
    } catch (err) {
      clear(queue, errorBox(err, 'Could not list the dispositions'));
    }
  }

  request.addEventListener('click', async () => {
    const items = [...due.querySelectorAll('input.due-pick:checked')].map((c) => c.value);
    if (!items.length || !reason.value.trim()) {
      clear(notice, h('p', { class: 'error' }, 'Select at least one due item and give a reason.'));
      return;
    }
    request.disabled = true;
    try {
      const d = await apiFetch('/dispositions', { method: 'POST', json: { items, reason: reason.value.trim() } });
      say(`Disposition ${d.id} requested: another admin must approve it.`);
      reason.value = '';
      await Promise.all([loadQueue(), loadDue()]);
    } catch (err) {
      clear(notice, errorBox(err, 'Could not request the disposition'));
    } finally {
      request.disabled = false;
    }
  });

  main.append(
    h('h1', {}, 'Retention'),
    notice,
    h('section', { class: 'card' }, h('h2', {}, 'Due for disposal'), due, admin ? h('div', { class: 'actions' }, reason, ' ', request) : null),
    h('section', { class: 'card' }, h('h2', {}, 'Dispositions'), queue),
  );
  await Promise.all([loadDue(), loadQueue()]);
}
