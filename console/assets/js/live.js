// live: not in this build yet.
import { el } from './dom.js';

export async function render(r, ctx) {
  ctx.view.append(el('h1', {}, 'Live'), el('p', { class: 'empty' }, 'This page is not in this build yet.'));
}
