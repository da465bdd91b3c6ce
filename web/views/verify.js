// Renders a POST /verify report: ok or not, items checked, problems and hints.
import { h, hrefItem } from './util.js';

export function verifyReport(report) {
  const problems = report.problems || [];
  const hints = report.hints || [];
  const head = report.ok
    ? h('p', { class: 'verdict ok', id: 'verdict' }, `✔ Intact: ${report.checked ?? '?'} checked, no problems found.`)
    : h('p', { class: 'verdict bad', id: 'verdict' }, `✘ Problems found: ${problems.length} (of ${report.checked ?? '?'} checked).`);
  return h(
    'div',
    { class: 'report', dataset: { ok: String(!!report.ok) } },
    head,
    problems.length ? findings('Problems', problems, 'bad') : null,
    hints.length ? findings('Hints (no evidence damaged)', hints, 'hint') : null,
  );
}

function findings(title, list, cls) {
  return h(
    'div',
    {},
    h('h3', {}, title),
    h(
      'table',
      { class: `findings ${cls}` },
      h('thead', {}, h('tr', {}, ['Item', 'Kind', 'Detail'].map((t) => h('th', {}, t)))),
      h(
        'tbody',
        {},
        list.map((p) =>
          typeof p === 'string'
            ? h('tr', {}, h('td', {}), h('td', {}), h('td', {}, p))
            : h(
                'tr',
                {},
                h('td', {}, p.evidence ? h('a', { href: hrefItem(p.evidence) }, p.evidence) : p.blob || ''),
                h('td', {}, h('code', {}, p.kind || '')),
                h(
                  'td',
                  {},
                  p.detail || '',
                  p.segment ? ` (damaged from ${p.segment.start} s to ${p.segment.end} s)` : '',
                ),
              ),
        ),
      ),
    ),
  );
}
