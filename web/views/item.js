// One evidence item: player, record and media details, time stamp, custody timeline,
// verification, and (reviewers) linking to cases.
import { apiFetch, enc } from '../api.js';
import {
  h,
  clear,
  errorBox,
  loading,
  details,
  formatBytes,
  formatDuration,
  timeCell,
  hashCell,
  hrefCase,
  custodyEntries,
} from './util.js';
import { hasVideo, thumbnail } from './items.js';
import { parseTimestamp } from './timestamp.js';
import { verifyReport } from './verify.js';
import { retentionSection } from './retention.js';
import { clockReasons } from './case_timeline.js';

// Without the service worker the player can only get the whole file as a blob.
const BLOB_PLAYBACK_LIMIT = 512 * 1024 * 1024;

export async function render(main, ctx, [id], params) {
  // From the case timeline: play from this many seconds in.
  const startAt = params && params.has('t') ? Number(params.get('t')) : NaN;
  document.title = `${id} · Evidence console`;
  main.append(loading());
  let record;
  try {
    record = await apiFetch(`/evidence/${enc(id)}`);
  } catch (err) {
    clear(main, errorBox(err, 'Could not open the item'));
    return;
  }
  const custody = h('section', { id: 'custody', class: 'card' });
  const refreshCustody = () => loadCustody(custody, id);

  clear(
    main,
    h(
      'p',
      { class: 'crumbs' },
      (record.cases || []).length
        ? record.cases.map((c) => h('a', { href: hrefCase(c) }, c)).reduce((a, b) => [a, ', ', b])
        : h('a', { href: '#/search' }, 'Search'),
      ' › ',
    ),
    h('h1', {}, record.filename || record.id),
    h(
      'div',
      { class: 'item-grid' },
      h(
        'div',
        { class: 'col' },
        player(record, ctx, refreshCustody, startAt),
        verifySection(record, ctx, refreshCustody),
        casesSection(record, ctx, refreshCustody),
      ),
      h('div', { class: 'col' }, recordSection(record), clockSection(record), retentionSection(record, ctx, refreshCustody), mediaSection(record), timestampSection(record)),
    ),
    custody,
  );
  refreshCustody();
}

function player(record, ctx, refreshCustody, startAt) {
  const section = h('section', { class: 'card player' }, h('h2', {}, 'Footage'));
  const contentPath = `/api/v1/evidence/${enc(record.id)}/content`;
  const note = h('p', { class: 'muted small' });
  if (record.media && !hasVideo(record)) {
    section.append(h('p', {}, 'This item has no video stream.'), downloadButton(record, ctx, refreshCustody));
    return section;
  }
  const video = h('video', {
    id: 'player',
    controls: true,
    preload: 'none',
    playsInline: true,
    width: 640,
  });
  const picture = ((record.media && record.media.streams) || []).find((st) => st.type === 'video');
  video.style.aspectRatio = picture && picture.width && picture.height ? `${picture.width} / ${picture.height}` : '16 / 9';
  // The poster is the thumbnail; the content is only requested when playback starts,
  // so opening the page does not count as viewing the footage.
  const poster = thumbnail(record.id, ctx, 'poster frame');
  const posterImg = poster.querySelector('img');
  if (posterImg) posterImg.addEventListener('load', () => (video.poster = posterImg.src), { once: true });

  let custodyTimer = null;
  video.addEventListener('playing', () => {
    clearTimeout(custodyTimer);
    custodyTimer = setTimeout(refreshCustody, 1500);
  });
  video.addEventListener('error', async () => {
    const e = video.error;
    // The player hides the HTTP status; an expired token or a dead server is
    // more likely than a codec problem, so ask the server first (GET /keys records
    // no custody event).
    try {
      await apiFetch('/keys');
    } catch (err) {
      clear(note, errorBox(err, 'Playback stopped'));
      return;
    }
    clear(
      note,
      h(
        'span',
        { class: 'error' },
        `The browser could not play this file${e ? ` (${e.message || 'media error ' + e.code})` : ''}. ` +
          'It may use a codec this browser lacks; download it to watch in another player.',
      ),
    );
  });
  ctx.onLeave(() => {
    clearTimeout(custodyTimer);
    video.pause();
    video.removeAttribute('src');
    video.load();
  });

  if (Number.isFinite(startAt) && startAt >= 0) {
    video.dataset.startAt = String(startAt);
    video.addEventListener('loadedmetadata', () => (video.currentTime = Math.min(startAt, video.duration || startAt)), {
      once: true,
    });
  }
  if (ctx.playback === 'worker') {
    video.src = contentPath;
    if (video.dataset.startAt) {
      video.preload = 'metadata';
      video.muted = true; // browsers only start muted footage by themselves
      video.play().catch(() => {});
    }
    clear(note, 'Streams with Range requests; every fetch of the footage is recorded in the custody log.');
    section.append(video, note);
  } else if (record.size <= BLOB_PLAYBACK_LIMIT) {
    // No service worker (plain HTTP off localhost): load the file whole, then play.
    const load = h('button', { type: 'button', id: 'load-video' }, `Load footage (${formatBytes(record.size)})`);
    load.addEventListener('click', async () => {
      load.disabled = true;
      clear(note, 'Downloading the whole file before playback…');
      try {
        const blob = await apiFetch(`/evidence/${enc(record.id)}/content`, { as: 'blob' });
        const url = URL.createObjectURL(blob);
        ctx.onLeave(() => URL.revokeObjectURL(url));
        video.src = url;
        load.remove();
        clear(note, 'Loaded whole (no service worker in this browser context); recorded in the custody log.');
        refreshCustody();
      } catch (err) {
        load.disabled = false;
        clear(note, errorBox(err, 'Could not load the footage'));
      }
    });
    section.append(video, load, note);
  } else {
    clear(
      note,
      'This file is too large to load whole, and streaming needs the console over HTTPS (or on localhost). ' +
        'Download it, or use evidencectl get.',
    );
    section.append(poster, note, downloadButton(record, ctx, refreshCustody));
  }
  return section;
}

function downloadButton(record, ctx, refreshCustody) {
  const status = h('span', { class: 'status' });
  const button = h('button', { type: 'button', id: 'download' }, `Download (${formatBytes(record.size)})`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const blob = await apiFetch(`/evidence/${enc(record.id)}/content`, { as: 'blob' });
      const url = URL.createObjectURL(blob);
      ctx.onLeave(() => URL.revokeObjectURL(url));
      const a = h('a', { href: url, download: record.filename || record.id }, 'Save file');
      clear(status, a);
      a.click();
      refreshCustody();
    } catch (err) {
      clear(status, errorBox(err, 'Download failed'));
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'actions' }, button, ' ', status);
}

function recordSection(r) {
  return h(
    'section',
    { class: 'card', id: 'record' },
    h('h2', {}, 'Record'),
    details([
      ['Evidence id', h('code', {}, r.id)],
      ['File name', r.filename],
      ['Officer', r.officer],
      ['Device', r.device],
      ['Recorded', timeCell(r.recorded_at)],
      ['Received', timeCell(r.received_at)],
      ['Size', formatBytes(r.size)],
      ['SHA-256', hashCell(r.sha256)],
      ['Uploaded by', r.uploaded_by],
      ['Ingest log entry', r.log_index !== undefined ? String(r.log_index) : ''],
      ['Cases', (r.cases || []).length ? r.cases.map((c) => h('a', { href: hrefCase(c), class: 'tag' }, c)) : ''],
    ]),
  );
}

// The three clocks side by side: what the recorder claimed, what the container says,
// when we received it, and the TSA's time (DESIGN.md, "time provenance").
function clockSection(r) {
  const c = r.clock;
  if (!c) return null;
  const section = h('section', { class: 'card', id: 'clocks' }, h('h2', {}, 'Clocks'));
  section.append(
    details([
      ['Recorder claims', timeCell(c.recorded_at)],
      ['Container tag', c.creation_time ? timeCell(c.creation_time) : h('span', { class: 'muted' }, 'none')],
      ['Received by us', timeCell(c.received_at)],
      ['Time-stamp authority', c.tsa_time ? timeCell(c.tsa_time) : h('span', { class: 'muted' }, 'none')],
    ]),
  );
  if (c.clock_suspect) {
    section.append(h('p', { class: 'error', id: 'clock-suspect' }, '⚠ Clock suspect: ', clockReasons(c).join('; ')));
  } else {
    section.append(h('p', { class: 'muted small' }, 'The clocks agree within the rule (5 minutes).'));
  }
  return section;
}

function mediaSection(r) {
  const m = r.media;
  const section = h('section', { class: 'card', id: 'media' }, h('h2', {}, 'Media'));
  if (!m) {
    section.append(h('p', { class: 'muted' }, r.media_error || 'No media information for this item.'));
    return section;
  }
  if (m.error) section.append(h('p', { class: 'error' }, `Could not read the file as media: ${m.error}`));
  section.append(
    details([
      ['Container', m.container],
      ['Duration', typeof m.duration === 'number' ? `${formatDuration(m.duration)} (${m.duration} s)` : ''],
      ['Bit rate', typeof m.bit_rate === 'number' ? `${Math.round(m.bit_rate / 1000)} kbit/s` : ''],
    ]),
  );
  const streams = m.streams || [];
  if (streams.length) {
    section.append(
      h(
        'table',
        { class: 'streams' },
        h('thead', {}, h('tr', {}, ['Stream', 'Codec', 'Profile', 'Picture / sound'].map((t) => h('th', {}, t)))),
        h(
          'tbody',
          {},
          streams.map((s) =>
            h(
              'tr',
              {},
              h('td', {}, s.type),
              h('td', {}, s.codec),
              h('td', {}, s.profile || ''),
              h(
                'td',
                {},
                s.type === 'video'
                  ? `${s.width}×${s.height}${s.frame_rate ? ` @ ${+Number(s.frame_rate).toFixed(3)} fps` : ''}`
                  : s.type === 'audio'
                    ? `${s.sample_rate || ''} Hz, ${s.channels || ''} ch`
                    : '',
              ),
            ),
          ),
        ),
      ),
    );
  }
  const tags = m.tags && Object.entries(m.tags);
  if (tags && tags.length) section.append(h('h3', {}, 'Tags'), details(tags.map(([k, v]) => [k, String(v)])));
  return section;
}

function timestampSection(r) {
  const section = h('section', { class: 'card', id: 'timestamp' }, h('h2', {}, 'Time stamp (RFC 3161)'));
  const body = h('div', {}, loading());
  section.append(body);
  apiFetch(`/evidence/${enc(r.id)}/timestamp`, { as: 'bytes' })
    .then((bytes) => {
      const ts = parseTimestamp(bytes);
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/timestamp-reply' }));
      const save = h('a', { href: url, download: `${r.id}.tsr` }, 'Save the token (.tsr)');
      if (!ts || !ts.time) {
        clear(body, details([['Received', timeCell(r.received_at)]]), h('p', { class: 'muted' }, 'The token could not be read for display.'), save);
        return;
      }
      const matches = ts.hashed && r.sha256 && ts.hashed.toLowerCase() === r.sha256.toLowerCase();
      clear(
        body,
        details([
          ['Time', timeCell(ts.time)],
          ['TSA', ts.tsa || 'not named in the token'],
          ['Serial', h('code', {}, ts.serial)],
          ['Policy', ts.policy],
          [
            'Stamped digest',
            h(
              'span',
              {},
              `${ts.hash_algorithm} `,
              matches
                ? h('span', { class: 'ok' }, '= the content’s SHA-256')
                : h('span', { class: 'bad' }, 'differs from the record’s SHA-256'),
            ),
          ],
          ['Received', timeCell(r.received_at)],
        ]),
        h('p', { class: 'muted small' }, 'Shown for reading; the signature is checked by Verify, or offline with openssl ts -verify. '),
        save,
      );
    })
    .catch((err) => clear(body, details([['Received', timeCell(r.received_at)]]), errorBox(err, 'Time stamp')));
  return section;
}

function verifySection(record, ctx, refreshCustody) {
  const section = h('section', { class: 'card', id: 'verify' }, h('h2', {}, 'Verification'));
  if (!ctx.can('verify')) {
    section.append(h('p', { class: 'muted' }, 'Verification is done by auditors.'));
    return section;
  }
  const out = h('div', { id: 'verify-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'verify-item' }, 'Verify this item');
  button.addEventListener('click', async () => {
    button.disabled = true;
    clear(out, loading('Re-hashing the content and checking its time stamp and custody…'));
    try {
      const report = await apiFetch('/verify', { method: 'POST', json: { scope: 'evidence', id: record.id } });
      clear(out, verifyReport(report));
      refreshCustody();
    } catch (err) {
      clear(out, errorBox(err, 'Verification could not run'));
    } finally {
      button.disabled = false;
    }
  });
  section.append(button, out);
  return section;
}

function casesSection(record, ctx, refreshCustody) {
  const section = h('section', { class: 'card', id: 'cases' }, h('h2', {}, 'Cases'));
  const list = h('ul', { class: 'linked-cases' });
  const status = h('div', { 'aria-live': 'polite' });
  let cases = [...(record.cases || [])];
  const editable = ctx.can('link');
  const draw = () => {
    clear(
      list,
      cases.length === 0 ? h('li', { class: 'muted' }, 'Not linked to any case.') : null,
      cases.map((c) =>
        h(
          'li',
          {},
          h('a', { href: hrefCase(c) }, c),
          editable
            ? h('button', { type: 'button', class: 'link danger', onclick: () => unlink(c), title: `unlink from ${c}` }, 'Unlink')
            : null,
        ),
      ),
    );
  };
  const unlink = async (c) => {
    if (!confirm(`Unlink this item from case ${c}? The unlinking is recorded in the custody log.`)) return;
    try {
      await apiFetch(`/evidence/${enc(record.id)}/cases/${enc(c)}`, { method: 'DELETE', as: 'response' });
      cases = cases.filter((x) => x !== c);
      clear(status);
      draw();
      refreshCustody();
    } catch (err) {
      clear(status, errorBox(err, 'Unlink failed'));
    }
  };
  section.append(list, status);
  draw();
  if (editable) {
    const input = h('input', { type: 'text', id: 'link-case', placeholder: 'case number', required: true, maxlength: 128 });
    const form = h('form', { class: 'inline' }, input, h('button', { type: 'submit' }, 'Link'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const c = input.value.trim();
      if (!c) return;
      try {
        await apiFetch(`/evidence/${enc(record.id)}/cases`, { method: 'POST', json: { case: c }, as: 'response' });
        if (!cases.includes(c)) cases.push(c);
        input.value = '';
        clear(status);
        draw();
        refreshCustody();
      } catch (err) {
        clear(status, errorBox(err, 'Link failed'));
      }
    });
    section.append(form);
  }
  return section;
}

async function loadCustody(section, id) {
  const body = section.querySelector('.body') || h('div', { class: 'body' });
  if (!section.firstChild) {
    const refresh = h('button', { type: 'button', class: 'link', onclick: () => loadCustody(section, id) }, 'Refresh');
    section.append(h('h2', {}, 'Custody timeline ', refresh), body);
    clear(body, loading());
  }
  try {
    const entries = custodyEntries(await apiFetch(`/evidence/${enc(id)}/custody`));
    entries.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    clear(
      body,
      h(
        'ol',
        { class: 'timeline' },
        entries.map((e) =>
          h(
            'li',
            { class: `event action-${e.action}`, dataset: { action: e.action || '' } },
            timeCell(e.time),
            ' ',
            h('strong', { class: 'action' }, e.action),
            ' by ',
            h('span', { class: 'actor' }, e.actor || '?'),
            e.role ? h('span', { class: 'role' }, e.role) : null,
            e.case ? h('span', {}, ' · case ', h('a', { href: hrefCase(e.case) }, e.case)) : null,
            e.detail && e.detail.range ? h('span', { class: 'small' }, ` · bytes ${e.detail.range}`) : null,
            h(
              'span',
              { class: 'muted small', title: e.proof ? 'inclusion proof provided' : '' },
              ` · log entry ${e.index ?? '?'}${e.proof ? ' (with inclusion proof)' : ''}`,
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    clear(body, errorBox(err, 'Custody'));
  }
}
