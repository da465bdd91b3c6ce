// Auditors: the current signed checkpoint, a store-wide verification, and export of a
// case's bundle.
import { apiFetch } from '../api.js';
import { h, clear, errorBox, loading, details } from './util.js';
import { verifyReport } from './verify.js';
import { exportButton } from './export.js';

export async function render(main, ctx) {
  document.title = 'Log & audit · Evidence console';
  if (!ctx.can('log')) {
    main.append(h('h1', {}, 'Log & audit'), h('p', { class: 'error' }, 'This page is for auditors.'));
    return;
  }
  const checkpoint = h('section', { class: 'card', id: 'checkpoint' }, h('h2', {}, 'Signed checkpoint'), loading());
  main.append(h('h1', {}, 'Log & audit'), checkpoint, verifyAll(ctx), exportSection(ctx));
  try {
    const text = await apiFetch('/log/checkpoint', { as: 'text' });
    const c = parseCheckpoint(text);
    clear(
      checkpoint,
      h('h2', {}, 'Signed checkpoint'),
      details([
        ['Log', c.origin],
        ['Entries', c.size],
        ['Root hash (base64)', h('code', { class: 'hash' }, c.root)],
        ['Signatures', c.signatures.map((s) => h('div', {}, h('code', {}, s)))],
      ]),
      h('h3', {}, 'As signed (C2SP signed note)'),
      h('pre', { class: 'note', id: 'checkpoint-text' }, text),
      h(
        'p',
        { class: 'muted small' },
        'Keep a copy: a later checkpoint can be proved to extend this one with GET /api/v1/log/proof/consistency.',
      ),
    );
  } catch (err) {
    clear(checkpoint, h('h2', {}, 'Signed checkpoint'), errorBox(err));
  }
}

// C2SP tlog-checkpoint: origin, size, base64 root, optional extension lines, a blank
// line, then "— name signature" lines.
function parseCheckpoint(text) {
  const [body, sigs = ''] = text.split('\n\n');
  const lines = body.split('\n');
  return {
    origin: lines[0] || '',
    size: lines[1] || '',
    root: lines[2] || '',
    signatures: sigs.split('\n').filter((l) => l.startsWith('\u2014 ')),
  };
}

function verifyAll(ctx) {
  const out = h('div', { id: 'verify-all-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'verify-all' }, 'Verify the whole store');
  let controller = null;
  ctx.onLeave(() => controller && controller.abort());
  button.addEventListener('click', async () => {
    button.disabled = true;
    controller = new AbortController();
    const started = Date.now();
    const elapsed = h('span', {}, '0 s');
    const tick = setInterval(() => (elapsed.textContent = `${Math.round((Date.now() - started) / 1000)} s`), 1000);
    clear(
      out,
      h('progress', { id: 'verify-progress' }),
      h('p', {}, 'Re-hashing every item, checking time stamps, records and the log… ', elapsed),
    );
    try {
      const report = await apiFetch('/verify', { method: 'POST', json: { scope: 'all' }, signal: controller.signal });
      clear(out, verifyReport(report), h('p', { class: 'muted small' }, `Took ${Math.round((Date.now() - started) / 1000)} s.`));
    } catch (err) {
      if (err.name !== 'AbortError') clear(out, errorBox(err, 'Verification could not run'));
    } finally {
      clearInterval(tick);
      button.disabled = false;
    }
  });
  return h(
    'section',
    { class: 'card', id: 'store-verify' },
    h('h2', {}, 'Store-wide verification'),
    h('p', { class: 'muted' }, 'Checks every item’s content against its hash, every time stamp and record, and the log’s consistency.'),
    button,
    out,
  );
}

function exportSection(ctx) {
  const slot = h('div', {});
  const input = h('input', { type: 'text', id: 'export-case', placeholder: 'case number', required: true });
  const form = h('form', { class: 'inline' }, h('label', { for: 'export-case' }, 'Case number '), input, h('button', { type: 'submit' }, 'Prepare export'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const c = input.value.trim();
    if (c) clear(slot, exportButton(c, ctx));
  });
  return h('section', { class: 'card', id: 'export-section' }, h('h2', {}, 'Export a case'), form, slot);
}
