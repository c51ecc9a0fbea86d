// One client: every field of the client object, grouped; its
// subscriptions, queued and in-flight messages; and, for an
// administrator, kick, subscribe and unsubscribe, each confirmed first.

import { h, clear, fill } from './dom.js';
import { api, enc, session } from './api.js';
import { value, time, bytes } from './fmt.js';
import { navigate, link, confirmDialog, notice, errorText, field, select } from './ui.js';
import { COUNTERS } from './clients.js';
import { messagesSection } from './messages.js';

// The client object's keys, grouped; a key the broker adds later lands in
// "Other", so every field is always shown.
const GROUPS = [
  ['Connection', ['node', 'clientid', 'username', 'proto_name', 'proto_ver', 'ip_address', 'port', 'listener', 'zone', 'connected',
    'connected_at', 'disconnected_at', 'keepalive', 'clean_start', 'is_bridge', 'enable_authn']],
  ['TLS and tenancy', ['peersni', 'cn', 'dn', 'tenant_id_from']],
  ['Session', ['is_persistent', 'created_at', 'expiry_interval', 'subscriptions_cnt', 'subscriptions_max', 'inflight_cnt', 'inflight_max',
    'mqueue_len', 'mqueue_max', 'mqueue_dropped', 'awaiting_rel_cnt', 'awaiting_rel_max']],
  ['Received', COUNTERS.filter((c) => c.startsWith('recv_'))],
  ['Sent', COUNTERS.filter((c) => c.startsWith('send_'))],
  ['Runtime', ['mailbox_len', 'heap_size', 'reductions']],
];
const TOP = new Set(['Connection', 'TLS and tenancy', 'Session']);
const TIMES = new Set(['connected_at', 'disconnected_at', 'created_at']);
const BYTES = new Set(['recv_oct', 'send_oct', 'heap_size']);

// PLAIN numbers are identifiers, not quantities: no digit grouping.
const PLAIN = new Set(['port', 'proto_ver']);

function show(k, v) {
  if (TIMES.has(k) && v) return time(v);
  if (BYTES.has(k) && typeof v === 'number') return `${bytes(v)} (${value(v)})`;
  if (PLAIN.has(k)) return String(v);
  return value(v);
}

export function render(main, rest) {
  let id;
  try { id = decodeURIComponent(rest); } catch { id = rest; }
  const admin = session.role === 'administrator';
  const title = h('h2', null, link('/dashboard/clients', 'Clients'), ' / ', h('span', { class: 'clientid', id: 'client-id' }, id));
  const actions = h('div', { class: 'actions' });
  // The identity and session fields first, then the subscriptions and
  // messages, then the traffic counters.
  const groups = h('div', { class: 'groups' });
  const counters = h('div', { class: 'groups' });
  const subsBody = h('tbody');
  const subsSection = h('section', { class: 'card' }, h('h3', null, 'Subscriptions'),
    h('table', { class: 'grid', id: 'client-subscriptions' },
      h('thead', null, h('tr', null, ['Topic', 'QoS', 'No local', 'Retain as published', 'Retain handling', ''].map((c) => h('th', null, c)))),
      subsBody));
  const queue = messagesSection(id, 'mqueue_messages', 'Queued messages');
  const inflight = messagesSection(id, 'inflight_messages', 'In-flight messages');
  main.append(title, actions, groups, subsSection, h('div', { class: 'groups wide' }, queue.el, inflight.el), counters);
  let stopped = false;

  const loadSubs = async () => {
    const subs = await api('GET', `/clients/${enc(id)}/subscriptions`);
    if (stopped) return;
    fill(subsBody, subs.length === 0 ? h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No subscription.')) :
      subs.map((s) => h('tr', { dataset: { topic: s.topic } },
        h('td', { class: 'topic' }, s.topic), h('td', null, s.qos), h('td', null, s.nl), h('td', null, s.rap), h('td', null, s.rh),
        h('td', null, admin ? h('button', {
          type: 'button', class: 'secondary small', 'data-action': 'unsubscribe',
          onclick: async () => {
            if (!await confirmDialog('Unsubscribe', `Unsubscribe ${id} from ${s.topic}?`, 'Unsubscribe')) return;
            try {
              await api('POST', `/clients/${enc(id)}/unsubscribe`, { body: { topic: s.topic } });
              notice('ok', `Unsubscribed from ${s.topic}.`);
              await load();
            } catch (e) { notice('error', errorText(e)); }
          },
        }, 'Unsubscribe') : null))));
  };

  const load = async () => {
    let c;
    try {
      c = await api('GET', `/clients/${enc(id)}`);
    } catch (e) {
      if (stopped) return;
      fill(groups, h('p', { class: 'error', id: 'client-error' }, e.code === 'CLIENTID_NOT_FOUND' ? `No session for client ${id}.` : errorText(e)));
      clear(actions);
      clear(counters);
      subsSection.hidden = true;
      queue.el.hidden = inflight.el.hidden = true;
      return;
    }
    if (stopped) return;
    clear(groups);
    clear(counters);
    for (const [name, keys] of [...GROUPS, ['Other', Object.keys(c).filter((k) => !GROUPS.some(([, ks]) => ks.includes(k)))]]) {
      const present = keys.filter((k) => k in c);
      if (present.length === 0) continue;
      (TOP.has(name) ? groups : counters).append(h('section', { class: 'card group' }, h('h3', null, name),
        h('dl', null, present.map((k) => [h('dt', null, k),
          h('dd', { dataset: { field: k }, title: TIMES.has(k) && c[k] ? c[k] : null }, show(k, c[k]))]))));
    }
    fill(actions, h('span', { class: 'badge ' + (c.connected ? 'ok' : 'off'), id: 'client-state' }, c.connected ? 'connected' : 'disconnected'),
      h('button', { type: 'button', class: 'secondary', 'data-action': 'refresh', onclick: () => load() }, 'Refresh'));
    if (admin) {
      actions.append(h('button', {
        type: 'button', class: 'danger', 'data-action': 'kick',
        onclick: async () => {
          if (!await confirmDialog('Kick client', `Disconnect ${id} and discard its session?`, 'Kick')) return;
          try {
            await api('DELETE', `/clients/${enc(id)}`);
            notice('ok', `Kicked ${id}.`);
            navigate('/dashboard/clients');
          } catch (e) { notice('error', errorText(e)); }
        },
      }, 'Kick'));
    }
    subsSection.hidden = false;
    queue.el.hidden = inflight.el.hidden = false;
    await Promise.all([loadSubs(), queue.load(), inflight.load()]);
  };

  if (admin) {
    const topic = h('input', { name: 'topic', required: true, placeholder: 'devices/+/cmd', spellcheck: 'false' });
    const form = h('form', { class: 'inline', id: 'subscribe' },
      field('Topic filter', topic),
      field('QoS', select('qos', [['0', '0'], ['1', '1'], ['2', '2']], '0')),
      field('No local', select('nl', [['0', '0'], ['1', '1']], '0')),
      field('Retain as published', select('rap', [['0', '0'], ['1', '1']], '0')),
      field('Retain handling', select('rh', [['0', '0'], ['1', '1'], ['2', '2']], '0')),
      h('button', { type: 'submit', class: 'primary', 'data-action': 'subscribe' }, 'Subscribe'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const body = { topic: fd.get('topic'), qos: +fd.get('qos'), nl: +fd.get('nl'), rap: +fd.get('rap'), rh: +fd.get('rh') };
      if (!await confirmDialog('Subscribe', `Subscribe ${id} to ${body.topic} at QoS ${body.qos}?`, 'Subscribe', false)) return;
      try {
        await api('POST', `/clients/${enc(id)}/subscribe`, { body });
        notice('ok', `Subscribed to ${body.topic}.`);
        topic.value = '';
        await load();
      } catch (ex) { notice('error', errorText(ex)); }
    });
    subsSection.append(form);
  }
  load().catch((e) => { if (!stopped) notice('error', errorText(e)); });
  return () => { stopped = true; };
}
