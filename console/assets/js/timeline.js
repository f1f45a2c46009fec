// Message and call timelines: current status and every event in provider
// time, each linked to the callback that reported it.

import { el, dl, badge, table, loading, errorBox } from './dom.js';
import { get, path, APIError } from './api.js';
import { route, time, seconds } from './format.js';

export async function renderMessage(r, ctx) {
  const id = r.segments[1];
  const box = start(ctx, 'Message ', id);
  const m = await read('messages', id, r.params, box, ctx.signal);
  if (!m) return;
  const firstAt = m.events.length ? Date.parse(m.events[0].occurred_at) : NaN;
  const delivered = m.events.find((e) => e.status === 'delivered');
  const toDelivered = delivered ? (Date.parse(delivered.occurred_at) - firstAt) / 1000 : null;
  box.replaceChildren(
    el('div', { class: 'card' },
      el('p', { class: 'status-line' }, 'Current status ', badge(m.status, m.status), ' at ', time(m.status_at)),
      dl([['Tenant', m.tenant], ['Provider', m.provider], ['Source', m.source], ['From', m.from], ['To', m.to],
        ['Error code', m.error_code], ['First event', m.events.length ? time(m.events[0].occurred_at) : null],
        ['Time to delivered', delivered ? seconds(toDelivered) : 'not delivered'],
        ['Events', String(m.events.length)]])),
    el('h2', {}, 'Events (provider time)'),
    table(['Provider time', 'Status', 'Provider status', 'Error code', 'Error detail', 'Received', 'Callback'],
      m.events.map((e) => [time(e.occurred_at), badge(e.status, e.status), e.provider_status || '—',
        e.error_code || '—', e.error_detail || '—', time(e.received_at), callbackLink(e.event_id)])),
    repliesSection(m, ctx.signal));
}

export async function renderCall(r, ctx) {
  const id = r.segments[1];
  const box = start(ctx, 'Call ', id);
  const c = await read('calls', id, r.params, box, ctx.signal);
  if (!c) return;
  box.replaceChildren(
    el('div', { class: 'card' },
      el('p', { class: 'status-line' }, 'Current status ', badge(c.status || 'no status yet', c.status),
        c.status_at ? [' at ', time(c.status_at)] : null),
      dl([['Tenant', c.tenant], ['Provider', c.provider], ['Source', c.source], ['From', c.from], ['To', c.to],
        ['Direction', c.direction], ['Duration', c.duration_seconds ? seconds(c.duration_seconds) : '—'],
        ['Conversation', c.conversation_id], ['Events', String(c.events.length)]])),
    el('h2', {}, 'Events (provider time)'),
    table(['Provider time', 'Status', 'Kind / provider status', 'Detail', 'Received', 'Callback'],
      c.events.map((e) => [time(e.occurred_at), e.status ? badge(e.status, e.status) : el('span', { class: 'muted' }, 'event'),
        e.provider_status || '—', e.detail || '—', time(e.received_at), callbackLink(e.event_id)])));
}

function start(ctx, what, id) {
  const box = el('div', {}, loading('the timeline'));
  ctx.view.append(el('p', { class: 'crumbs' }, el('a', { href: '#/find' }, '← Find')),
    el('h1', { class: 'id' }, what, el('code', {}, id)), box);
  return box;
}

/** read fetches the message or call; a 409 lists the owners to pick. */
async function read(kind, id, params, box, signal) {
  try {
    return await get(path('v1', kind, id), { tenant: params.get('tenant'), provider: params.get('provider') }, signal);
  } catch (e) {
    if (e instanceof APIError && e.status === 409 && e.body && e.body.matches) {
      box.replaceChildren(el('div', { class: 'card' }, el('p', {}, e.message),
        el('ul', {}, e.body.matches.map((m) => el('li', {},
          el('a', { href: route([kind, id], { tenant: m.tenant, provider: m.provider }) }, m.tenant, ' / ', m.provider))))));
      return null;
    }
    if (e instanceof APIError && e.status === 401) throw e;
    box.replaceChildren(errorBox(e));
    return null;
  }
}

function callbackLink(eventID) {
  return eventID ? el('a', { href: route(['callbacks', eventID]) }, 'view callback') : '—';
}

/** repliesSection lists inbound replies that answer the message. */
function repliesSection(m, signal) {
  const sec = el('section', {}, el('h2', {}, 'Replies'), loading('replies'));
  get('/v1/replies', { message_id: m.message_id, limit: 20 }, signal).then((body) => {
    const items = body.items.filter((x) => x.tenant === m.tenant && x.provider === m.provider);
    sec.replaceChildren(el('h2', {}, 'Replies'), items.length
      ? table(['Provider time', 'From', 'To', 'Text'], items.map((x) => [time(x.occurred_at), x.from, x.to, x.text]))
      : el('p', { class: 'empty' }, 'No replies to this message.'));
  }).catch((e) => { if (e.name !== 'AbortError') sec.replaceChildren(el('h2', {}, 'Replies'), errorBox(e)); });
  return sec;
}
