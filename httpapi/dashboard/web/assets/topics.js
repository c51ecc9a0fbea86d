// Topics: the routes of the node, every topic filter subscribed to (a
// shared one without its $share/{group}/ prefix), searched by exact
// filter; each links to the subscriptions that hold it.

import { h, fill } from './dom.js';
import { api } from './api.js';
import { num } from './fmt.js';
import { navigate, link, pager, errorText, field, select } from './ui.js';

const LIMITS = ['20', '50', '100', '200', '500'];

export function render(main, _rest, query) {
  const page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  const limit = LIMITS.includes(query.get('limit')) ? query.get('limit') : '50';
  const form = h('form', { class: 'filters card', id: 'topic-filters' },
    field('Topic filter (exact)', h('input', { name: 'topic', value: query.get('topic') || '', spellcheck: 'false', placeholder: 'site/+/temp' })),
    field('Node', h('input', { name: 'node', value: query.get('node') || '', spellcheck: 'false' })),
    field('Page size', select('limit', LIMITS.map((l) => [l, l]), limit)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/dashboard/topics') }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v) !== '' && !(k === 'limit' && v === '50')) q.set(k, String(v));
    navigate('/dashboard/topics' + (q.toString() ? '?' + q : ''));
  });
  const body = h('tbody');
  const total = h('span', { id: 'topics-total' }, '…');
  let paging = h('div');
  main.append(h('h2', null, 'Topics ', h('span', { class: 'count' }, total, ' routed')), form,
    h('div', { class: 'table-wrap card' }, h('table', { class: 'grid', id: 'topics' },
      h('thead', null, h('tr', null, ['Topic filter', 'Node', ''].map((c) => h('th', null, c)))), body)), paging);
  const params = [['page', String(page)], ['limit', limit]];
  for (const k of ['topic', 'node']) if (query.get(k)) params.push([k, query.get(k)]);
  let stopped = false;
  api('GET', '/topics', { query: params }).then((res) => {
    if (stopped) return;
    fill(body, res.data.length === 0 ? h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'No topic matches.')) :
      res.data.map((r) => h('tr', { dataset: { topic: r.topic } }, h('td', { class: 'topic' }, r.topic), h('td', null, r.node),
        h('td', null, link('/dashboard/subscriptions?topic=' + encodeURIComponent(r.topic), 'subscriptions')))));
    total.textContent = num(res.meta.count);
    paging.replaceWith(paging = pager(page, Number(limit), res.meta.count, res.meta.hasnext, (p) => {
      const q = new URLSearchParams(query);
      if (p > 1) q.set('page', String(p)); else q.delete('page');
      navigate('/dashboard/topics?' + q);
    }));
  }, (e) => {
    if (!stopped) { fill(body, h('tr', null, h('td', { colspan: 3, class: 'error' }, errorText(e)))); total.textContent = '—'; }
  });
  return () => { stopped = true; };
}
