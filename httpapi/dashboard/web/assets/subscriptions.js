// Subscriptions: every subscription of every session, filtered by client,
// topic filter, QoS, share group, or by a topic name they match.

import { h, fill } from './dom.js';
import { api, enc } from './api.js';
import { num } from './fmt.js';
import { navigate, link, pager, errorText, field, select } from './ui.js';

const FILTERS = [['clientid', 'Client ID'], ['topic', 'Topic filter (exact)'], ['match_topic', 'Matches topic'], ['share_group', 'Share group']];
const LIMITS = ['20', '50', '100', '200', '500'];

export function render(main, _rest, query) {
  const page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  const limit = LIMITS.includes(query.get('limit')) ? query.get('limit') : '50';
  const form = h('form', { class: 'filters card', id: 'subscription-filters' },
    FILTERS.map(([k, label]) => field(label, h('input', { name: k, value: query.get(k) || '', spellcheck: 'false' }))),
    field('QoS', select('qos', [['', 'any'], ['0', '0'], ['1', '1'], ['2', '2']], query.get('qos') || '')),
    field('Page size', select('limit', LIMITS.map((l) => [l, l]), limit)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/dashboard/subscriptions') }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim() !== '' && !(k === 'limit' && v === '50')) q.set(k, String(v).trim());
    navigate('/dashboard/subscriptions' + (q.toString() ? '?' + q : ''));
  });
  const body = h('tbody');
  const total = h('span', { id: 'subs-total' }, '…');
  let paging = h('div');
  main.append(h('h2', null, 'Subscriptions ', h('span', { class: 'count' }, total, ' matching')), form,
    h('div', { class: 'table-wrap card' }, h('table', { class: 'grid', id: 'subscriptions' },
      h('thead', null, h('tr', null, ['Client ID', 'Topic', 'QoS', 'No local', 'Retain as published', 'Retain handling', 'Node'].map((c) => h('th', null, c)))),
      body)), paging);
  const params = [['page', String(page)], ['limit', limit]];
  for (const [k, v] of query) if (k !== 'page' && k !== 'limit') params.push([k, v]);
  let stopped = false;
  api('GET', '/subscriptions', { query: params }).then((res) => {
    if (stopped) return;
    fill(body, res.data.length === 0 ? h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No subscription matches.')) :
      res.data.map((s) => h('tr', null, h('td', null, link('/dashboard/clients/' + enc(s.clientid), s.clientid)), h('td', { class: 'topic' }, s.topic),
        h('td', null, s.qos), h('td', null, s.nl), h('td', null, s.rap), h('td', null, s.rh), h('td', null, s.node))));
    total.textContent = num(res.meta.count);
    paging.replaceWith(paging = pager(page, Number(limit), res.meta.count, res.meta.hasnext, (p) => {
      const q = new URLSearchParams(query);
      if (p > 1) q.set('page', String(p)); else q.delete('page');
      navigate('/dashboard/subscriptions?' + q);
    }));
  }, (e) => {
    if (!stopped) { fill(body, h('tr', null, h('td', { colspan: 7, class: 'error' }, errorText(e)))); total.textContent = '—'; }
  });
  return () => { stopped = true; };
}
