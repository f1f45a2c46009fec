// Find: one box for a message id, call id, event id or phone number, and
// filtered lists of messages and calls with keyset paging.

import { el, add, clear, field, select, loading, empty, errorBox, badge, table } from './dom.js';
import { get, getOrNull, path, APIError } from './api.js';
import { route, time, utcInput, toInput } from './format.js';
import { looksLikePhone, phoneSpellings } from './phone.js';
import { providers, messageStatuses, callStatuses, any } from './vocab.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE = 50;

export async function render(r, ctx) {
  const p = r.params;
  const kind = r.segments[0] === 'calls' || p.get('kind') === 'calls' ? 'calls' : 'messages';
  const state = {
    q: p.get('q') || '', kind, tenant: p.get('tenant') || '', provider: p.get('provider') || '',
    source: p.get('source') || '', status: p.get('status') || '', since: p.get('since') || '', until: p.get('until') || '',
  };
  ctx.view.append(el('h1', {}, 'Find'), form(state));
  const out = el('section', { class: 'results', 'aria-live': 'polite', 'aria-label': 'Results' });
  ctx.view.append(out);
  if (state.q) await search(state, out, ctx.signal);
  else await browse(state, out, ctx.signal);
}

function form(s) {
  const q = el('input', { type: 'search', name: 'q', value: s.q, placeholder: 'SM123…, CA42…, an event id or +1 555 000 1111', spellcheck: 'false', autocomplete: 'off' });
  const kind = select('kind', [['messages', 'Messages'], ['calls', 'Calls']], s.kind);
  const status = select('status', any(s.kind === 'calls' ? callStatuses : messageStatuses), s.status);
  kind.addEventListener('change', () => {
    const keep = status.value;
    const fresh = select('status', any(kind.value === 'calls' ? callStatuses : messageStatuses), keep);
    fresh.id = status.id;
    status.replaceChildren(...fresh.children);
    status.value = [...status.options].some((o) => o.value === keep) ? keep : '';
  });
  const tenant = el('input', { name: 'tenant', value: s.tenant, autocomplete: 'off' });
  const provider = select('provider', any(providers), s.provider);
  const source = el('input', { name: 'source', value: s.source, autocomplete: 'off' });
  const since = el('input', { type: 'datetime-local', name: 'since', value: toInput(s.since) });
  const until = el('input', { type: 'datetime-local', name: 'until', value: toInput(s.until) });
  return el('form', { class: 'card search', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = route(['find'], {
      q: q.value.trim(), kind: kind.value, tenant: tenant.value.trim(), provider: provider.value,
      source: source.value.trim(), status: status.value, since: utcInput(since.value), until: utcInput(until.value),
    });
  } },
  el('div', { class: 'searchline' },
    field('Message id, call id, event id or phone number', q),
    el('button', { type: 'submit' }, 'Search')),
  el('fieldset', { class: 'filters' }, el('legend', {}, 'Filters (lists; an id lookup uses tenant and provider)'),
    field('List', kind), field('Tenant', tenant), field('Provider', provider), field('Source', source),
    field('Status', status), field('Since (UTC)', since), field('Until (UTC)', until)));
}

/** filters are the list parameters of the form state. */
function filters(s) {
  return { tenant: s.tenant, provider: s.provider, source: s.source, status: s.status, since: s.since, until: s.until };
}

/** browse lists messages or calls with the filters, newest first. */
async function browse(s, out, signal) {
  const heading = s.kind === 'calls' ? 'Calls' : 'Messages';
  out.append(el('h2', {}, heading));
  await pagedList(out, signal, [{ path: '/v1/' + s.kind, params: filters(s) }], s.kind,
    'No ' + s.kind + ' match these filters.');
}

/** search looks q up as every kind of id it may be, and as a number. */
async function search(s, out, signal) {
  const q = s.q;
  const owner = { tenant: s.tenant, provider: s.provider };
  const box = el('div', {}, loading('results for “' + q + '”'));
  out.append(el('h2', {}, 'Results for “', q, '”'), box);
  const lookups = [
    lookup('message', path('v1', 'messages', q), owner, signal),
    lookup('call', path('v1', 'calls', q), owner, signal),
    UUID.test(q) ? lookup('callback', path('v1', 'callbacks', q), {}, signal) : Promise.resolve(null),
  ];
  const found = await Promise.all(lookups);
  clear(box);
  let any = false;
  for (const f of found) {
    if (!f) continue;
    any = true;
    box.append(f);
  }
  if (looksLikePhone(q)) {
    const spellings = phoneSpellings(q);
    const none = ' to or from ' + spellings.join(' or ') + '.';
    // The status filter belongs to the kind the form lists.
    const byNumber = (kind) => spellings.flatMap((n) => ['to', 'from'].map((dir) => ({
      path: '/v1/' + kind, params: { ...filters(s), status: s.kind === kind ? s.status : '', [dir]: n },
    })));
    box.append(el('h3', {}, 'Messages to or from ', spellings[0]));
    const gotMessages = await pagedList(box, signal, byNumber('messages'), 'messages', 'No messages' + none);
    box.append(el('h3', {}, 'Calls to or from ', spellings[0]));
    const gotCalls = await pagedList(box, signal, byNumber('calls'), 'calls', 'No calls' + none);
    any = any || gotMessages || gotCalls;
  } else if (!any) {
    box.append(empty('Nothing found for “' + q + '”: no message, call or callback has this id for this token. ' +
      'Check the id, or add tenant and provider if it belongs to another account.'));
  }
}

/** lookup reads one id; a 409 becomes a list of the owners to choose from. */
async function lookup(what, p, params, signal) {
  try {
    const obj = await getOrNull(p, params, signal);
    if (!obj) return null;
    if (what === 'callback') return callbackCard(obj);
    return list(what === 'call' ? 'calls' : 'messages', [obj]);
  } catch (e) {
    if (e instanceof APIError && e.status === 409 && e.body && e.body.matches) {
      const kind = what === 'call' ? 'calls' : 'messages';
      const id = p.split('/').pop();
      return el('div', { class: 'card' },
        el('p', {}, 'The ', what, ' id is known to several (tenant, provider) pairs. Choose one:'),
        el('ul', {}, e.body.matches.map((m) => el('li', {},
          el('a', { href: route([kind, decodeURIComponent(id)], { tenant: m.tenant, provider: m.provider }) },
            m.tenant, ' / ', m.provider)))));
    }
    if (e instanceof APIError && e.status === 401) throw e;
    return errorBox(e);
  }
}

function callbackCard(cb) {
  return el('div', { class: 'card' },
    el('p', {}, 'Callback ', el('a', { href: route(['callbacks', cb.event_id]) }, cb.event_id), ' ',
      badge(cb.verdict), cb.reason ? ' ' + cb.reason : '', ' received ', time(cb.received_at), ' on ', cb.source));
}

/**
 * pagedList shows the merged pages of one or more list queries with a
 * "Load more" button while any of them has a next_cursor. Returns whether
 * anything was listed.
 */
async function pagedList(out, signal, queries, kind, emptyText) {
  const state = queries.map((q) => ({ ...q, cursor: '', done: false }));
  const seen = new Set();
  const holder = el('div', {});
  const more = el('button', { type: 'button', class: 'more' }, 'Load more');
  const status = el('div', {}, loading(kind));
  out.append(holder, status);
  let shown = 0;
  const page = async () => {
    more.disabled = true;
    const pages = await Promise.all(state.filter((q) => !q.done).map(async (q) => {
      const body = await get(q.path, { ...q.params, limit: PAGE, cursor: q.cursor }, signal);
      q.cursor = body.next_cursor;
      q.done = !body.next_cursor;
      return body.items;
    }));
    const items = [];
    for (const it of pages.flat()) {
      const k = [it.tenant, it.provider, it.message_id || it.call_id].join('\u0000');
      if (seen.has(k)) continue;
      seen.add(k);
      items.push(it);
    }
    items.sort((a, b) => String(b.status_at || '').localeCompare(String(a.status_at || '')));
    shown += items.length;
    if (items.length) holder.append(list(kind, items));
    clear(status);
    if (!shown) status.append(empty(emptyText));
    if (state.some((q) => !q.done)) {
      more.disabled = false;
      status.append(more);
    }
  };
  const failed = (e) => {
    if (e.name === 'AbortError' || (e instanceof APIError && e.status === 401)) throw e;
    clear(status).append(errorBox(e));
  };
  more.addEventListener('click', () => page().catch(failed));
  await page().catch(failed);
  return shown > 0;
}

/** list renders messages or calls as a table linking to their timelines. */
export function list(kind, items) {
  const isCall = kind === 'calls';
  const rows = items.map((m) => {
    const id = isCall ? m.call_id : m.message_id;
    return [
      el('a', { href: route([kind, id], { tenant: m.tenant, provider: m.provider }) }, id),
      badge(m.status || 'no status', m.status),
      m.tenant, m.provider, m.source, m.from || '—', m.to || '—',
      isCall ? (m.duration_seconds ? m.duration_seconds + ' s' : '—') : (m.error_code || '—'),
      time(m.status_at),
    ];
  });
  return table([isCall ? 'Call' : 'Message', 'Status', 'Tenant', 'Provider', 'Source', 'From', 'To',
    isCall ? 'Duration' : 'Error', 'Status at'], rows);
}
