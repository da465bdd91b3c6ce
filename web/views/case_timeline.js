// A case's timeline (GET /cases/{C}/timeline): one lane per device, each item a bar
// from its recorded start to its end, the holes between recordings marked in red, and
// the items whose clocks disagree flagged. Clicking a bar opens the item playing from
// that moment. Drawn as SVG from text and numbers only (no HTML from the server).
import { apiFetch, enc } from '../api.js';
import { h, clear, errorBox, loading, hrefItem } from './util.js';

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 1000;
const LABEL = 140; // left column with the device names
const LANE = 34;
const AXIS = 26;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const ms = (t) => Date.parse(t);
// 08:15:05 (UTC), the date too when the span crosses days.
function clock(t, withDate) {
  const iso = new Date(t).toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : iso.slice(11, 19);
}
function seconds(n) {
  return Number.isInteger(n) ? `${n} s` : `${n.toFixed(1)} s`;
}

// The server's reason codes in words (verify/timeline.h).
export function clockReasons(c) {
  return ((c && c.reasons) || []).map((code) => {
    if (code === 'recorded_after_receipt') return 'the recorder claims a time after we received the file';
    if (code === 'creation_time_mismatch') {
      const off = c.creation_offset_seconds;
      const by = typeof off === 'number' ? ` by ${Math.round(Math.abs(off) / 60)} min` : '';
      return `the recorder's time differs from the file's creation tag${by}`;
    }
    return String(code);
  });
}
const reasonsOf = (item) => clockReasons(item.clock);

// The picture. `onPick(item, offsetSeconds)` is called for a click on a bar.
export function timelinePicture(doc, onPick) {
  // Only what has a time this browser can read (the server checks, this draws).
  const items = (doc.items || []).filter((i) => Number.isFinite(ms(i.start)) && Number.isFinite(ms(i.end || i.start)));
  const devices = [...new Set(items.map((i) => i.device))].sort();
  const t0 = Math.min(...items.map((i) => ms(i.start)));
  const t1 = Math.max(...items.map((i) => ms(i.end || i.start)));
  const span = Math.max(t1 - t0, 1000);
  const acrossDays = new Date(t0).toISOString().slice(0, 10) !== new Date(t1).toISOString().slice(0, 10);
  const x = (t) => LABEL + ((ms(t) - t0) / span) * (WIDTH - LABEL - 10);
  const height = AXIS + devices.length * LANE + 8;
  const root = svg('svg', {
    id: 'timeline-svg',
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: '100%',
    role: 'img',
    'aria-label': `Timeline of ${items.length} items on ${devices.length} devices`,
  });
  // Gaps first, under the bars, across every lane.
  for (const g of doc.gaps || []) {
    root.append(
      svg(
        'rect',
        {
          class: 'gap',
          x: x(g.start),
          y: AXIS - 4,
          width: Math.max(x(g.end) - x(g.start), 2),
          height: devices.length * LANE + 4,
          dataset: { seconds: g.seconds },
        },
        svg('title', {}, `No recording for ${seconds(g.seconds)}: ${clock(g.start, acrossDays)} to ${clock(g.end, acrossDays)} UTC`),
      ),
    );
  }
  devices.forEach((device, lane) => {
    const y = AXIS + lane * LANE;
    const g = svg('g', { class: 'lane', dataset: { device } });
    g.append(
      svg('line', { class: 'lane-line', x1: LABEL, x2: WIDTH - 10, y1: y + LANE / 2, y2: y + LANE / 2 }),
      svg('text', { class: 'lane-label', x: 4, y: y + LANE / 2 + 4 }, device),
    );
    for (const it of items.filter((i) => i.device === device)) {
      const left = x(it.start);
      const w = Math.max(x(it.end || it.start) - left, 4); // an instant still shows
      const suspect = it.clock && it.clock.clock_suspect;
      const cls = ['span', suspect ? 'suspect' : '', it.probing ? 'probing' : ''].filter(Boolean).join(' ');
      const bar = svg(
        'rect',
        { class: cls, x: left, y: y + 5, width: w, height: LANE - 10, rx: 3, dataset: { id: it.evidence }, tabindex: 0 },
        svg(
          'title',
          {},
          `${it.evidence} · ${it.officer} · ${clock(it.start, acrossDays)}–${clock(it.end || it.start, acrossDays)} UTC` +
            (it.probing ? ' · still being probed: length not known yet' : '') +
            (suspect ? ` · clock suspect: ${reasonsOf(it).join('; ')}` : ''),
        ),
      );
      const pick = (ev) => {
        let offset = 0;
        const box = bar.getBoundingClientRect();
        if (ev && typeof ev.clientX === 'number' && box.width > 0) {
          const fraction = Math.min(Math.max((ev.clientX - box.left) / box.width, 0), 1);
          offset = (fraction * (ms(it.end || it.start) - ms(it.start))) / 1000;
        }
        onPick(it, offset);
      };
      bar.addEventListener('click', pick);
      bar.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') pick(null);
      });
      g.append(bar);
      if (suspect) g.append(svg('text', { class: 'suspect-mark', x: left + 2, y: y + 4 }, '⚠'));
    }
    root.append(g);
  });
  // The axis: first start, last end, and a few ticks between.
  const axis = svg('g', { class: 'axis' });
  for (let k = 0; k <= 4; k++) {
    const t = new Date(t0 + (span * k) / 4).toISOString();
    axis.append(
      svg('line', { x1: x(t), x2: x(t), y1: AXIS - 6, y2: height - 4 }),
      svg('text', { x: x(t), y: 12, 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' }, clock(t, acrossDays && (k === 0 || k === 4))),
    );
  }
  root.prepend(axis);
  return root;
}

// The whole section: min_gap control, picture, gaps and clock warnings in words.
export function timelineSection(caseNumber, ctx) {
  const section = h('section', { id: 'timeline', class: 'card' }, h('h2', {}, 'Timeline'));
  const minGap = h('input', { id: 'min-gap', type: 'number', min: 0, step: 'any', value: 5, class: 'gap-input' });
  const body = h('div', {}, loading());
  const form = h(
    'form',
    { class: 'inline', onsubmit: (e) => (e.preventDefault(), load()) },
    h('label', { for: 'min-gap' }, 'Show holes of at least '),
    minGap,
    ' s ',
    h('button', { type: 'submit' }, 'Redraw'),
  );
  section.append(form, body);
  async function load() {
    clear(body, loading());
    try {
      const doc = await apiFetch(`/cases/${enc(caseNumber)}/timeline?min_gap=${enc(minGap.value || '0')}`);
      const items = doc.items || [];
      if (!items.some((i) => Number.isFinite(ms(i.start)))) {
        clear(body, h('p', { class: 'muted' }, 'No items to draw.'));
        return;
      }
      const picture = timelinePicture(doc, (it, offset) => ctx.go(`${hrefItem(it.evidence)}?t=${offset.toFixed(1)}`));
      const gaps = doc.gaps || [];
      const gapList = gaps.length
        ? h(
            'ul',
            { id: 'gaps', class: 'gaps' },
            gaps.map((g) => h('li', { class: 'gap-line' }, `No recording for ${seconds(g.seconds)}: ${g.start} to ${g.end}`)),
          )
        : h('p', { id: 'gaps', class: 'muted' }, `No holes of ${minGap.value} s or more between ${items.length === 1 ? 'the item' : 'the items'}.`);
      const suspects = items.filter((i) => i.clock && i.clock.clock_suspect);
      const warnings = suspects.length
        ? h(
            'ul',
            { id: 'clock-warnings', class: 'warnings' },
            suspects.map((i) =>
              h('li', {}, '⚠ ', h('a', { href: hrefItem(i.evidence) }, i.evidence), ` (${i.device}): clock suspect — ${reasonsOf(i).join('; ')}`),
            ),
          )
        : null;
      const probing = items.filter((i) => i.probing).length;
      clear(
        body,
        h('div', { class: 'timeline-box' }, picture),
        h('p', { class: 'muted small' }, 'Times in UTC. Click a bar to play that item from that moment.'),
        probing ? h('p', { class: 'muted small' }, `${probing} item(s) still being probed: drawn as instants until their length is known.`) : null,
        gapList,
        warnings,
      );
    } catch (err) {
      clear(body, errorBox(err, 'Could not load the timeline'));
    }
  }
  load();
  return section;
}
