// Formatting and console links.

/** route is a console hash link: #/a/b?k=v (segments and values encoded). */
export function route(segments, params) {
  let h = '#/' + segments.map(encodeURIComponent).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v) q.set(k, v);
  const s = q.toString();
  return s ? h + '?' + s : h;
}

/** time renders an RFC 3339 time as "2026-01-02 15:04:05.123Z" (UTC). */
export function time(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  return d.toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

/** seconds renders a duration in seconds for a person. */
export function seconds(s) {
  if (s === null || s === undefined || isNaN(s)) return '—';
  s = Math.round(s * 1000) / 1000;
  if (Math.abs(s) < 60) return s + ' s';
  const m = Math.floor(s / 60), r = Math.round(s - m * 60);
  if (m < 60) return m + ' min' + (r ? ' ' + r + ' s' : '');
  const hh = Math.floor(m / 60);
  return hh + ' h ' + (m % 60) + ' min';
}

/** percent renders a ratio. */
export function percent(r) {
  return r === null || r === undefined ? '—' : (Math.round(r * 1000) / 10) + ' %';
}

/** utcInput turns a datetime-local value (read as UTC) into RFC 3339. */
export function utcInput(v) {
  if (!v) return '';
  return (v.length === 16 ? v + ':00' : v) + 'Z';
}

/** toInput turns an RFC 3339 time into a datetime-local value (UTC). */
export function toInput(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? '' : d.toISOString().slice(0, 16);
}
