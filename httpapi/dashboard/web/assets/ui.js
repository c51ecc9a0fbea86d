// Shared pieces of the pages: links, confirmation, notices, tables, paging.

import { h, clear, fill } from './dom.js';

let navigateFn = () => {};
export function setNavigate(fn) { navigateFn = fn; }
export const navigate = (path) => navigateFn(path);

// link is an in-app link: a real href (open in a new tab works), routed
// without a reload on a plain click.
export function link(path, ...children) {
  return h('a', {
    href: path,
    onclick: (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      navigate(path);
    },
  }, ...children);
}

// confirmDialog asks before an action; resolves true on confirm.
export function confirmDialog(title, message, action = 'Confirm', danger = true) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.append(
      h('h3', null, title),
      h('p', null, message),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'cancel', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-action': 'confirm', onclick: () => done(true) }, action)));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// notice shows a message in the page's notice area.
export function notice(kind, message) {
  const area = document.getElementById('notice');
  if (!area) return;
  fill(area, h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, message));
  if (kind !== 'error') setTimeout(() => { if (area.firstChild && area.firstChild.textContent === message) clear(area); }, 5000);
}

export function errorText(e) {
  return e && e.code ? `${e.code}: ${e.message}` : String((e && e.message) || e);
}

// pager draws "page N of M" with previous and next buttons.
export function pager(page, limit, count, hasnext, go) {
  const pages = Math.max(1, Math.ceil(count / limit));
  return h('div', { class: 'pager' },
    h('button', { type: 'button', class: 'secondary', 'data-action': 'prev', disabled: page <= 1, onclick: () => go(page - 1) }, '‹ Previous'),
    h('span', { class: 'page-info' }, `page ${page} of ${pages}`),
    h('button', { type: 'button', class: 'secondary', 'data-action': 'next', disabled: !hasnext, onclick: () => go(page + 1) }, 'Next ›'));
}

// field is a labelled form control.
export function field(label, control) {
  return h('label', { class: 'field' }, h('span', null, label), control);
}

export function select(name, options, current) {
  return h('select', { name }, options.map(([v, t]) => h('option', { value: v, selected: v === current }, t)));
}
