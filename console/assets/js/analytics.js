// Delivery analytics from /v1/stats/messages: counts by status, delivery
// rate and p50/p95 time to delivered per hour or day, grouped by provider
// or source.

import { el, clear, field, select, loading, empty, errorBox } from './dom.js';
import { get } from './api.js';
import { route, utcInput, toInput, percent, seconds } from './format.js';
import { messageStatuses } from './vocab.js';
import { stackedBars, lines, steps, stepOf, floorTo } from './chart.js';

const DAY = 24 * 3600e3;

export async function render(r, ctx) {
  const p = r.params;
  const s = {
    tenant: p.get('tenant') || '',
    since: p.get('since') || new Date(floorTo(Date.now() - 7 * DAY, DAY)).toISOString(), until: p.get('until') || '',
    interval: p.get('interval') === 'day' ? 'day' : 'hour', group_by: p.get('group_by') === 'source' ? 'source' : 'provider',
  };
  ctx.view.append(el('h1', {}, 'Delivery analytics'), form(s));
  const box = el('section', { 'aria-label': 'Charts' }, loading('statistics'));
  ctx.view.append(box);
  let body;
  try {
    body = await get('/v1/stats/messages', s, ctx.signal);
  } catch (e) {
    if (e.status === 401 || e.name === 'AbortError') throw e;
    box.replaceChildren(errorBox(e));
    return;
  }
  clear(box);
  const buckets = body.buckets;
  if (!buckets.length) {
    box.append(empty('No messages had their first event in this range.'));
    return;
  }
  const step = stepOf(s.interval);
  const starts = buckets.map((b) => Date.parse(b.start));
  const xs = steps(Math.min(...starts), Math.max(...starts), step);
  const keys = [...new Set(buckets.map((b) => b.key || '(none)'))].sort();
  const at = new Map(buckets.map((b) => [Date.parse(b.start) + '\u0000' + (b.key || '(none)'), b]));
  const cell = (i, k) => at.get(xs[i] + '\u0000' + k);
  const statusTotals = messageStatuses.filter((st) => buckets.some((b) => b.counts[st]));
  const total = buckets.reduce((n, b) => n + Object.values(b.counts).reduce((a, c) => a + c, 0), 0);
  box.append(el('p', { class: 'muted' }, total + ' messages, by the bucket of their first event and their current status.'),
    el('div', { class: 'charts' },
      stackedBars('Messages by status', xs, step, statusTotals,
        (i, si) => keys.reduce((n, k) => n + ((cell(i, k) || { counts: {} }).counts[statusTotals[si]] || 0), 0)),
      lines('Delivery rate by ' + s.group_by, xs, step, keys, (i, ki) => { const b = cell(i, keys[ki]); return b ? b.delivery_rate : null; }, percent, 1),
      lines('p50 time to delivered by ' + s.group_by, xs, step, keys, (i, ki) => { const b = cell(i, keys[ki]); return b ? b.p50_seconds_to_delivered : null; }, seconds),
      lines('p95 time to delivered by ' + s.group_by, xs, step, keys, (i, ki) => { const b = cell(i, keys[ki]); return b ? b.p95_seconds_to_delivered : null; }, seconds)));
}

function form(s) {
  const tenant = el('input', { name: 'tenant', value: s.tenant, autocomplete: 'off' });
  const since = el('input', { type: 'datetime-local', name: 'since', value: toInput(s.since) });
  const until = el('input', { type: 'datetime-local', name: 'until', value: toInput(s.until) });
  const interval = select('interval', [['hour', 'Hour'], ['day', 'Day']], s.interval);
  const group = select('group_by', [['provider', 'Provider'], ['source', 'Source']], s.group_by);
  return el('form', { class: 'card', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = route(['analytics'], { tenant: tenant.value.trim(), since: utcInput(since.value), until: utcInput(until.value), interval: interval.value, group_by: group.value });
  } },
  el('fieldset', { class: 'filters' }, el('legend', {}, 'Range and grouping'),
    field('Tenant', tenant), field('Since (UTC)', since), field('Until (UTC)', until), field('Per', interval), field('Group by', group)),
  el('p', {}, el('button', { type: 'submit' }, 'Show')));
}
