// The query API client. The token lives in sessionStorage (gone when the
// tab closes) and travels only in the Authorization header, never in a URL.

const KEY = 'hookledger.console.token';

export const token = {
  get: () => sessionStorage.getItem(KEY) || '',
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

/** APIError is a failed API call, with a message a person can act on. */
export class APIError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * get calls GET path on the query API with params (empty values dropped)
 * and returns the decoded JSON. A 401 also tells the console to sign in
 * again (event "console:unauthorized").
 */
export async function get(path, params, signal) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  let resp;
  try {
    resp = await fetch(url, {
      headers: { Authorization: 'Bearer ' + token.get(), Accept: 'application/json' },
      cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(0, 'The query API could not be reached: check your connection and that hookledger is running, then try again.');
  }
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (resp.ok) return body;
  const apiText = body && typeof body.error === 'string' ? body.error : '';
  switch (resp.status) {
    case 401:
      window.dispatchEvent(new CustomEvent('console:unauthorized'));
      throw new APIError(401, 'Token not accepted: sign in again.', body);
    case 400:
      throw new APIError(400, 'The API refused the request: ' + (apiText || 'bad request'), body);
    case 404:
      throw new APIError(404, 'Not found: ' + (apiText || path) + ' (or not visible to this token).', body);
    case 409:
      throw new APIError(409, apiText || 'Ambiguous id.', body);
    default:
      throw new APIError(resp.status, 'The query API failed (' + resp.status + (apiText ? ': ' + apiText : '') +
        '). Try again; if it persists the cause is in hookledger\'s log.', body);
  }
}

/** getOrNull is get with 404 answered as null. */
export async function getOrNull(path, params, signal) {
  try {
    return await get(path, params, signal);
  } catch (e) {
    if (e instanceof APIError && e.status === 404) return null;
    throw e;
  }
}

/** path joins API path segments, percent-encoding each. */
export function path(...segments) {
  return '/' + segments.map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}
