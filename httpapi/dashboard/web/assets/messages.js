// A session's queued or in-flight messages: GET
// /clients/{id}/mqueue_messages and /inflight_messages, EMQX 5's, a page
// at a time from the position the broker returns; each payload shown
// safely (text or hex, at most PAYLOAD_CAP bytes).

import { h, fill } from './dom.js';
import { api, enc } from './api.js';
import { num, time, payload, decodeBase64, PAYLOAD_CAP } from './fmt.js';
import { errorText } from './ui.js';

const LIMIT = 50;

// messagesSection returns the section of one kind ('mqueue_messages' or
// 'inflight_messages') and its loader.
export function messagesSection(id, kind, title) {
  const body = h('tbody');
  const info = h('span', { class: 'muted' });
  const more = h('button', { type: 'button', class: 'secondary small', hidden: true, 'data-action': 'more-' + kind }, 'More');
  const el = h('section', { class: 'card', id: kind.replace('_messages', '') },
    h('h3', null, title, ' ', info),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('thead', null, h('tr', null, ['Topic', 'QoS', 'From client', 'Published at', 'Payload'].map((c) => h('th', null, c)))), body)),
    more);
  let position = '';
  let shown = 0;
  const page = async (append) => {
    const q = [['limit', String(LIMIT)], ['payload', 'base64'], ['max_payload_bytes', String(PAYLOAD_CAP)]];
    if (append && position) q.push(['position', position]);
    let res;
    try {
      res = await api('GET', `/clients/${enc(id)}/${kind}`, { query: q });
    } catch (e) {
      fill(body, h('tr', null, h('td', { colspan: 5, class: 'error' }, errorText(e))));
      return;
    }
    const rows = res.data.map((m) => {
      const p = payload(decodeBase64(m.payload || ''));
      return h('tr', { dataset: { msgid: m.msgid } }, h('td', { class: 'topic' }, m.topic), h('td', null, m.qos),
        h('td', null, m.from_clientid ?? '—'), h('td', null, time(m.publish_at)),
        h('td', { class: 'payload-cell', title: p.mode }, h('pre', { class: 'payload' }, p.text)));
    });
    if (!append) { shown = 0; fill(body); }
    if (rows.length === 0 && shown === 0) body.append(h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'None.')));
    body.append(...rows);
    shown += rows.length;
    position = res.meta && res.meta.position && res.meta.position !== 'none' ? String(res.meta.position) : '';
    more.hidden = !position || rows.length < LIMIT;
    info.textContent = `${num(shown)} shown`;
  };
  more.addEventListener('click', () => page(true));
  return { el, load: () => page(false) };
}
