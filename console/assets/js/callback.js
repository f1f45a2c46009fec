// The callback viewer: one stored raw request, either verdict. Headers
// and body are attacker-controlled and only ever become text nodes.

import { el, dl, badge, table, loading, errorBox } from './dom.js';
import { get, path } from './api.js';
import { time } from './format.js';

export async function render(r, ctx) {
  const id = r.segments[1] || '';
  const box = el('div', {}, loading('the callback'));
  ctx.view.append(el('p', { class: 'crumbs' }, el('a', { href: '#/find' }, '← Find'), ' · ',
    el('a', { href: '#/rejections' }, 'Rejections')),
  el('h1', { class: 'id' }, 'Callback ', el('code', {}, id)), box);
  let cb;
  try {
    cb = await get(path('v1', 'callbacks', id), {}, ctx.signal);
  } catch (e) {
    if (e.status === 401 || e.name === 'AbortError') throw e;
    box.replaceChildren(errorBox(e));
    return;
  }
  box.replaceChildren(...view(cb));
}

/** view renders a callback as page sections. */
export function view(cb) {
  const out = [];
  const nearMiss = cb.detail && /NEAR MISS/.test(cb.detail);
  out.push(el('div', { class: 'card' },
    el('p', { class: 'status-line' }, badge(cb.verdict, cb.verdict), cb.reason ? [' ', el('strong', {}, cb.reason)] : null,
      ' received ', time(cb.received_at)),
    dl([['Source', cb.source], ['Provider', cb.provider], ['Tenant', cb.tenant || '(none: unknown source)'],
      ['Key id', cb.key_id], ['Remote address', cb.remote_addr], ['Body bytes', String(cb.body_bytes)]])));
  if (nearMiss) {
    out.push(el('div', { class: 'nearmiss', role: 'note' },
      el('strong', {}, 'NEAR MISS'),
      el('p', {}, 'The signature would have verified over another URL: the provider signed a different URL than the one hookledger rebuilt. Check the source\'s public_url and proxy headers.'),
      el('p', { class: 'nearmiss-detail' }, cb.detail.slice(cb.detail.indexOf('NEAR MISS')))));
  }
  if (cb.detail) {
    out.push(el('section', { class: 'diagnosis' }, el('h2', {}, 'Diagnosis'), el('pre', { class: 'wrap' }, cb.detail)));
  }
  if (cb.dead_lettered) {
    out.push(el('div', { class: 'error', role: 'note' }, el('strong', {}, 'Dead-lettered'),
      el('p', {}, 'The processor could not use this accepted callback; its events are missing from the history.'),
      dl([['Error', cb.dead_letter_error], ['Dead-lettered at', time(cb.dead_lettered_at)]])));
  }
  out.push(el('h2', {}, 'Request'), el('p', { class: 'reqline' }, el('code', {}, cb.method), ' ',
    el('code', { class: 'url' }, cb.url)));
  const headers = Object.entries(cb.headers || {}).sort(([a], [b]) => a.localeCompare(b));
  out.push(el('h2', {}, 'Headers'), headers.length
    ? table(['Name', 'Value'], headers.flatMap(([k, vs]) => vs.map((v) => [el('code', {}, k), el('code', { class: 'wrap' }, v)])))
    : el('p', { class: 'empty' }, 'No headers stored.'));
  out.push(...body(cb));
  return out;
}

/** body shows the request body: pretty when JSON or a form, and raw. */
function body(cb) {
  const bytes = decode(cb.body_base64 || '');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const ctype = headerValue(cb.headers, 'content-type').toLowerCase();
  const out = [el('h2', {}, 'Body', cb.body_truncated ? ' (truncated: only a prefix is stored)' : '')];
  if (!bytes.length) {
    out.push(el('p', { class: 'empty' }, 'Empty body.'));
    return out;
  }
  const pretty = prettyJSON(text, ctype);
  if (pretty !== null) {
    out.push(el('h3', {}, 'JSON'), el('pre', { class: 'body' }, pretty));
  } else if (ctype.includes('application/x-www-form-urlencoded') || (cb.method === 'POST' && /^[^=&\s]+=[^\s]*$/.test(text) && !ctype)) {
    const params = [...new URLSearchParams(text)];
    out.push(el('h3', {}, 'Form fields'), params.length
      ? table(['Field', 'Value'], params.map(([k, v]) => [el('code', {}, k), el('code', { class: 'wrap' }, v)]))
      : el('p', { class: 'empty' }, 'No fields.'));
  }
  out.push(el('h3', {}, 'Raw'), el('pre', { class: 'body raw' }, text));
  return out;
}

function prettyJSON(text, ctype) {
  const t = text.trim();
  if (!ctype.includes('json') && !(t.startsWith('{') || t.startsWith('['))) return null;
  try { return JSON.stringify(JSON.parse(t), null, 2); } catch { return null; }
}

function headerValue(headers, name) {
  for (const [k, vs] of Object.entries(headers || {})) if (k.toLowerCase() === name && vs.length) return vs[0];
  return '';
}

function decode(b64) {
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return new Uint8Array();
  }
}
