// The dashboard in a real browser: `alliance demo` (embedded broker, traffic,
// processor, dashboard), Debian's headless chromium driven by playwright-core
// (web/node_modules), and the topics read independently with kcat. Checks
// that the numbers on the page are the latest records of the topics up to
// the offsets the page says it has read, that the page updates live (no
// reload), that the charts hold the records' counts, and saves a screenshot.
//
// Environment: ALLIANCE_BIN, ALLIANCE_SRC (set by ctest); DASHBOARD_SCREENSHOT
// (where the PNG goes; default: the current directory's dashboard.png);
// DASHBOARD_WARMUP_S (seconds of traffic before the screenshot, default 0;
// 200 gives a chart with a few minutes of windows).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const SRC = process.env.ALLIANCE_SRC;
const BIN = process.env.ALLIANCE_BIN;
const SHOT = process.env.DASHBOARD_SCREENSHOT || path.resolve('dashboard.png');
const WARMUP_S = Number(process.env.DASHBOARD_WARMUP_S || 0);
const require = createRequire(path.join(SRC, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const deadline = Date.now() + (120 + WARMUP_S) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('[dashboard_test]', ...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// --- independent expectations: money and percentages as a reader would compute them
const DIGITS = { CNY: 2, USD: 2, EUR: 2, GBP: 2, JPY: 0, KRW: 0, KWD: 3, BHD: 3 };
function money(minor, currency) {
  assert.ok(currency in DIGITS, `test knows no ISO 4217 digits for ${currency}`);
  const d = DIGITS[currency];
  let v = BigInt(minor);
  const neg = v < 0n;
  if (neg) v = -v;
  const s = v.toString().padStart(d + 1, '0');
  const whole = s.slice(0, s.length - d).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + whole + (d ? '.' + s.slice(s.length - d) : '');
}
function percent(dec) {  // "0.083333" -> "8.3333 %", the point moved, nothing rounded
  const neg = dec.startsWith('-');
  const [w, f] = (neg ? dec.slice(1) : dec).split('.');
  const digits = (w + f.slice(0, 2)).replace(/^0+(?=\d)/, '');
  return (neg ? '-' : '') + digits + (f.length > 2 ? '.' + f.slice(2) : '') + ' %';
}
const trimDecimal = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
function utc(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

/// Every record of `topic` below the page's offsets, read with kcat.
function readTopic(boot, topic, partitions) {
  const out = [];
  for (const [partition, limit] of Object.entries(partitions)) {
    if (limit === 0) continue;
    const text = execFileSync('kcat', ['-C', '-b', boot, '-t', topic, '-p', String(partition), '-o', 'beginning',
      '-c', String(limit), '-e', '-q', '-f', '%o\t%k\t%s\n'], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 30000 });
    for (const line of text.split('\n')) {
      if (!line) continue;
      const [o, k, ...rest] = line.split('\t');
      if (Number(o) < limit) out.push({ offset: Number(o), key: k, value: JSON.parse(rest.join('\t')), raw: rest.join('\t') });
    }
  }
  return out;
}
const latestPerKey = (records) => {
  const m = new Map();
  for (const r of records) m.set(r.key, r.value);  // per partition in offset order; a key stays in its partition
  return m;
};

/// What the page shows, read in one go (the page cannot change in between).
function snapshot(page) {
  return page.evaluate(() => {
    const table = (id) => {
      const rows = {};
      for (const tr of document.querySelectorAll(`#${id} tbody tr[data-key]`)) {
        const row = {};
        for (const td of tr.querySelectorAll('td')) row[[...td.classList].find((c) => c.startsWith('c-')).slice(2)] = td.textContent;
        rows[tr.dataset.key] = row;
      }
      return rows;
    };
    return {
      version: Number(document.body.dataset.version),
      live: document.getElementById('live').textContent,
      watermark: document.getElementById('watermark').textContent,
      sources: table('sources'),
      campaigns: table('campaigns'),
      partners: table('partners'),
      deadLetters: table('dead-letters'),
      deadLettersTotal: document.getElementById('dead-letters-total').textContent,
      flagged: table('flagged'),
      positions: table('positions'),
      charts: window.dashboardCharts(),
    };
  });
}

/// Compares the page with the topics read up to the page's own offsets.
function verify(snap, boot, topology) {
  const parts = {};  // topic -> {partition: next offset}
  for (const row of Object.values(snap.positions)) (parts[row.topic] ||= {})[row.partition] = Number(row.next_offset);
  const read = (t) => readTopic(boot, t, parts[t] || {});
  const metrics = latestPerKey(read(topology.metrics));
  const statements = latestPerKey(read(topology.statements));
  const dlq = latestPerKey(read(topology.dlq));
  let checked = 0;

  // Watermark: the largest of the metric records read.
  const wm = Math.max(...[...metrics.values()].map((r) => r.watermark));
  assert.equal(snap.watermark, utc(wm), 'watermark');

  // Sources: each one's newest 1-minute window; counts from the CNY record, revenue per currency.
  assert.ok(Object.keys(snap.sources).length >= 3, 'at least 3 sources shown');
  for (const [src, row] of Object.entries(snap.sources)) {
    const recs = [...metrics.values()].filter((r) => r.dim === 'source' && r.key === src && r.window_size === '1m');
    const start = Math.max(...recs.map((r) => r.window_start));
    const win = recs.filter((r) => r.window_start === start);
    const c = win.find((r) => r.currency === 'CNY');
    assert.ok(row.window.startsWith(utc(start)), `${src}: window ${row.window} vs ${utc(start)}`);
    assert.equal(row.clicks, String(c.clicks), `${src} clicks`);
    assert.equal(row.unique_users, String(c.unique_users), `${src} unique users`);
    assert.equal(row.orders, String(c.orders), `${src} orders`);
    assert.equal(row.conversions, trimDecimal(c.conversions), `${src} conversions`);
    assert.equal(row.conversion_rate, percent(c.conversion_rate), `${src} conversion rate`);
    const revenue = win.sort((a, b) => (a.currency < b.currency ? -1 : 1)).map((r) => `${money(r.revenue_minor, r.currency)} ${r.currency}`).join('; ');
    assert.equal(row.revenue, revenue, `${src} revenue`);
    // The chart's last point of this source is this window's count.
    const ch = snap.charts.clicks;
    const si = ch.series.indexOf(src);
    assert.ok(si > 0, `${src} has a series on the chart`);
    assert.equal(ch.data[0][ch.data[0].length - 1] * 1000 >= start, true);
    const xi = ch.data[0].indexOf(start / 1000);
    assert.ok(xi >= 0, `${src}: window ${start} on the chart`);
    assert.equal(ch.data[si][xi], c.clicks, `${src}: chart clicks`);
    assert.equal(snap.charts.unique_users.data[si][xi], c.unique_users, `${src}: chart unique users`);
    checked += 8;
  }

  // Campaigns: the running "all" record per campaign and currency.
  assert.ok(Object.keys(snap.campaigns).length >= 1, 'a campaign shown');
  for (const [key, row] of Object.entries(snap.campaigns)) {
    const [id, cur] = key.split('|');
    const r = metrics.get(`campaign|${id}|0|all|${cur}`);
    assert.ok(r, `campaign record ${key}`);
    assert.equal(row.revenue, money(r.revenue_minor, cur), `${key} revenue`);
    assert.equal(row.refunds, money(r.refunds_minor, cur), `${key} refunds`);
    assert.equal(row.orders, String(r.orders), `${key} orders`);
    assert.equal(row.cost_minor, r.cost_minor == null ? '—' : money(r.cost_minor, cur), `${key} cost`);
    assert.equal(row.net_benefit_minor, r.net_benefit_minor == null ? '—' : money(r.net_benefit_minor, cur), `${key} net benefit`);
    assert.equal(row.benefit_cost_ratio, r.benefit_cost_ratio == null ? '—' : r.benefit_cost_ratio, `${key} benefit-cost ratio`);
    assert.equal(row.repeat_rate, percent(r.repeat_rate), `${key} repeat rate`);
    checked += 7;
  }
  const spring = metrics.get('campaign|cmp-spring|0|all|CNY');
  assert.ok(spring && spring.cost_minor === 10000000, 'cmp-spring carries its cost');
  assert.equal(snap.campaigns['cmp-spring|CNY'].cost_minor, '100,000.00');

  // Partners: sums of the latest statement of each period.
  const sums = new Map();
  for (const s of statements.values()) {
    const k = `${s.partner_id}|${s.currency}`;
    const t = sums.get(k) || { accrued: 0n, reversed: 0n, net: 0n, commission: null, currency: s.currency };
    t.accrued += BigInt(s.accrued_minor); t.reversed += BigInt(s.reversed_minor); t.net += BigInt(s.net_minor);
    if (s.commission_minor != null) t.commission = (t.commission ?? 0n) + BigInt(s.commission_minor);
    sums.set(k, t);
  }
  assert.deepEqual(Object.keys(snap.partners).sort(), [...sums.keys()].sort(), 'partner rows');
  assert.ok(sums.size >= 2, 'at least two partners have statements');
  for (const [k, t] of sums) {
    const row = snap.partners[k];
    assert.equal(row.accrued, money(t.accrued, t.currency), `${k} accrued`);
    assert.equal(row.reversed, money(t.reversed, t.currency), `${k} reversed`);
    assert.equal(row.net, money(t.net, t.currency), `${k} net`);
    assert.equal(row.commission, t.commission == null ? '—' : money(t.commission, t.currency), `${k} commission`);
    checked += 4;
  }

  // Partner risk (issue 23): the flagged partner-periods of the latest records,
  // with their signals; the demo's fraud traffic has a click farm.
  const risk = latestPerKey(read(topology.risk));
  const flagged = [...risk.values()].filter((r) => r.flags.length);
  assert.deepEqual(Object.keys(snap.flagged).sort(), flagged.map((r) => `${r.partner_id}|${r.period}`).sort(), 'flagged rows');
  assert.ok(flagged.some((r) => r.partner_id === 'p-clickfarm' && r.flags.includes('click_spam')), 'the click farm is flagged');
  for (const r of flagged) {
    const row = snap.flagged[`${r.partner_id}|${r.period}`];
    assert.equal(row.flags, r.flags.join(', '), `${r.partner_id} flags`);
    assert.equal(row.credited_orders, String(r.credited_orders), `${r.partner_id} credited orders`);
    assert.equal(row.fast_share, r.fast_share, `${r.partner_id} fast share`);
    assert.equal(row.clicks_per_user, `${r.clicks_per_user} (${r.clicks} / ${r.click_users})`, `${r.partner_id} clicks per user`);
    assert.equal(row.reversal_rate, r.reversal_rate, `${r.partner_id} reversal rate`);
    assert.equal(row.held, r.released ? 'released' : r.held ? 'held' : 'not held', `${r.partner_id} held`);
    checked += 6;
  }

  // Dead letters: distinct keys per reason.
  const reasons = {};
  for (const d of dlq.values()) reasons[d.reason] = (reasons[d.reason] || 0) + 1;
  const shown = Object.fromEntries(Object.entries(snap.deadLetters).map(([k, r]) => [k, Number(r.count)]));
  assert.deepEqual(shown, reasons, 'dead letters per reason');
  assert.equal(Number(snap.deadLettersTotal), dlq.size, 'dead letters total');
  checked += Object.keys(reasons).length + 1;
  return { checked, metrics, wm };
}

async function main() {
  const [dashPort, metricsPort] = [await freePort(), await freePort()];
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'alliance-dash-test-'));
  const topologyFile = path.join(SRC, 'topologies', 'spring-alliance.yaml');
  const topology = { metrics: 'alliance.campaign-metrics', statements: 'alliance.settlement-statements', dlq: 'alliance.dlq',
    risk: 'alliance.partner-risk' };
  const demo = spawn(BIN, ['demo', '--topology', topologyFile, '--rate', '300', '--dashboard', `127.0.0.1:${dashPort}`,
    '--metrics', `127.0.0.1:${metricsPort}`, '--state', path.join(state, 'state'), '--duration', `${150 + WARMUP_S}s`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  demo.stdout.on('data', (d) => { out += d; });
  demo.stderr.on('data', (d) => { err += d; });
  let browser;
  try {
    let url, boot;
    while (!(url && boot)) {
      assert.ok(Date.now() < deadline && demo.exitCode === null, `demo did not start:\n${out.slice(-2000)}\n${err.slice(-2000)}`);
      url = (out.match(/dashboard: (http:\/\/\S+)/) || [])[1];
      boot = (out.match(/broker (\S+)/) || [])[1];
      await sleep(200);
    }
    assert.equal(url, `http://127.0.0.1:${dashPort}/`, 'the demo prints the dashboard address');
    log('demo up:', url, 'broker', boot);

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, timezoneId: 'UTC' });
    const page = await context.newPage();
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    const ready = () => document.querySelectorAll('#sources tbody tr[data-key]').length >= 3 &&
      document.querySelectorAll('#partners tbody tr[data-key]').length >= 2 &&
      document.querySelectorAll('#campaigns tbody tr[data-key]').length >= 1 &&
      document.querySelector('#flagged tbody tr[data-key^="p-clickfarm|"]') !== null &&
      document.getElementById('live').textContent.startsWith('live');
    await page.waitForFunction(ready, null, { timeout: 60000, polling: 250 });
    if (WARMUP_S > 0) { log(`warming up ${WARMUP_S}s`); await sleep(WARMUP_S * 1000); }

    const first = await snapshot(page);
    const v1 = verify(first, boot, topology);
    log(`first look: version ${first.version}, ${first.watermark}, ${v1.checked} values equal the topics`);

    // Live: the same page (no reload) shows newer records.
    let second;
    for (;;) {
      await sleep(1000);
      second = await snapshot(page);
      const metricsRead = (s) => Number(s.positions[`${topology.metrics}/0`]?.next_offset || 0);
      if (second.watermark !== first.watermark && metricsRead(second) > metricsRead(first) &&
          JSON.stringify(second.sources) !== JSON.stringify(first.sources)) break;
      assert.ok(Date.now() < deadline - 20000, 'the page did not change within the time limit');
    }
    const v2 = verify(second, boot, topology);
    assert.ok(second.version > first.version, 'version grew');
    assert.ok(v2.wm > v1.wm, 'watermark moved on');
    const n = (s) => Number(s.live.match(/(\d+) updates/)[1]);
    assert.ok(n(second) > n(first), `more live updates (${first.live} -> ${second.live})`);
    log(`second look: version ${second.version}, ${second.watermark}, ${v2.checked} values equal the topics; ${second.live}`);

    // The JSON API serves the records exactly as published.
    const api = await (await fetch(`${url}api/metrics?dim=campaign&window_size=all`)).json();
    assert.ok(api.length >= 1 && api.every((r) => r.dim === 'campaign' && r.window_size === 'all'), '/api/metrics filters');
    const status = await (await fetch(`${url}api/status`)).json();
    assert.equal(status.records.metrics.unreadable, 0, 'every metric record readable');
    const view = await (await fetch(`${url}api/view`)).json();
    assert.ok(view.version >= second.version && view.partners.length >= 2, '/api/view');

    assert.deepEqual(external, [], 'nothing fetched from outside the dashboard');
    assert.deepEqual(pageErrors, [], 'no script errors');

    await page.waitForFunction(() => document.getElementById('live').className === 'live', null, { timeout: 10000 });
    await page.screenshot({ path: SHOT, fullPage: true });
    log('screenshot:', SHOT);
    console.log('1 passed, 0 failed');
  } finally {
    if (browser) await browser.close();
    demo.kill('SIGTERM');
    await new Promise((r) => (demo.exitCode !== null ? r() : demo.on('exit', r)));
    fs.rmSync(state, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error('[dashboard_test] FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
