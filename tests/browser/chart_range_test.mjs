// The dashboard's charts scale their time axis to the data (issue 20 item
// 16): a chart with one window spans a minute or the window around it, not
// years; with several windows it spans exactly the first to the last.
//
// The page and its script come from a real `alliance dashboard` (the assets
// embedded in the binary; its broker address is a closed port, so it has no
// data); the view is injected into /api/events by playwright, one view per
// event-stream connection: no windows, one window of 1 minute, three windows,
// one window of 1 hour. Environment: ALLIANCE_BIN, ALLIANCE_SRC (set by ctest).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import assert from 'node:assert/strict';

const SRC = process.env.ALLIANCE_SRC;
const BIN = process.env.ALLIANCE_BIN;
const require = createRequire(path.join(SRC, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const log = (...a) => console.log('[chart_range_test]', ...a);

function closedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

const T = Date.UTC(2026, 8, 1, 11, 44);  // a window starting 11:44 UTC
function view(version, windowMs, starts) {
  const n = starts.length;
  return {
    name: 'chart-range', version, default_currency: 'CNY', watermark: n ? starts[n - 1] + windowMs : null,
    watermark_text: '', source_error: '',
    series: {
      window_size: windowMs === 60000 ? '1m' : '1h', window_ms: windowMs, starts,
      sources: n ? [{ key: 'social', clicks: starts.map(() => 5), unique_users: starts.map(() => 4),
        conversions: starts.map(() => 1), conversion_rate: starts.map(() => 0.25) }] : [],
    },
    sources: [], source_totals: [], campaigns: [], partners: [], balances: [],
    dead_letters: { total: 0, by_reason: [] }, positions: [], topics: [],
  };
}
const VIEWS = [
  view(1, 60000, []),
  view(2, 60000, [T]),
  view(3, 60000, [T, T + 60000, T + 120000]),
  view(4, 3600000, [T]),
];

const dash = spawn(BIN, ['dashboard', '--topology', path.join(SRC, 'topologies/spring-alliance.yaml'),
  '--bootstrap', `127.0.0.1:${await closedPort()}`, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
let browser;
try {
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the dashboard printed no address in 20 s')), 20000);
    dash.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/dashboard: (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    dash.on('exit', (code) => reject(new Error(`the dashboard exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await (await browser.newContext({ viewport: { width: 1200, height: 900 }, timezoneId: 'UTC' })).newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  let served = 0;
  let release = null;  // the next stream connection waits until the test asks for the next view
  await page.route(`${url}api/events`, async (route) => {
    const v = VIEWS[Math.min(served, VIEWS.length - 1)];
    if (served > 0) await new Promise((r) => { release = r; });
    served += 1;
    await route.fulfill({ status: 200, contentType: 'text/event-stream',
      body: `retry: 100\nevent: view\nid: ${v.version}\ndata: ${JSON.stringify(v)}\n\n` });
  });
  await page.goto(url);

  /// The x scale of every chart once the page shows view `version`, in seconds.
  async function xScales(version) {
    if (version > 1) {
      while (!release) await new Promise((r) => setTimeout(r, 20));
      const r = release;
      release = null;
      r();
    }
    await page.waitForFunction((v) => document.body.dataset.version === String(v), version, { timeout: 15000 });
    return page.evaluate(() => Object.fromEntries(Object.entries(charts).map(([k, c]) => [k, [c.scales.x.min, c.scales.x.max]])));
  }

  await xScales(1);  // no windows: the page draws without an error
  const t = T / 1000;
  for (const [version, expected, what] of [
    [2, [t - 30, t + 30], 'one 1-minute window: a minute around it'],
    [3, [t, t + 120], 'three windows: first to last'],
    [4, [t - 1800, t + 1800], 'one 1-hour window: an hour around it'],
  ]) {
    const scales = await xScales(version);
    log(what, JSON.stringify(scales.clicks), 'expected', JSON.stringify(expected));
    assert.equal(Object.keys(scales).length, 4, 'four charts');
    for (const [chart, [min, max]] of Object.entries(scales))
      assert.deepEqual([min, max], expected, `${what}: the ${chart} chart's x scale is ${new Date(min * 1000).toISOString()} .. ${new Date(max * 1000).toISOString()}`);
  }
  assert.deepEqual(pageErrors, [], 'page errors');
  log('ok');
} finally {
  if (browser) await browser.close();
  dash.kill('SIGKILL');  // its clean stop (waiting for the unreachable broker) is not under test
}
