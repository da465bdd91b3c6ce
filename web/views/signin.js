// Sign in with a token. The token goes to sessionStorage only (this tab, gone when
// the tab closes); it is never put in a URL or a cookie.
import { setToken, whoAmI } from '../api.js';
import { h, clear, errorBox } from './util.js';

export async function render(main, ctx) {
  document.title = 'Sign in · Evidence console';
  const status = h('div', { class: 'status', 'aria-live': 'polite' });
  const input = h('input', {
    type: 'password',
    id: 'token',
    name: 'token',
    autocomplete: 'off',
    spellcheck: false,
    required: true,
    placeholder: 'paste your access token',
  });
  const button = h('button', { type: 'submit', id: 'signin' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card narrow', id: 'signin-form' },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      { class: 'muted' },
      'Use the token your administrator gave you. It is kept in this browser tab only and forgotten when the tab closes.',
    ),
    h('label', { for: 'token' }, 'Access token'),
    input,
    button,
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    clear(status, 'Checking the token…');
    try {
      const who = await whoAmI(token);
      setToken(token);
      ctx.setWho(who);
      input.value = '';
      ctx.go(ctx.home());
    } catch (err) {
      clear(status, errorBox(err, 'Sign-in failed'));
    } finally {
      button.disabled = false;
    }
  });
  main.append(form);
  input.focus();
}
