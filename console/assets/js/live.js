// Live: callbacks arriving now, accepted and rejected, polled from
// /v1/callbacks every 2 s with since= the newest receive time seen.

import { el, clear, loading, empty, errorBox, badge } from './dom.js';
import { get } from './api.js';
import { route, time } from './format.js';

const EVERY = 2000, KEEP = 200, PAGE = 100, MAX_PAGES = 5;

export async function render(r, ctx) {
  const tbody = el('tbody', {});
  const tbl = el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, ['Received', 'Verdict', 'Reason', 'Source', 'Tenant', 'Provider', 'Request', 'Callback']
      .map((h) => el('th', { scope: 'col' }, h)))), tbody));
  const state = el('p', { class: 'muted' }, 'Starting…');
  // Announced to screen readers only when something arrives, not every 2 s.
  const news = el('p', { class: 'sr-only', role: 'status' });
  const problem = el('div', {});
  const placeholder = el('div', {}, loading('recent callbacks'));
  let paused = false, timer = 0, newest = '';
  const seen = new Set();
  const toggle = el('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Pause');
  toggle.addEventListener('click', () => {
    paused = !paused;
    toggle.textContent = paused ? 'Resume' : 'Pause';
    toggle.setAttribute('aria-pressed', String(paused));
    if (!paused) tick();
  });
  ctx.view.append(el('h1', {}, 'Live'),
    el('div', { class: 'live-controls' }, toggle, state, news),
    el('p', { class: 'muted' }, 'Every callback hookledger stores, accepted and rejected, newest first; checked every 2 s.'),
    problem, placeholder, tbl);
  ctx.onStop(() => clearTimeout(timer));

  const head = ['Received', 'Verdict', 'Reason', 'Source', 'Tenant', 'Provider', 'Request', 'Callback'];
  const row = (x, fresh) => el('tr', { class: fresh ? 'new' : null, 'data-event-id': x.event_id },
    [time(x.received_at), badge(x.verdict, x.verdict), x.reason || '—', x.source, x.tenant || '(none)', x.provider || '—',
      el('code', { class: 'wrap' }, x.method + ' ' + x.url), el('a', { href: route(['callbacks', x.event_id]) }, 'view')]
      .map((c, i) => el('td', { 'data-label': head[i] }, c)));

  const tick = async () => {
    clearTimeout(timer);
    if (paused || ctx.signal.aborted) return;
    try {
      const fresh = [];
      let cursor = '';
      for (let i = 0; i < MAX_PAGES; i++) {
        const body = await get('/v1/callbacks', newest ? { since: newest, limit: PAGE, cursor } : { limit: 20 }, ctx.signal);
        fresh.push(...body.items.filter((x) => !seen.has(x.event_id)));
        cursor = body.next_cursor;
        if (!newest || !cursor) break;
      }
      const first = !newest && !seen.size;
      for (const x of fresh.reverse()) { // oldest first, each on top
        seen.add(x.event_id);
        tbody.prepend(row(x, !first));
        if (!newest || Date.parse(x.received_at) > Date.parse(newest)) newest = x.received_at;
      }
      while (tbody.children.length > KEEP) tbody.lastChild.remove();
      placeholder.replaceChildren(tbody.children.length ? '' : empty('No callbacks yet: waiting for the next one.'));
      clear(problem);
      state.textContent = 'Updated ' + time(new Date().toISOString()) + (fresh.length && !first ? ' · ' + fresh.length + ' new' : '');
      if (fresh.length && !first) news.textContent = fresh.length + (fresh.length === 1 ? ' new callback' : ' new callbacks');
      if (!newest) newest = '1970-01-01T00:00:00Z'; // nothing stored yet: everything that comes is new
    } catch (e) {
      if (e.name === 'AbortError' || ctx.signal.aborted) return;
      if (e.status === 401) return;
      problem.replaceChildren(errorBox(e));
      state.textContent = 'Retrying…';
    }
    timer = setTimeout(tick, EVERY);
  };
  await tick();
}
