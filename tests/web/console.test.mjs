// End-to-end test of the web console: starts a real evidenced on a fresh data
// directory, uploads a short H.264 clip under a CJK case number, then drives Debian's
// chromium (headless, through playwright-core) the way a reviewer and an auditor
// would. Screenshots of every page go to tests/web/screenshots/ (not committed).
//
//   node tests/web/console.test.mjs [path/to/evidenced]
//   (or EVIDENCED=path; CHROMIUM=path overrides /usr/bin/chromium)
//
// Exit 0 when every step passed, 1 with the failing step named otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { apiCall, startDaemon, stopDaemon } from './daemon.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CASE = '汉台执罚〔2017〕第123号';
const CASE_PREFIX = '汉台执罚';
const OFFICER = 'o.wang';
const DEVICE = 'BWC-0042';

function fail(message) {
  console.error(`console.test: ${message}`);
  process.exit(1);
}

// ---- prerequisites, each with a plain message -----------------------------------
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  fail(`playwright-core is not installed. Run: (cd ${here} && npm ci)`);
}
const evidenced = process.argv[2] || process.env.EVIDENCED || path.join(here, '../../build/tools/evidenced');
if (!existsSync(evidenced)) fail(`no evidenced at ${evidenced}: build it, or pass its path as the first argument`);
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(browserPath)) fail(`no chromium at ${browserPath}: apt-get install -y chromium (tests/web/packages.txt)`);
try {
  execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
} catch {
  fail('ffmpeg is not installed (apt-get install -y ffmpeg)');
}

const work = mkdtempSync(path.join(tmpdir(), 'evidence-console-'));
const shots = process.env.SCREENSHOT_DIR || path.join(here, 'screenshots');
mkdirSync(shots, { recursive: true });
const cleanups = [];
let daemon;
let uiBase;

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
  if (!process.env.KEEP_WORK) rmSync(work, { recursive: true, force: true });
}

let current = 'setup';
// SKIP_STEPS=regex skips matching steps (for work on one part while another is missing).
const skip = process.env.SKIP_STEPS ? new RegExp(process.env.SKIP_STEPS) : null;
async function step(name, fn) {
  current = name;
  if (skip && skip.test(name)) {
    console.log(`skip ${name}`);
    return;
  }
  const t = Date.now();
  await fn();
  console.log(`ok  ${name} (${Date.now() - t} ms)`);
}

// ---- the daemon (tests/web/daemon.mjs) -------------------------------------------
const api = (...args) => apiCall(daemon.base, ...args);

// ---- the run --------------------------------------------------------------------
let browser;
try {
  const dataDir = path.join(work, 'data');
  let admin;
  let auditorToken;
  let reviewerToken;
  let itemId;
  let secondId;
  let thirdId;

  await step('evidenced init and serve on 127.0.0.1:0', async () => {
    execFileSync(evidenced, ['init', '--data', dataDir], { stdio: 'ignore' });
    admin = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    daemon = await startDaemon(evidenced, dataDir);
    cleanups.push(() => stopDaemon(daemon));
    uiBase = daemon.base;
  });

  await step('users: an auditor and a reviewer', async () => {
    const a = await api(admin, 'POST', '/users', JSON.stringify({ name: 'a.chen', role: 'auditor' }));
    assert.equal(a.status, 201, a.text);
    auditorToken = a.json.token;
    const r = await api(admin, 'POST', '/users', JSON.stringify({ name: 'r.li', role: 'reviewer' }));
    assert.equal(r.status, 201, r.text);
    reviewerToken = r.json.token;
  });

  await step('upload a 5 s H.264 clip under a CJK case number', async () => {
    const clip = path.join(work, 'clip.mp4');
    execFileSync('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '5',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-y', clip,
    ]);
    const q = new URLSearchParams({
      case: CASE,
      officer: OFFICER,
      device: DEVICE,
      recorded_at: '2026-11-27T08:15:00Z',
      filename: 'clip.mp4',
    });
    const res = await api(admin, 'POST', `/evidence?${q}`, readFileSync(clip), { 'Content-Type': 'video/mp4' });
    assert.equal(res.status, 201, res.text);
    itemId = res.json.evidence_id;
    assert.ok(itemId, 'the receipt names the evidence id');
    // The same bytes again from another device, with no case: a second item for paging.
    q.delete('case');
    q.set('device', 'BWC-0043');
    const second = await api(admin, 'POST', `/evidence?${q}`, readFileSync(clip), { 'Content-Type': 'video/mp4' });
    assert.equal(second.status, 201, second.text);
    secondId = second.json.evidence_id;
    // A third, in the case, from another officer's device: recorded 10 s after the
    // first began (the first is 5 s long: a 5 s hole), its container tag 15 minutes
    // off its recorder's claim (clock suspect).
    const tagged = path.join(work, 'tagged.mp4');
    execFileSync('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '5',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-metadata', 'creation_time=2026-11-27T08:00:10Z', '-y', tagged,
    ]);
    const q3 = new URLSearchParams({
      case: CASE,
      officer: 'o.li',
      device: 'BWC-0044',
      recorded_at: '2026-11-27T08:15:10Z',
      filename: 'tagged.mp4',
    });
    const third = await api(admin, 'POST', `/evidence?${q3}`, readFileSync(tagged), { 'Content-Type': 'video/mp4' });
    assert.equal(third.status, 201, third.text);
    thirdId = third.json.evidence_id;
    // The timeline draws probed lengths: wait for the media worker.
    let probing = true;
    for (let i = 0; i < 100 && probing; i++) {
      const t = await api(admin, 'GET', `/cases/${encodeURIComponent(CASE)}/timeline`);
      assert.equal(t.status, 200, t.text);
      probing = t.json.items.some((it) => it.probing);
      if (probing) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(!probing, 'the items were probed');
  });

  await step('the daemon serves the console with a strict CSP', async () => {
    const res = await fetch(daemon.base + '/');
    assert.equal(res.status, 200, 'GET / serves index.html (is the web asset route wired?)');
    assert.match(res.headers.get('content-type') || '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') || '', /default-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const js = await fetch(daemon.base + '/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') || '', /javascript/);
  });

  const userDataDir = path.join(work, 'chromium-profile');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browserPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    // NO_SERVICE_WORKER=1 exercises the fallback for consoles served over plain HTTP.
    serviceWorkers: process.env.NO_SERVICE_WORKER ? 'block' : 'allow',
  });
  browser = context;
  cleanups.push(() => context.close());
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(20000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  // Nothing may be fetched from anywhere but the daemon.
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(uiBase) && !u.startsWith('blob:') && !u.startsWith('data:')) {
      problems.push(`request outside the daemon: ${u}`);
    }
  });
  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  await step('a wrong token is refused in plain words', async () => {
    await page.goto(uiBase + '/');
    await page.waitForSelector('#signin-form');
    await page.fill('#token', 'not-a-real-token');
    await page.click('#signin');
    await page.waitForSelector('#signin-form .error');
    const text = await page.textContent('#signin-form .error');
    assert.match(text, /not accepted/);
    await shot('01-signin-refused');
  });

  await step('sign in as the auditor; the token stays out of URLs and cookies', async () => {
    await page.fill('#token', auditorToken);
    await page.click('#signin');
    await page.waitForSelector('#case-prefix');
    assert.equal(await page.textContent('#who .role'), 'auditor');
    assert.ok(!page.url().includes(auditorToken));
    const cookies = await context.cookies();
    assert.equal(cookies.length, 0, 'no cookies');
    const stored = await page.evaluate(() => sessionStorage.getItem('evidence.token'));
    assert.equal(stored, auditorToken);
    const local = await page.evaluate(() => JSON.stringify(localStorage));
    assert.ok(!local.includes(auditorToken), 'not in localStorage');
  });

  await step('find the case by its CJK prefix', async () => {
    await page.fill('#case-prefix', CASE_PREFIX);
    await page.press('#case-prefix', 'Enter');
    const link = page.locator('a.case-link', { hasText: CASE });
    await link.waitFor();
    assert.equal(await link.textContent(), CASE);
    await shot('02-cases');
    await link.click();
  });

  await step('the case page draws the timeline: two lanes, the 5 s hole in red, the clock warning', async () => {
    await page.waitForSelector('#timeline-svg rect.span');
    assert.equal(await page.locator('#timeline-svg g.lane').count(), 2, 'one lane per device');
    assert.equal(await page.locator('#timeline-svg rect.span').count(), 2);
    const gaps = page.locator('#timeline-svg rect.gap');
    assert.equal(await gaps.count(), 1, 'one hole of at least 5 s');
    assert.equal(await gaps.getAttribute('data-seconds'), '5');
    assert.match(await page.textContent('#gaps'), /No recording for 5 s: 2026-11-27T08:15:05(\.0+)?Z to 2026-11-27T08:15:10(\.0+)?Z/);
    assert.equal(await page.getAttribute('#timeline-svg rect.span.suspect', 'data-id'), thirdId);
    assert.match(await page.textContent('#clock-warnings'), new RegExp(`${thirdId}.*clock suspect`));
    // The gap is drawn red.
    const fill = await gaps.evaluate((el) => getComputedStyle(el).fill);
    assert.match(fill, /rgb\(221, 34, 34\)/);
    assert.equal(await page.locator('#review-form').count(), 0, 'an auditor reads reviews but does not add them');
    await page.waitForSelector('#review-list');
    await shot('03a-case-timeline');
    // No hole of 6 s or more.
    await page.fill('#min-gap', '6');
    await page.press('#min-gap', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#timeline-svg rect.gap').length === 0 && document.querySelector('#timeline-svg'));
    assert.match(await page.textContent('#gaps'), /No holes of 6 s/);
    // Click on the first item's bar, three quarters in: its page plays from there.
    const bar = page.locator(`#timeline-svg rect.span[data-id="${itemId}"]`);
    const box = await bar.boundingBox();
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    await page.waitForSelector('#player');
    assert.match(page.url(), new RegExp(`#/item/${itemId}\\?t=3\\.[0-9]`));
    const at = Number(await page.getAttribute('#player', 'data-start-at'));
    assert.ok(at > 3 && at < 4.2, `starts at ${at} s`);
    // The item's clocks side by side; these agree.
    const clocks = await page.textContent('#clocks');
    for (const want of ['Recorder claims', 'Container tag', 'Received by us', 'Time-stamp authority']) {
      assert.ok(clocks.includes(want), `the clocks card shows ${want}`);
    }
    assert.equal(await page.locator('#clock-suspect').count(), 0);
    await page.goto(`${uiBase}/#/item/${thirdId}`);
    await page.waitForSelector('#clock-suspect');
    assert.match(await page.textContent('#clock-suspect'), /creation tag by 15 min/);
    await shot('03b-item-clocks');
    await page.goto(`${uiBase}/#/case/${encodeURIComponent(CASE)}`);  // where the next step starts
  });

  await step('the case page lists the item with poster frame and details', async () => {
    await page.waitForSelector(`tr.item-row[data-id="${itemId}"]`);
    assert.equal(await page.textContent('h1.case-number'), CASE);
    const row = page.locator(`tr.item-row[data-id="${itemId}"]`);
    const text = await row.textContent();
    for (const want of [OFFICER, DEVICE, '2026-11-27T08:15:00Z']) assert.ok(text.includes(want), `row shows ${want}`);
    // The poster frame loads through a blob URL (when the daemon has thumbnails).
    await page
      .waitForFunction(
        (id) => {
          const img = document.querySelector(`tr.item-row[data-id="${id}"] img.thumb`);
          return img && img.complete && img.naturalWidth > 0;
        },
        itemId,
        { timeout: 5000 },
      )
      .catch(() => problems.push('note: no poster frame on the case page'));
    await shot('03-case');
    await row.locator('a.item-link').click();
  });

  await step('the item plays to at least 2 s in the browser player', async () => {
    await page.waitForSelector('#player');
    await page.waitForSelector('#record');
    const mode = await page.evaluate(() => document.body.dataset.playback);
    if (mode !== 'worker') await page.click('#load-video');
    await page.evaluate(() => {
      const v = document.getElementById('player');
      v.muted = true;
      return v.play();
    });
    await page.waitForFunction(() => document.getElementById('player').currentTime >= 2, null, { timeout: 30000 });
    // Seek back: the player fetches again with a Range request.
    await page.evaluate(() => {
      const v = document.getElementById('player');
      v.currentTime = 0.5;
    });
    await page.waitForFunction(() => !document.getElementById('player').seeking, null, { timeout: 10000 });
    await page.evaluate(() => document.getElementById('player').pause());
    console.log(`    playback through the ${mode === 'worker' ? 'service worker (Range requests)' : 'whole-file blob'}`);
  });

  await step('the custody timeline shows the playback', async () => {
    await page.click('#custody button.link');
    await page.waitForSelector('#custody li.event[data-action="download"], #custody li.event[data-action="view"]');
    const actions = await page.$$eval('#custody li.event', (els) => els.map((e) => e.dataset.action));
    assert.ok(actions.includes('ingest'), `timeline has ingest: ${actions}`);
    const text = await page.textContent('#custody');
    assert.ok(text.includes('a.chen'), 'the playback is attributed to the auditor');
    if ((await page.evaluate(() => document.body.dataset.playback)) === 'worker') {
      assert.match(text, /download by a\.chen.*bytes \d+-\d+/s, 'the player fetched with a Range request');
    }
  });

  await step('the time stamp is shown with time, TSA and serial', async () => {
    await page.waitForSelector('#timestamp dl');
    const text = await page.textContent('#timestamp');
    assert.match(text, /Serial/);
    assert.match(text, /= the content’s SHA-256/);
    await shot('04-item');
  });

  await step('verify the item: ok', async () => {
    await page.click('#verify-item');
    await page.waitForSelector('#verify-result .report');
    assert.equal(await page.getAttribute('#verify-result .report', 'data-ok'), 'true', await page.textContent('#verify-result'));
    await page.click('#custody button.link');
    await page.waitForSelector('#custody li.event[data-action="verify"]').catch(() => {});
    await shot('05-item-verified');
  });

  await step('search by officer, a page at a time', async () => {
    await page.goto(`${uiBase}/#/search?officer=${encodeURIComponent(OFFICER)}&limit=10`);
    await page.waitForSelector(`#search-results tr.item-row[data-id="${itemId}"]`);
    await page.waitForSelector(`#search-results tr.item-row[data-id="${secondId}"]`);
    await shot('06-search');
    await page.goto(`${uiBase}/#/search?officer=${encodeURIComponent(OFFICER)}&limit=1`);
    await page.waitForSelector('#search-results tr.item-row');
    const first = await page.getAttribute('#search-results tr.item-row', 'data-id');
    assert.equal(await page.locator('#search-results tr.item-row').count(), 1);
    await page.click('#next-page');
    await page.waitForFunction(
      (id) => {
        const row = document.querySelector('#search-results tr.item-row');
        return row && row.dataset.id !== id;
      },
      first,
    );
    const other = await page.getAttribute('#search-results tr.item-row', 'data-id');
    assert.deepEqual([first, other].sort(), [itemId, secondId].sort());
    await page.click('#prev-page');
    await page.waitForFunction((id) => document.querySelector('#search-results tr.item-row')?.dataset.id === id, first);
  });

  await step('auditor: the log page shows the signed checkpoint', async () => {
    await page.click('#nav a[href="#/log"]');
    await page.waitForSelector('#checkpoint-text');
    const note = await page.textContent('#checkpoint-text');
    assert.match(note, /\n— /, 'the checkpoint carries a signature line');
  });

  await step('auditor: store-wide verify shows ok', async () => {
    await page.click('#verify-all');
    await page.waitForSelector('#verify-all-result .report', { timeout: 60000 });
    assert.equal(await page.getAttribute('#verify-all-result .report', 'data-ok'), 'true', await page.textContent('#verify-all-result'));
  });

  await step('auditor: export the case bundle', async () => {
    await shot('07-log');
    await page.fill('#export-case', CASE);
    await page.press('#export-case', 'Enter');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('#export')]);
    const saved = path.join(work, 'bundle.tar');
    await download.saveAs(saved);
    assert.ok(statSync(saved).size > 1024, 'the bundle is not empty');
    assert.match(download.suggestedFilename(), /\.tar$/);
  });

  await step('reviewer: sees link/unlink, not the log page, and links a case', async () => {
    await page.click('#who button');
    await page.waitForSelector('#signin-form');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('evidence.token')), null, 'sign-out forgets the token');
    await page.fill('#token', reviewerToken);
    await page.click('#signin');
    await page.waitForSelector('#case-prefix');
    assert.equal(await page.textContent('#who .role'), 'reviewer');
    assert.equal(await page.locator('#nav a[href="#/log"]').count(), 0);
    await page.goto(`${uiBase}/#/item/${itemId}`);
    await page.waitForSelector('#link-case');
    assert.equal(await page.locator('#verify-item').count(), 0, 'verifying is for auditors');
    await page.fill('#link-case', 'B/2026 0001');
    await page.press('#link-case', 'Enter');
    await page.waitForSelector('#cases a[href="#/case/B%2F2026%200001"]');
    await page.click('#custody button.link');
    await page.waitForSelector('#custody li.event[data-action="link"]');
    await shot('08-item-reviewer');
  });

  await step('reviewer: records a case-file review, bound to its custody entry', async () => {
    await page.goto(`${uiBase}/#/case/${encodeURIComponent(CASE)}`);
    await page.waitForSelector('#review-form');
    await page.selectOption('#review-verdict', 'incomplete');
    await page.check('#check-clocks_consistent');
    await page.fill('#review-notes', '5 s hole at 08:15:05; BWC-0044 clock 15 min off');
    await page.click('#review-submit');
    const li = page.locator('#review-list li.review.verdict-incomplete');
    await li.waitFor();
    const text = await li.textContent();
    assert.match(text, /r\.li/);
    assert.match(text, /5 s hole at 08:15:05/);
    assert.match(text, /custody entry \d+/);
    const listed = await api(reviewerToken, 'GET', `/cases/${encodeURIComponent(CASE)}/reviews`);
    assert.equal(listed.status, 200, listed.text);
    const reviews = Array.isArray(listed.json) ? listed.json : listed.json.reviews;
    assert.equal(reviews.length, 1);
    assert.equal(reviews[0].checklist.clocks_consistent, true);
    assert.equal(reviews[0].checklist.whole_process_recorded, false);
    await shot('08a-case-review');
  });

  await step('admin: the People page adds, disables and re-keys a person', async () => {
    await page.click('#who button');
    await page.waitForSelector('#signin-form');
    await page.fill('#token', admin);
    await page.click('#signin');
    await page.waitForSelector('#nav a[href="#/users"]');
    assert.equal(await page.textContent('#who .name'), 'admin', 'GET /whoami names the signed-in user');
    await page.click('#nav a[href="#/users"]');
    await page.waitForSelector('#user-list tr[data-user="r.li"]');
    await page.fill('#new-user-name', 'o.zhao');
    await page.selectOption('#new-user-role', 'officer');
    await page.fill('#new-user-badge', '031299');
    await page.fill('#new-user-cert', 'ZF-77');
    await page.fill('#new-user-cert-until', '2020-06-30');
    await page.click('#add-user');
    await page.waitForSelector('#new-token');
    const token = (await page.textContent('#new-token')).trim();
    const row = page.locator('#user-list tr[data-user="o.zhao"]');
    await row.waitFor();
    assert.match(await row.textContent(), /031299/);
    assert.match(await row.textContent(), /lapsed/, 'a lapsed certificate is marked');
    assert.equal((await api(token, 'GET', '/whoami')).status, 200);
    await row.locator('button.toggle').click();
    await page.waitForSelector('#user-list tr[data-user="o.zhao"].disabled');
    assert.equal((await api(token, 'GET', '/whoami')).status, 401, 'a disabled person is locked out at once');
    await shot('09-people');
    await page.locator('#user-list tr[data-user="r.li"] button.rotate').click();
    await page.waitForFunction(() => document.querySelector('#user-notice')?.textContent.includes('r.li'));
    assert.equal((await api(reviewerToken, 'GET', '/whoami')).status, 401, "the reviewer's old token is dead");
    const users = await api(admin, 'GET', '/users');
    assert.equal(users.status, 200);
    assert.equal(users.json.users.find((u) => u.name === 'o.zhao').disabled, true);
    await page.goto(`${uiBase}/#/item/${itemId}`);  // where the next step starts
    await page.waitForSelector('#custody button.link');
  });

  let secondAdmin;
  let dueA;
  let dueB;
  const signInAs = async (token) => {
    await page.click('#who button');
    await page.waitForSelector('#signin-form');
    await page.fill('#token', token);
    await page.click('#signin');
    await page.waitForSelector('#nav');
    await page.waitForFunction(() => document.querySelector('#who .role'));
  };

  await step('retention: a 0-day category, a second admin, two due items', async () => {
    const b = await api(admin, 'POST', '/users', JSON.stringify({ name: 'b.admin', role: 'admin' }));
    assert.equal(b.status, 201, b.text);
    secondAdmin = b.json.token;
    const c = await api(admin, 'PUT', '/retention/categories/brief', JSON.stringify({ days: 0 }), { 'Content-Type': 'application/json' });
    assert.equal(c.status, 200, c.text);
    const ids = [];
    for (const n of [1, 2]) {
      const q = new URLSearchParams({ officer: OFFICER, device: DEVICE, filename: `note-${n}.txt`, category: 'brief' });
      const res = await api(admin, 'POST', `/evidence?${q}`, `retention test item ${n} ${Date.now()}`);
      assert.equal(res.status, 201, res.text);
      ids.push(res.json.evidence_id);
    }
    [dueA, dueB] = ids;
  });

  await step('admin: the item page shows category and keep-until, and changes the category', async () => {
    await page.goto(`${uiBase}/#/item/${itemId}`);
    await page.waitForSelector('#retention-category');
    assert.equal(await page.textContent('#retention-category'), 'evidence', 'a case link made it evidence');
    assert.equal(await page.textContent('#retention-until'), 'permanent');
    await page.goto(`${uiBase}/#/item/${dueA}`);
    await page.waitForSelector('#retention-select option[value="routine"]', { state: 'attached' });
    assert.equal(await page.textContent('#retention-category'), 'brief');
    assert.notEqual(await page.textContent('#retention-until'), 'permanent');
    await page.selectOption('#retention-select', 'routine');
    await page.click('#retention-change');
    await page.waitForFunction(() => document.querySelector('#retention-category')?.textContent === 'routine');
    assert.match(await page.textContent('#retention-notice'), /log entry \d+/);
    await shot('10-item-retention');
    await page.selectOption('#retention-select', 'brief');
    await page.click('#retention-change');
    await page.waitForFunction(() => document.querySelector('#retention-category')?.textContent === 'brief');
  });

  await step('admin: the due list, a request, its rejection; the requester cannot approve', async () => {
    await page.click('#nav a[href="#/retention"]');
    await page.waitForSelector(`#due-list tr[data-item="${dueA}"]`);
    await page.waitForSelector(`#due-list tr[data-item="${dueB}"]`);
    assert.equal(await page.locator(`#due-list tr[data-item="${itemId}"]`).count(), 0, 'permanent items are not due');
    await page.check(`#due-list tr[data-item="${dueA}"] input.due-pick`);
    await page.fill('#dispose-reason', 'first try');
    await page.click('#dispose-request');
    const pending = page.locator('#disposition-list tr[data-state="pending"]');
    await pending.waitFor();
    assert.match(await pending.locator('.requested-by').textContent(), /admin/);
    assert.equal(await pending.locator('button.approve').isDisabled(), true, 'four eyes: the requester cannot approve');
    await pending.locator('button.reject').click();
    await page.waitForSelector('#disposition-list tr[data-state="rejected"]');
    await page.check(`#due-list tr[data-item="${dueA}"] input.due-pick`);
    await page.check(`#due-list tr[data-item="${dueB}"] input.due-pick`);
    await page.fill('#dispose-reason', 'retention over');
    await page.click('#dispose-request');
    await page.waitForSelector('#disposition-list tr[data-state="pending"]');
    await shot('11-retention-queue');
  });

  await step('a second admin approves: items disposed, the item page says so', async () => {
    await signInAs(secondAdmin);
    await page.goto(`${uiBase}/#/retention`);
    const pending = page.locator('#disposition-list tr[data-state="pending"]');
    await pending.waitFor();
    assert.equal(await pending.locator('button.approve').isDisabled(), false);
    await pending.locator('button.approve').click();
    await page.waitForSelector('#disposition-list tr[data-state="done"]');
    assert.match(await page.textContent('#lifecycle-notice'), /2 item\(s\) disposed/);
    await page.waitForSelector('#due-empty');
    await page.goto(`${uiBase}/#/item/${dueA}`);
    await page.waitForSelector('#disposed');
    assert.match(await page.textContent('#disposed'), /requested by admin, approved by b\.admin/);
    assert.equal(await page.locator('#retention-select').count(), 0, 'a disposed item changes no category');
    assert.equal((await api(admin, 'GET', `/evidence/${dueA}/content`)).status, 410);
    await shot('12-item-disposed');
    await page.goto(`${uiBase}/#/item/${itemId}`);  // where the next step starts
    await page.waitForSelector('#custody button.link');
  });

  await step('errors are plain: server unreachable', async () => {
    assert.equal(await stopDaemon(daemon), 0, 'evidenced exits 0 at SIGTERM');
    await page.click('#custody button.link');
    await page.waitForSelector('#custody .error');
    assert.match(await page.textContent('#custody .error'), /cannot be reached/);
    await shot('13-unreachable');
  });

  const real = problems.filter(
    (p) => !p.startsWith('note:') && !/Failed to load resource|ERR_CONNECTION_REFUSED|status of 40[134]/.test(p),
  );
  for (const p of problems) console.log(`    ${p}`);
  current = 'no page errors, no outside requests';
  assert.deepEqual(real, [], 'page errors or outside requests');
  console.log(`console.test: all steps passed; screenshots in ${shots}`);
  await cleanup();
  process.exit(0);
} catch (e) {
  console.error(`FAIL ${current}: ${e && e.stack ? e.stack : e}`);
  if (daemon) console.error(`--- evidenced log (tail) ---\n${daemon.log().split('\n').slice(-30).join('\n')}`);
  await cleanup();
  process.exit(1);
}
