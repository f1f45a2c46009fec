// Charts drawn by hand in SVG (no library, nothing loaded). Colours come
// from CSS classes s0..s9; each chart also offers its numbers as a table.

import { el, svg, table } from './dom.js';

const W = 640, H = 220, M = { l: 48, r: 12, t: 10, b: 30 };
const HOUR = 3600e3, DAY = 24 * HOUR;

/** steps lists bucket starts (ms) from first to last, every step ms. */
export function steps(first, last, step, max = 1000) {
  const out = [];
  for (let t = first; t <= last && out.length < max; t += step) out.push(t);
  return out;
}

/** stepOf is the bucket size of an interval name. */
export function stepOf(interval) { return interval === 'day' ? DAY : HOUR; }

/** floorTo is t (ms) at the start of its UTC hour or day. */
export function floorTo(t, step) { return Math.floor(t / step) * step; }

function label(t, step) {
  const s = new Date(t).toISOString();
  return step >= DAY ? s.slice(0, 10) : s.slice(5, 13).replace('T', ' ') + 'h';
}

function nice(max) {
  if (max <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function frame(ticks, format, xs, step) {
  const g = svg('g', {});
  const ih = H - M.t - M.b;
  const top = ticks[ticks.length - 1] || 1;
  for (const v of ticks) {
    const y = M.t + ih - (v / top) * ih;
    g.append(svg('line', { class: 'grid', x1: M.l, x2: W - M.r, y1: y, y2: y }),
      svg('text', { x: M.l - 6, y: y + 4, 'text-anchor': 'end' }, format(v)));
  }
  g.append(svg('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: M.t + ih, y2: M.t + ih }));
  const iw = W - M.l - M.r;
  const picks = xs.length <= 1 ? [0] : [0, Math.floor((xs.length - 1) / 2), xs.length - 1];
  for (const i of new Set(picks)) {
    const x = M.l + (xs.length <= 1 ? iw / 2 : (i + 0.5) * (iw / xs.length));
    g.append(svg('text', { x, y: H - 8, 'text-anchor': i === 0 && xs.length > 1 ? 'start' : i === xs.length - 1 && xs.length > 1 ? 'end' : 'middle' }, label(xs[i], step)));
  }
  return g;
}

function figure(title, chart, series, head, rows) {
  return el('figure', { class: 'chart' },
    el('h3', {}, title), chart,
    el('ul', { class: 'legend', 'aria-label': 'Legend' }, series.map((s, i) => el('li', {}, el('span', { class: ['sw', 's' + (i % 10)] }), s))),
    el('details', {}, el('summary', {}, 'Show the numbers'), table(head, rows)));
}

/**
 * stackedBars draws counts per bucket stacked by series. value(b, s) is
 * the count of series s in bucket b (index into xs).
 */
export function stackedBars(title, xs, step, series, value) {
  const totals = xs.map((_, b) => series.reduce((n, _s, s) => n + (value(b, s) || 0), 0));
  const top = nice(Math.max(0, ...totals));
  const ih = H - M.t - M.b, iw = W - M.l - M.r;
  const bw = iw / Math.max(1, xs.length);
  const barW = Math.max(1, Math.min(bw * 0.8, 48));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title + ': ' + totals.reduce((a, b) => a + b, 0) + ' in all' },
    frame([0, top / 2, top], (v) => String(Math.round(v * 10) / 10), xs, step));
  xs.forEach((x, b) => {
    let y = M.t + ih;
    series.forEach((name, s) => {
      const v = value(b, s) || 0;
      if (!v) return;
      const h = (v / top) * ih;
      y -= h;
      root.append(svg('rect', { class: 's' + (s % 10), x: M.l + b * bw + (bw - barW) / 2, y, width: barW, height: h },
        svg('title', {}, label(x, step) + ' ' + name + ': ' + v)));
    });
  });
  const rows = xs.map((x, b) => [label(x, step), ...series.map((_, s) => String(value(b, s) || 0)), String(totals[b])])
    .filter((_, b) => totals[b] > 0);
  return figure(title, root, series, ['Bucket', ...series, 'Total'], rows);
}

/**
 * lines draws one line per series; value(b, s) is a number or null (a
 * gap). format renders axis values.
 */
export function lines(title, xs, step, series, value, format, fixedTop) {
  let max = 0;
  xs.forEach((_, b) => series.forEach((_s, s) => { const v = value(b, s); if (v !== null && v !== undefined) max = Math.max(max, v); }));
  const top = fixedTop || nice(max);
  const ih = H - M.t - M.b, iw = W - M.l - M.r;
  const bw = iw / Math.max(1, xs.length);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title },
    frame([0, top / 2, top], format, xs, step));
  series.forEach((name, s) => {
    let d = '';
    let pen = false;
    xs.forEach((x, b) => {
      const v = value(b, s);
      if (v === null || v === undefined) { pen = false; return; }
      const px = M.l + (b + 0.5) * bw, py = M.t + ih - (v / top) * ih;
      d += (pen ? 'L' : 'M') + px.toFixed(1) + ' ' + py.toFixed(1) + ' ';
      pen = true;
      root.append(svg('circle', { class: 's' + (s % 10), cx: px, cy: py, r: 3 }, svg('title', {}, label(x, step) + ' ' + name + ': ' + format(v))));
    });
    if (d) root.append(svg('path', { class: ['line', 's' + (s % 10)], d, fill: 'none' }));
  });
  const rows = xs.map((x, b) => [label(x, step), ...series.map((_, s) => { const v = value(b, s); return v === null || v === undefined ? '—' : format(v); })])
    .filter((r) => r.slice(1).some((c) => c !== '—'));
  return figure(title, root, series, ['Bucket', ...series], rows);
}
