// A case's file reviews (案卷评查, GET/POST /cases/{C}/reviews): each one is bound to
// a `review` custody entry by its SHA-256, so the list shows both. Reviewers and
// admins get a form to add one.
import { apiFetch, enc } from '../api.js';
import { h, clear, errorBox, loading, timeCell, hashCell } from './util.js';

const VERDICTS = [
  ['complete', 'Complete: the whole action is recorded'],
  ['incomplete', 'Incomplete: parts are missing'],
  ['defective', 'Defective: the records cannot be relied on'],
];
const CHECKS = [
  ['whole_process_recorded', 'The whole enforcement action was recorded'],
  ['clocks_consistent', 'The clocks agree (no unexplained clock warning)'],
  ['custody_complete', 'Custody is complete and verified'],
];

function reviewList(reviews) {
  if (!reviews.length) return h('p', { id: 'review-list', class: 'muted' }, 'No review of this case yet.');
  return h(
    'ol',
    { id: 'review-list', class: 'reviews' },
    reviews.map((r) =>
      h(
        'li',
        { class: `review verdict-${r.verdict}`, dataset: { id: r.id || '' } },
        h('strong', { class: 'verdict' }, r.verdict),
        ' by ',
        r.reviewer || r.actor || '?',
        ', ',
        timeCell(r.time || r.created_at),
        r.notes ? h('p', { class: 'notes' }, r.notes) : null,
        r.checklist && Object.keys(r.checklist).length
          ? h(
              'ul',
              { class: 'checklist small' },
              Object.entries(r.checklist).map(([k, v]) => h('li', {}, `${v === true ? '✓' : v === false ? '✗' : typeof v === 'object' ? JSON.stringify(v) : String(v)} ${k}`)),
            )
          : null,
        h('div', { class: 'small muted' }, 'custody entry ', String(r.log_index ?? '?'), ' · SHA-256 ', hashCell(r.sha256)),
      ),
    ),
  );
}

export function reviewsSection(caseNumber, ctx) {
  const section = h('section', { id: 'reviews', class: 'card' }, h('h2', {}, 'Case-file reviews'));
  const list = h('div', {}, loading());
  section.append(list);
  async function load() {
    try {
      const doc = await apiFetch(`/cases/${enc(caseNumber)}/reviews`);
      clear(list, reviewList(Array.isArray(doc) ? doc : doc.reviews || []));
    } catch (err) {
      clear(list, errorBox(err, 'Could not load the reviews'));
    }
  }
  if (ctx.can('review')) section.append(reviewForm(caseNumber, load));
  load();
  return section;
}

function reviewForm(caseNumber, reload) {
  const verdict = h('select', { id: 'review-verdict', required: true }, VERDICTS.map(([v, t]) => h('option', { value: v }, t)));
  const notes = h('textarea', { id: 'review-notes', rows: 3, maxlength: 16384, placeholder: 'What was checked, what is missing' });
  const boxes = CHECKS.map(([key, text]) => {
    const box = h('input', { type: 'checkbox', id: `check-${key}`, dataset: { key } });
    return [box, h('label', { class: 'check' }, box, ' ', text)];
  });
  const status = h('div', { class: 'small', role: 'status' });
  const submit = h('button', { type: 'submit', id: 'review-submit' }, 'Record the review');
  const form = h(
    'form',
    { id: 'review-form', class: 'stack' },
    h('h3', {}, 'Add a review'),
    h('label', { for: 'review-verdict' }, 'Verdict '),
    verdict,
    boxes.map(([, label]) => label),
    h('label', { for: 'review-notes' }, 'Notes'),
    notes,
    submit,
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    clear(status, 'Recording…');
    const checklist = {};
    for (const [box] of boxes) checklist[box.dataset.key] = box.checked;
    try {
      const r = await apiFetch(`/cases/${enc(caseNumber)}/reviews`, {
        method: 'POST',
        json: { verdict: verdict.value, notes: notes.value, checklist },
      });
      clear(status, `Recorded as custody entry ${r.log_index ?? '?'}.`);
      notes.value = '';
      await reload();
    } catch (err) {
      clear(status, errorBox(err, 'The review was not recorded'));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
