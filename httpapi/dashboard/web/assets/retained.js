// Retained messages: every retained message by topic, its payload shown
// safely (text when it is UTF-8 without control characters, else hex, at
// most PAYLOAD_CAP bytes), and deleting one, confirmed.

import { h, fill } from './dom.js';
import { api, enc, session } from './api.js';
import { num, time, payload, decodeBase64, PAYLOAD_CAP, bytes } from './fmt.js';
import { navigate, pager, confirmDialog, notice, errorText, field, select } from './ui.js';

const LIMITS = ['20', '50', '100', '200', '500'];

export function render(main, _rest, query) {
  const admin = session.role === 'administrator';
  const page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  const limit = LIMITS.includes(query.get('limit')) ? query.get('limit') : '50';
  const form = h('form', { class: 'filters card', id: 'retained-filters' },
    field('Topic filter (+ and # allowed)', h('input', { name: 'topic', value: query.get('topic') || '', spellcheck: 'false' })),
    field('Page size', select('limit', LIMITS.map((l) => [l, l]), limit)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/dashboard/retained') }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const q = new URLSearchParams();
    if (fd.get('topic')) q.set('topic', fd.get('topic'));
    if (fd.get('limit') !== '50') q.set('limit', fd.get('limit'));
    navigate('/dashboard/retained' + (q.toString() ? '?' + q : ''));
  });
  const body = h('tbody');
  const total = h('span', { id: 'retained-total' }, '…');
  const viewer = h('section', { class: 'card', id: 'payload-view', hidden: true });
  let paging = h('div');
  main.append(h('h2', null, 'Retained messages ', h('span', { class: 'count' }, total)), form, viewer,
    h('div', { class: 'table-wrap card' }, h('table', { class: 'grid', id: 'retained' },
      h('thead', null, h('tr', null, ['Topic', 'QoS', 'From client', 'From user', 'Published at', ''].map((c) => h('th', null, c)))), body)),
    paging);

  const params = [['page', String(page)], ['limit', limit]];
  if (query.get('topic')) params.push(['topic', query.get('topic')]);
  let stopped = false;
  api('GET', '/retainer/messages', { query: params }).then((res) => {
    if (stopped) return;
    fill(body, res.data.length === 0 ? h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No retained message.')) :
      res.data.map((m) => h('tr', { dataset: { topic: m.topic } },
        h('td', { class: 'topic' }, m.topic), h('td', null, m.qos), h('td', null, m.from_clientid ?? '—'), h('td', null, m.from_username ?? '—'),
        h('td', null, time(m.publish_at)),
        h('td', null,
          h('button', { type: 'button', class: 'secondary small', 'data-action': 'view', onclick: () => view(m.topic) }, 'View'), ' ',
          admin ? h('button', { type: 'button', class: 'secondary small', 'data-action': 'delete', onclick: () => del(m.topic) }, 'Delete') : null))));
    total.textContent = num(res.meta.count);
    paging.replaceWith(paging = pager(page, Number(limit), res.meta.count, res.meta.hasnext, (p) => {
      const q = new URLSearchParams(query);
      if (p > 1) q.set('page', String(p)); else q.delete('page');
      navigate('/dashboard/retained?' + q);
    }));
  }, (e) => {
    if (!stopped) { fill(body, h('tr', null, h('td', { colspan: 6, class: 'error' }, errorText(e)))); total.textContent = '—'; }
  });

  async function view(topic) {
    try {
      const m = await api('GET', `/retainer/message/${enc(topic)}`);
      const raw = decodeBase64(m.payload || '');
      const show = (mode) => {
        const p = payload(raw, mode);
        fill(viewer,
          h('h3', null, 'Payload of ', h('span', { class: 'topic' }, topic)),
          h('p', { class: 'muted' }, `${bytes(p.size)} · shown as ${p.mode}`, p.truncated ? ` · the first ${num(PAYLOAD_CAP)} bytes` : '', ' ',
            h('button', { type: 'button', class: 'secondary small', 'data-action': 'as-text', onclick: () => show('text') }, 'Text'), ' ',
            h('button', { type: 'button', class: 'secondary small', 'data-action': 'as-hex', onclick: () => show('hex') }, 'Hex'), ' ',
            h('button', { type: 'button', class: 'secondary small', onclick: () => { viewer.hidden = true; } }, 'Close')),
          h('pre', { class: 'payload', id: 'payload' }, p.text));
        viewer.hidden = false;
      };
      show('auto');
    } catch (e) { notice('error', errorText(e)); }
  }
  async function del(topic) {
    if (!await confirmDialog('Delete retained message', `Delete the retained message of ${topic}?`, 'Delete')) return;
    try {
      await api('DELETE', `/retainer/message/${enc(topic)}`);
      notice('ok', `Deleted the retained message of ${topic}.`);
      navigate(location.pathname + location.search);
    } catch (e) { notice('error', errorText(e)); }
  }
  return () => { stopped = true; };
}
