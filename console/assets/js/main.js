// The console shell: sign-in, navigation and the hash router. Navigation
// state lives in the hash (#/messages/SM123); the token never does.

import { el, clear, field, errorBox } from './dom.js';
import { token, get, APIError } from './api.js';
import * as find from './find.js';
import * as timeline from './timeline.js';
import * as callback from './callback.js';
import * as rejections from './rejections.js';
import * as analytics from './analytics.js';
import * as live from './live.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
let current = null; // { abort, stop } of the page on screen
let signInMessage = '';

/** parseHash reads #/a/b?k=v into decoded segments and params. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q] = raw.split('?');
  const segments = p ? p.split('/').map((s) => { try { return decodeURIComponent(s); } catch { return s; } }) : [];
  return { segments, params: new URLSearchParams(q || '') };
}

const pages = {
  find: (r, ctx) => find.render(r, ctx),
  messages: (r, ctx) => r.segments[1] ? timeline.renderMessage(r, ctx) : find.render(r, ctx),
  calls: (r, ctx) => r.segments[1] ? timeline.renderCall(r, ctx) : find.render(r, ctx),
  callbacks: (r, ctx) => callback.render(r, ctx),
  rejections: (r, ctx) => rejections.render(r, ctx),
  analytics: (r, ctx) => analytics.render(r, ctx),
  live: (r, ctx) => live.render(r, ctx),
};

function stopCurrent() {
  if (!current) return;
  current.abort.abort();
  if (current.stop) current.stop();
  current = null;
}

async function show(ev) {
  stopCurrent();
  if (!token.get()) { signIn(); return; }
  nav.hidden = false;
  const r = parseHash();
  const name = pages[r.segments[0]] ? r.segments[0] : 'find';
  for (const a of nav.querySelectorAll('a')) {
    const on = a.dataset.page === name || (name !== 'rejections' && name !== 'analytics' && name !== 'live' && a.dataset.page === 'find');
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const abort = new AbortController();
  const ctx = { view: clear(view), signal: abort.signal, onStop: (f) => { me.stop = f; } };
  const me = { abort };
  current = me;
  if (ev && ev.type === 'hashchange') {
    // A new page: start reading (and tabbing) from its top.
    window.scrollTo(0, 0);
    view.focus({ preventScroll: true });
  }
  try {
    await pages[name](r, ctx);
  } catch (e) {
    if (e.name === 'AbortError' || abort.signal.aborted) return;
    if (!(e instanceof APIError && e.status === 401)) view.append(errorBox(e));
  }
}

/** signIn shows the sign-in form; the token is checked against the API. */
function signIn() {
  nav.hidden = true;
  const input = el('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const msg = el('div', { 'aria-live': 'polite' });
  if (signInMessage) msg.append(errorBox(signInMessage));
  signInMessage = '';
  const form = el('form', { class: 'card signin', onsubmit: async (ev) => {
    ev.preventDefault();
    clear(msg);
    token.set(input.value.trim());
    try {
      await get('/v1/rejections', { limit: 1 });
    } catch (e) {
      if (e instanceof APIError && e.status === 401) {
        token.clear();
        msg.append(errorBox('Token not accepted: check it and sign in again.'));
        input.focus();
        return;
      }
      // Another failure: the token may be fine; go on and let the page say.
    }
    input.value = '';
    show();
  } },
  el('h1', {}, 'Sign in'),
  el('p', { class: 'muted' }, 'Use a query API token (query.tokens). It is kept in this tab only and sent to the API as a bearer token.'),
  field('API token', input),
  el('button', { type: 'submit' }, 'Sign in'),
  msg);
  clear(view).append(form);
  input.focus();
}

window.addEventListener('console:unauthorized', () => {
  if (!token.get()) return;
  token.clear();
  signInMessage = 'Token not accepted: sign in again.';
  stopCurrent();
  signIn();
});
document.getElementById('signout').addEventListener('click', () => {
  token.clear();
  stopCurrent();
  signIn();
});
window.addEventListener('hashchange', show);
show();
