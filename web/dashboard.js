// The alliance dashboard page: renders the view pushed by the server
// (/api/events, Server-Sent Events; /api/view once at load). Every number
// comes formatted from the server (money with the currency's ISO 4217
// digits), so the page only lays it out. Table rows carry data-key and
// cells a class per field, for people and for the browser test alike.
'use strict';

const COLORS = ['#2f6fde', '#e8710a', '#1e8e3e', '#d93025', '#9334e6', '#12b5cb', '#f9ab00', '#5f6368'];
const CHARTS = [
  { id: 'clicks', label: 'Clicks', digits: 0 },
  { id: 'unique_users', label: 'Unique users', digits: 0 },
  { id: 'conversions', label: 'Conversions', digits: 2 },
  { id: 'conversion_rate', label: 'Conversion rate', digits: 4, percent: true },
];
// The optional fields of the running "all" records (SPEC §5.2), in the order shown.
const ALL_FIELDS = [
  ['buyers', 'Buyers'], ['repeat_buyers', 'Repeat buyers'], ['repeat_rate', 'Repeat rate'],
  ['cost_minor', 'Cost'], ['net_benefit_minor', 'Net benefit'], ['benefit_cost_ratio', 'Benefit-cost ratio'],
  ['ltv_minor', 'LTV'], ['clv_minor', 'CLV'], ['churn_rate', 'Churn rate'], ['loyalty', 'Loyalty'],
];

let charts = {};        // id -> uPlot
let chartSources = null;  // the sources the charts were built for (null: none built)
let chartMinSpan = 60;    // seconds: the x scale's narrowest range (a window, at least a minute)
let updates = 0;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/// Fills <table id> with a header of `columns` and one row per item;
/// column: {key, label, get(row) -> text | {text, cls}, text: left-aligned}.
function fillTable(id, columns, rows, rowKey, emptyText) {
  const head = '<thead><tr>' + columns.map((c) => `<th class="${c.text ? 'text' : ''}">${esc(c.label)}</th>`).join('') + '</tr></thead>';
  let body = '';
  for (const r of rows) {
    body += `<tr data-key="${esc(rowKey(r))}">`;
    for (const c of columns) {
      let v = c.get(r);
      if (v === null || v === undefined) v = '—';
      const text = typeof v === 'object' ? v.text : v;
      const neg = typeof text === 'string' && text.startsWith('-');
      body += `<td class="c-${c.key}${c.text ? ' text' : ''}${neg ? ' neg' : ''}">${esc(text)}</td>`;
    }
    body += '</tr>';
  }
  if (!rows.length) body = `<tr><td class="empty" colspan="${columns.length}">${esc(emptyText || 'no records yet')}</td></tr>`;
  $(id).innerHTML = head + '<tbody>' + body + '</tbody>';
}

const money = (m) => (m == null ? null : m.text);
const revenueText = (list) => list.map((r) => `${r.text} ${r.currency}`).join('; ');

function extraColumns(rows) {
  return ALL_FIELDS.filter(([k]) => rows.some((r) => k in r)).map(([k, label]) => ({
    key: k, label, get: (r) => (r[k] == null ? null : r[k].text),
  }));
}

function allRowsTable(id, rows, what) {
  fillTable(id, [
    { key: 'key', label: what, text: true, get: (r) => r.key },
    { key: 'currency', label: 'Currency', text: true, get: (r) => r.currency },
    { key: 'orders', label: 'Orders', get: (r) => r.orders },
    { key: 'conversions', label: 'Conversions', get: (r) => r.conversions_text },
    { key: 'revenue', label: 'Revenue', get: (r) => money(r.revenue) },
    { key: 'refunds', label: 'Refunds', get: (r) => money(r.refunds) },
    ...extraColumns(rows),
  ], rows, (r) => `${r.key}|${r.currency}`);
}

function chartWidth() {
  const fig = document.querySelector('.charts figure');
  return Math.max(280, (fig ? fig.clientWidth : 560) - 4);
}

/// The x scale of a chart from its window starts `xs` (seconds, ascending):
/// first to last, widened around the middle to `minSpan` when narrower.
/// uPlot's own range is not used: for a lone timestamp it spans 1000 days.
function xRange(xs, minSpan) {
  if (!xs || !xs.length) return [null, null];
  const min = xs[0], max = xs[xs.length - 1];
  if (max - min >= minSpan) return [min, max];
  const mid = (min + max) / 2;
  return [mid - minSpan / 2, mid + minSpan / 2];
}

function renderCharts(series) {
  const sources = series.sources.map((s) => s.key);
  const xs = series.starts.map((t) => t / 1000);
  chartMinSpan = Math.max(60, (series.window_ms || 0) / 1000);
  if (sources.join('\u0000') !== chartSources) {
    for (const c of Object.values(charts)) c.destroy();
    charts = {};
    chartSources = sources.join('\u0000');
    for (const spec of CHARTS) {
      const fmt = (u, v) => (v == null ? '—' : spec.percent ? (v * 100).toFixed(2) + ' %' : v.toFixed(spec.digits));
      charts[spec.id] = new uPlot({
        width: chartWidth(), height: 190,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true, range: (u) => xRange(u.data[0], chartMinSpan) }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{}, { size: 56, values: (u, vals) => vals.map((v) => (spec.percent ? (v * 100).toFixed(1) + ' %' : String(+v.toFixed(2)))) }],
        series: [{}, ...sources.map((s, i) => ({ label: s, stroke: COLORS[i % COLORS.length], width: 1.6, value: fmt, points: { size: 4 } }))],
      }, [xs, ...series.sources.map((s) => s[spec.id])], $('chart-' + spec.id));
    }
  } else {
    for (const spec of CHARTS) charts[spec.id].setData([xs, ...series.sources.map((s) => s[spec.id])]);
  }
}

function render(v) {
  updates += 1;
  document.body.dataset.version = v.version;
  $('name').textContent = v.name || '';
  $('watermark').textContent = v.watermark_text || 'no records yet';
  $('watermark').dataset.ms = v.watermark == null ? '' : v.watermark;
  for (const e of document.querySelectorAll('.window-size')) e.textContent = v.series.window_size;
  $('points').textContent = `${v.series.starts.length} windows`;
  const err = $('error');
  err.hidden = !v.source_error;
  err.textContent = v.source_error ? 'Cannot read the topics: ' + v.source_error : '';

  renderCharts(v.series);

  fillTable('sources', [
    { key: 'key', label: 'Source', text: true, get: (r) => r.key },
    { key: 'window', label: 'Window start (UTC)', text: true, get: (r) => r.window_start_text + (r.final ? '' : ' (open)') },
    { key: 'clicks', label: 'Clicks', get: (r) => r.clicks },
    { key: 'unique_users', label: 'Unique users', get: (r) => r.unique_users },
    { key: 'orders', label: 'Orders', get: (r) => r.orders },
    { key: 'conversions', label: 'Conversions', get: (r) => r.conversions_text },
    { key: 'conversion_rate', label: 'Conversion rate', get: (r) => r.conversion_rate_text },
    { key: 'revenue', label: 'Revenue', get: (r) => revenueText(r.revenue) },
  ], v.sources, (r) => r.key);

  $('source-totals-section').hidden = !v.source_totals.length;
  if (v.source_totals.length) allRowsTable('source-totals', v.source_totals, 'Source');
  allRowsTable('campaigns', v.campaigns, 'Campaign');

  fillTable('partners', [
    { key: 'partner_id', label: 'Partner', text: true, get: (r) => r.partner_id },
    { key: 'currency', label: 'Currency', text: true, get: (r) => r.currency },
    { key: 'accrued', label: 'Accrued', get: (r) => money(r.accrued) },
    { key: 'reversed', label: 'Reversed', get: (r) => money(r.reversed) },
    { key: 'net', label: 'Net', get: (r) => money(r.net) },
    { key: 'commission', label: 'Commission', get: (r) => money(r.commission) },
    { key: 'periods', label: 'Periods', get: (r) => r.periods + (r.open_periods ? ` (${r.open_periods} open)` : '') },
  ], v.partners, (r) => `${r.partner_id}|${r.currency}`);

  const flagged = v.flagged || [];
  $('flagged-section').hidden = !flagged.length;
  if (flagged.length) {
    fillTable('flagged', [
      { key: 'partner_id', label: 'Partner', text: true, get: (r) => r.partner_id },
      { key: 'period', label: 'Period', text: true, get: (r) => r.period + (r.final ? '' : ' (open)') },
      { key: 'flags', label: 'Flags', text: true, get: (r) => r.flags },
      { key: 'credited_orders', label: 'Credited orders', get: (r) => r.credited_orders },
      { key: 'fast_share', label: 'Fast share', get: (r) => r.fast_share },
      { key: 'clicks_per_user', label: 'Clicks / user', get: (r) => `${r.clicks_per_user} (${r.clicks} / ${r.click_users})` },
      { key: 'reversal_rate', label: 'Reversal rate', get: (r) => r.reversal_rate },
      { key: 'held', label: 'Money', text: true, get: (r) => (r.released ? 'released' : r.held ? 'held' : 'not held') },
      { key: 'held_money', label: 'Held now', text: true, get: (r) => r.held_money },
    ], flagged, (r) => `${r.partner_id}|${r.period}`);
  }

  $('balances-section').hidden = !v.balances.length;
  if (v.balances.length) {
    fillTable('balances', [
      { key: 'partner_id', label: 'Partner', text: true, get: (r) => r.partner_id },
      { key: 'currency', label: 'Currency', text: true, get: (r) => r.currency },
      { key: 'accrued', label: 'Accrued', get: (r) => money(r.accrued) },
      { key: 'reversed', label: 'Reversed', get: (r) => money(r.reversed) },
      { key: 'pending', label: 'Pending', get: (r) => money(r.pending) },
      { key: 'held', label: 'of it held', get: (r) => money(r.held) },
      { key: 'payable', label: 'Payable', get: (r) => money(r.payable) },
      { key: 'paid', label: 'Paid', get: (r) => money(r.paid) },
      { key: 'last_payout_id', label: 'Last payout', text: true, get: (r) => r.last_payout_id },
    ], v.balances, (r) => `${r.partner_id}|${r.currency}`);
  }

  $('dead-letters-total').textContent = v.dead_letters.total;
  fillTable('dead-letters', [
    { key: 'reason', label: 'Reason', text: true, get: (r) => r.reason },
    { key: 'count', label: 'Dead letters', get: (r) => r.count },
  ], v.dead_letters.by_reason, (r) => r.reason, 'none');

  fillTable('positions', [
    { key: 'topic', label: 'Topic', text: true, get: (r) => r.topic },
    { key: 'partition', label: 'Partition', get: (r) => r.partition },
    { key: 'next_offset', label: 'Read up to offset', get: (r) => r.next_offset },
  ], v.positions, (r) => `${r.topic}/${r.partition}`);

  const live = $('live');
  live.className = 'live pulse';
  live.textContent = `live · ${updates} updates`;
  setTimeout(() => { if (live.className === 'live pulse') live.className = 'live'; }, 300);
}

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('view', (e) => render(JSON.parse(e.data)));
  es.onerror = () => { const l = $('live'); l.className = 'live off'; l.textContent = 'reconnecting…'; };
}

window.addEventListener('resize', () => { for (const c of Object.values(charts)) c.setSize({ width: chartWidth(), height: 190 }); });
// For scripts and the browser test: the charts' data as drawn.
window.dashboardCharts = () => Object.fromEntries(Object.entries(charts).map(([k, c]) => [k, { series: c.series.map((s) => s.label), data: c.data }]));
connect();
