// DOM helpers. Every text goes in through textContent (text nodes), never
// through innerHTML: callback bodies and headers are attacker-controlled.
// href only ever takes the console's own hash routes.

const SVG = 'http://www.w3.org/2000/svg';

/** el builds an HTML element: attrs (on* are listeners), then children. */
export function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** svg builds an SVG element the same way. */
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'href') node.setAttribute('href', safeHref(v));
    else if (k === 'class') node.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'value' && 'value' in node) node.value = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  add(node, children);
  return node;
}

/** add appends children: nodes as they are, anything else as text. */
export function add(node, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** safeHref keeps only the console's hash routes. */
export function safeHref(v) {
  const s = String(v);
  return s.startsWith('#/') ? s : '#/';
}

/** clear empties node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/** field is a labelled form control. */
export function field(label, control, hint) {
  const id = control.id || 'f-' + Math.random().toString(36).slice(2, 9);
  control.id = id;
  return el('div', { class: 'field' },
    el('label', { for: id }, label), control,
    hint ? el('small', { class: 'hint' }, hint) : null);
}

/** select builds a <select> of [value, label] pairs. */
export function select(name, options, value) {
  const s = el('select', { name });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(el('option', { value: v }, label));
  }
  s.value = value || '';
  return s;
}

/** loading is the placeholder shown while a request runs. */
export function loading(what) {
  return el('p', { class: 'loading', role: 'status' }, 'Loading ' + what + '…');
}

/** empty is the state of a list with nothing in it. */
export function empty(text) {
  return el('p', { class: 'empty' }, text);
}

/** errorBox shows an error a person can act on. */
export function errorBox(err) {
  return el('div', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

/** dl builds a definition list from [term, value] pairs (null values skipped). */
export function dl(pairs) {
  const d = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    d.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));
  }
  return d;
}

/** badge shows a status or verdict. */
export function badge(text, kind) {
  return el('span', { class: ['badge', 'b-' + String(kind || text).replace(/[^a-z_]/g, '')] }, text || '—');
}

/** table builds a table: head is a list of labels, rows lists of cells. */
export function table(head, rows, caption) {
  return el('div', { class: 'table-wrap' }, el('table', {},
    caption ? el('caption', {}, caption) : null,
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c, i) => el('td', { 'data-label': head[i] }, c)))))));
}
