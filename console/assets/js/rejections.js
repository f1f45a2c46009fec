// Rejection audit: rejections over time by reason or source (a chart
// computed from /v1/rejections pages), the filtered list, and a link to
// each one's callback viewer.

import { el, clear, field, select, loading, empty, errorBox, badge, table } from './dom.js';
import { get } from './api.js';
import { route, time, utcInput, toInput } from './format.js';
import { reasons, any } from './vocab.js';
import { stackedBars, steps, floorTo } from './chart.js';

const HOUR = 3600e3, DAY = 24 * HOUR;
const CHART_PAGES = 10, CHART_PAGE = 1000; // at most 10,000 rejections charted

export async function render(r, ctx) {
  const p = r.params;
  const s = {
    tenant: p.get('tenant') || '', source: p.get('source') || '', reason: p.get('reason') || '',
    since: p.get('since') || new Date(floorTo(Date.now() - DAY, HOUR)).toISOString(), until: p.get('until') || '',
    by: p.get('by') === 'source' ? 'source' : 'reason',
  };
  ctx.view.append(el('h1', {}, 'Rejections'), form(s));
  const chartBox = el('section', { 'aria-label': 'Rejections over time' }, loading('the chart'));
  const listBox = el('section', { class: 'results', 'aria-label': 'Rejections' });
  ctx.view.append(chartBox, el('h2', {}, 'Rejected callbacks'), listBox);
  const params = { tenant: s.tenant, source: s.source, reason: s.reason, since: s.since, until: s.until };
  await Promise.all([
    chart(s, params, chartBox, ctx.signal).catch((e) => { if (e.name !== 'AbortError') chartBox.replaceChildren(errorBox(e)); }),
    list(params, listBox, ctx.signal),
  ]);
}

function form(s) {
  const tenant = el('input', { name: 'tenant', value: s.tenant, autocomplete: 'off' });
  const source = el('input', { name: 'source', value: s.source, autocomplete: 'off' });
  const reason = select('reason', any(reasons), s.reason);
  const since = el('input', { type: 'datetime-local', name: 'since', value: toInput(s.since) });
  const until = el('input', { type: 'datetime-local', name: 'until', value: toInput(s.until) });
  const by = select('by', [['reason', 'Reason'], ['source', 'Source']], s.by);
  return el('form', { class: 'card', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = route(['rejections'], {
      tenant: tenant.value.trim(), source: source.value.trim(), reason: reason.value,
      since: utcInput(since.value), until: utcInput(until.value), by: by.value,
    });
  } },
  el('fieldset', { class: 'filters' }, el('legend', {}, 'Filters'),
    field('Tenant', tenant), field('Source', source), field('Reason', reason),
    field('Since (UTC)', since), field('Until (UTC)', until), field('Chart by', by)),
  el('p', {}, el('button', { type: 'submit' }, 'Show')));
}

async function chart(s, params, box, signal) {
  const rows = [];
  let cursor = '', capped = false;
  for (let i = 0; i < CHART_PAGES; i++) {
    const body = await get('/v1/rejections', { ...params, limit: CHART_PAGE, cursor }, signal);
    rows.push(...body.items);
    cursor = body.next_cursor;
    if (!cursor) break;
    if (i === CHART_PAGES - 1) capped = true;
  }
  clear(box);
  if (!rows.length) {
    box.append(empty('No rejections in this range.'));
    return;
  }
  const times = rows.map((x) => Date.parse(x.received_at));
  const from = s.since ? Date.parse(s.since) : Math.min(...times);
  const to = s.until ? Date.parse(s.until) - 1 : Math.max(Date.now(), ...times);
  const step = to - from > 3 * DAY ? DAY : HOUR;
  const xs = steps(floorTo(from, step), floorTo(to, step), step);
  const key = (x) => (s.by === 'source' ? x.source || '(none)' : x.reason);
  const series = [...new Set(rows.map(key))].sort();
  const counts = xs.map(() => new Array(series.length).fill(0));
  for (const x of rows) {
    const b = Math.floor((floorTo(Date.parse(x.received_at), step) - xs[0]) / step);
    if (b >= 0 && b < xs.length) counts[b][series.indexOf(key(x))]++;
  }
  box.append(stackedBars('Rejections per ' + (step === DAY ? 'day' : 'hour') + ' by ' + s.by, xs, step, series, (b, i) => counts[b][i]),
    el('p', { class: 'muted' }, rows.length + ' rejections' + (capped ? ' (the newest ' + rows.length + ' only: narrow the range to chart all)' : '') + '.'));
}

async function list(params, box, signal) {
  let cursor = '';
  const holder = el('div', {});
  const status = el('div', {}, loading('rejections'));
  const more = el('button', { type: 'button', class: 'more' }, 'Load more');
  box.append(holder, status);
  let shown = 0;
  const page = async () => {
    more.disabled = true;
    const body = await get('/v1/rejections', { ...params, limit: 50, cursor }, signal);
    cursor = body.next_cursor;
    shown += body.items.length;
    if (body.items.length) holder.append(rejectionTable(body.items));
    clear(status);
    if (!shown) status.append(empty('No rejections match these filters.'));
    if (cursor) { more.disabled = false; status.append(more); }
  };
  more.addEventListener('click', () => page().catch((e) => clear(status).append(errorBox(e))));
  await page().catch((e) => { if (e.name !== 'AbortError') clear(status).append(errorBox(e)); });
}

/** rejectionTable lists rejections (or callbacks) with viewer links. */
export function rejectionTable(items) {
  return table(['Received', 'Verdict', 'Reason', 'Source', 'Tenant', 'Provider', 'From address', 'Request', 'Callback'],
    items.map((x) => [time(x.received_at), badge(x.verdict || 'rejected', x.verdict || 'rejected'), x.reason || '—',
      x.source, x.tenant || '(none)', x.provider || '—', x.remote_addr,
      el('code', { class: 'wrap' }, x.method + ' ' + x.url),
      el('a', { href: route(['callbacks', x.event_id]) }, 'view')]));
}
