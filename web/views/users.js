// People (admins only): who may use the store, in which role, with which badge, unit
// and enforcement certificate (持证上岗); disable someone who left, issue a new token.
// Every change is a `user` entry in the custody log (the server writes it).
import { apiFetch, enc } from '../api.js';
import { h, clear, errorBox, loading, timeCell } from './util.js';

const ROLES = ['officer', 'reviewer', 'auditor', 'admin', 'station'];

function certificateText(c) {
  if (!c) return '—';
  const lapsed = c.valid_until && new Date(c.valid_until) < new Date();
  return h('span', { class: lapsed ? 'bad' : '' }, `${c.number} until ${c.valid_until.slice(0, 10)}`, lapsed ? ' (lapsed)' : '');
}

export async function render(main, ctx) {
  document.title = 'People · Evidence console';
  const list = h('div', { id: 'user-list', 'aria-live': 'polite' });
  const notice = h('div', { id: 'user-notice', 'aria-live': 'polite' });
  const name = h('input', { id: 'new-user-name', required: true, autocomplete: 'off', placeholder: 'e.g. o.wang' });
  const role = h('select', { id: 'new-user-role' }, ROLES.map((r) => h('option', { value: r }, r)));
  const badge = h('input', { id: 'new-user-badge', autocomplete: 'off', placeholder: 'badge number' });
  const unit = h('input', { id: 'new-user-unit', autocomplete: 'off', placeholder: 'unit' });
  const certNo = h('input', { id: 'new-user-cert', autocomplete: 'off', placeholder: 'certificate number' });
  const certUntil = h('input', { id: 'new-user-cert-until', type: 'date' });
  const form = h(
    'form',
    { class: 'card', id: 'new-user' },
    h('h2', {}, 'Add a person'),
    h('div', { class: 'searchbar' }, name, role, badge, unit, certNo, certUntil, h('button', { type: 'submit', id: 'add-user' }, 'Add')),
  );

  // A token is shown once, here, and never again.
  const showToken = (who, token) =>
    clear(
      notice,
      h('div', { class: 'card ok', role: 'status' }, `Token for ${who} (shown once; hand it over in person): `, h('code', { id: 'new-token' }, token)),
    );

  async function reload() {
    clear(list, loading());
    try {
      const { users } = await apiFetch('/users');
      clear(
        list,
        h(
          'table',
          { class: 'users' },
          h('thead', {}, h('tr', {}, ['Name', 'Role', 'Badge', 'Unit', 'Certificate', 'Last seen', 'State', ''].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            users.map((u) => {
              const toggle = h(
                'button',
                { type: 'button', class: 'toggle', disabled: ctx.who && ctx.who.name === u.name },
                u.disabled ? 'Enable' : 'Disable',
              );
              toggle.addEventListener('click', async () => {
                toggle.disabled = true;
                try {
                  await apiFetch('/users/' + enc(u.name), { method: 'PATCH', json: { disabled: !u.disabled } });
                  await reload();
                } catch (err) {
                  clear(notice, errorBox(err, 'Could not change ' + u.name));
                  toggle.disabled = false;
                }
              });
              const rotate = h('button', { type: 'button', class: 'rotate' }, 'New token');
              rotate.addEventListener('click', async () => {
                rotate.disabled = true;
                try {
                  const r = await apiFetch('/users/' + enc(u.name) + '/token', { method: 'POST' });
                  showToken(u.name, r.token);
                } catch (err) {
                  clear(notice, errorBox(err, 'Could not issue a token for ' + u.name));
                } finally {
                  rotate.disabled = false;
                }
              });
              return h(
                'tr',
                { dataset: { user: u.name }, class: u.disabled ? 'disabled' : '' },
                h('td', { class: 'name' }, u.name),
                h('td', {}, u.role),
                h('td', {}, u.badge || '—'),
                h('td', {}, u.unit || '—'),
                h('td', {}, certificateText(u.certificate)),
                h('td', {}, u.last_seen ? timeCell(u.last_seen) : 'never'),
                h('td', { class: 'state' }, u.disabled ? 'disabled' : 'active'),
                h('td', {}, toggle, ' ', rotate),
              );
            }),
          ),
        ),
      );
    } catch (err) {
      clear(list, errorBox(err, 'Could not list people'));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), role: role.value };
    if (badge.value.trim()) body.badge = badge.value.trim();
    if (unit.value.trim()) body.unit = unit.value.trim();
    if (certNo.value.trim() && certUntil.value) {
      body.certificate = { number: certNo.value.trim(), valid_until: `${certUntil.value}T23:59:59Z` };
    }
    try {
      const r = await apiFetch('/users', { method: 'POST', json: body });
      showToken(r.name, r.token);
      form.reset();
      await reload();
    } catch (err) {
      clear(notice, errorBox(err, 'Could not add ' + body.name));
    }
  });

  main.append(h('h1', {}, 'People'), notice, form, list);
  await reload();
}
