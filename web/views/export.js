// Export a case's bundle (tar). Fetched with the bearer header and saved through a
// blob URL: the whole bundle is held in memory, so very large cases are better
// exported with `evidencectl export`.
import { apiFetch, enc } from '../api.js';
import { h, clear, errorBox, formatBytes } from './util.js';

export function exportButton(caseNumber, ctx) {
  const status = h('span', { class: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'export' }, 'Export bundle');
  button.addEventListener('click', async () => {
    button.disabled = true;
    clear(status, 'Preparing the bundle…');
    try {
      const res = await apiFetch(`/cases/${enc(caseNumber)}/export`, { as: 'response' });
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      ctx.onLeave(() => URL.revokeObjectURL(url));
      const name = `case-${caseNumber.replace(/[^\p{L}\p{N}._-]+/gu, '_')}.tar`;
      const a = h('a', { href: url, download: name, class: 'download' }, `Save ${name}`);
      clear(status, `Bundle ready (${formatBytes(blob.size)}): `, a);
      a.click();
    } catch (err) {
      clear(status, errorBox(err, 'Export failed'));
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'actions' }, button, ' ', status);
}
