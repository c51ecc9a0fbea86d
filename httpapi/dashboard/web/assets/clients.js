// Clients: every filter of GET /clients as a control, the exact total,
// pages of 20 to 500, sortable columns; the filters live in the URL
// (/dashboard/clients?like_clientid=dev&proto_ver=5&_page=2), so a view
// can be bookmarked, shared and reloaded.

import { h, fill } from './dom.js';
import { api, enc } from './api.js';
import { num, time } from './fmt.js';
import { navigate, link, pager, errorText, field, select } from './ui.js';

export const COUNTERS = ['subscriptions_cnt', 'subscriptions_max', 'inflight_cnt', 'inflight_max', 'mqueue_len', 'mqueue_max',
  'mqueue_dropped', 'awaiting_rel_cnt', 'awaiting_rel_max', 'recv_oct', 'recv_cnt', 'recv_pkt', 'recv_msg', 'recv_msg.qos0',
  'recv_msg.qos1', 'recv_msg.qos2', 'recv_msg.dropped', 'recv_msg.dropped.await_pubrel_timeout', 'send_oct', 'send_cnt',
  'send_pkt', 'send_msg', 'send_msg.qos0', 'send_msg.qos1', 'send_msg.qos2', 'send_msg.dropped', 'send_msg.dropped.expired',
  'send_msg.dropped.queue_full', 'send_msg.dropped.too_large', 'mailbox_len', 'heap_size', 'reductions'];

const LIMITS = ['20', '50', '100', '200', '500'];
const DEFAULT_LIMIT = '50';

// Text filters: [parameter, label, placeholder].
const TEXT = [
  ['like_clientid', 'Client ID contains', 'sensor-'],
  ['clientid', 'Client ID (exact)', ''],
  ['like_username', 'User name contains', ''],
  ['username', 'User name (exact)', ''],
  ['ip_address', 'IP address', '10.0.0.7'],
  ['zone', 'Zone', 'default'],
  ['listener', 'Listener', 'tcp:default'],
  ['peersni', 'TLS SNI', ''],
  ['cn', 'Certificate CN', ''],
];
// Choice filters: [parameter, label, [[value, text]]].
const CHOICE = [
  ['conn_state', 'State', [['', 'any'], ['connected', 'connected'], ['idle', 'idle'], ['disconnected', 'disconnected']]],
  ['proto_ver', 'Protocol version', [['', 'any'], ['5', '5 (MQTT 5.0)'], ['4', '4 (MQTT 3.1.1)'], ['3', '3 (MQTT 3.1)'], ['1', '1 (MQTT-SN, CoAP)']]],
  ['proto_name', 'Protocol', [['', 'any'], ['MQTT', 'MQTT'], ['MQIsdp', 'MQIsdp'], ['MQTT-SN', 'MQTT-SN'], ['CoAP', 'CoAP']]],
  ['clean_start', 'Clean start', [['', 'any'], ['true', 'true'], ['false', 'false']]],
];
// Time ranges (RFC 3339 in the URL, the browser's local time in the form).
const TIMES = [
  ['gte_connected_at', 'Connected from'], ['lte_connected_at', 'Connected until'],
  ['gte_created_at', 'Created from'], ['lte_created_at', 'Created until'],
];

// Columns: [key, header, sortable, render(row)].
const COLUMNS = [
  ['clientid', 'Client ID', true, (r) => { const a = link('/dashboard/clients/' + enc(r.clientid), r.clientid); a.title = r.clientid; return a; }],
  ['username', 'User name', true, (r) => r.username ?? '—'],
  ['connected', 'State', false, (r) => h('span', { class: 'badge ' + (r.connected ? 'ok' : 'off') }, r.connected ? 'connected' : 'disconnected')],
  ['proto_ver', 'Protocol', false, (r) => protocol(r.proto_name, r.proto_ver)],
  ['ip_address', 'Address', false, (r) => (r.ip_address ? `${r.ip_address.includes(':') ? '[' + r.ip_address + ']' : r.ip_address}:${r.port}` : '—')],
  ['listener', 'Listener', false, (r) => r.listener],
  ['connected_at', 'Connected at', true, (r) => time(r.connected_at)],
  ['created_at', 'Created at', true, (r) => time(r.created_at)],
  ['subscriptions_cnt', 'Subs', true, (r) => num(r.subscriptions_cnt)],
  ['mqueue_len', 'Queue', true, (r) => num(r.mqueue_len)],
  ['inflight_cnt', 'In-flight', true, (r) => num(r.inflight_cnt)],
  ['recv_msg', 'Msgs in', true, (r) => num(r.recv_msg)],
  ['send_msg', 'Msgs out', true, (r) => num(r.send_msg)],
  ['send_msg.dropped', 'Dropped', true, (r) => num(r['send_msg.dropped'])],
];
const FIELDS = ['clientid', 'username', 'connected', 'proto_name', 'proto_ver', 'ip_address', 'port', 'listener', 'connected_at',
  'created_at', 'subscriptions_cnt', 'mqueue_len', 'inflight_cnt', 'recv_msg', 'send_msg', 'send_msg.dropped'].join(',');
const NUMERIC = new Set(COUNTERS);

// protocol names a protocol and version as operators say it.
function protocol(name, ver) {
  if (name === 'MQTT' || name === 'MQIsdp') return { 5: 'MQTT 5.0', 4: 'MQTT 3.1.1', 3: 'MQTT 3.1' }[ver] || `${name} ${ver}`;
  return `${name} ${ver}`;
}

// cursors remembers, per filter, the cursor that leads to each page: going
// forward continues exactly after the last row seen, however clients come
// and go meanwhile.
const cursors = new Map();

function toLocalInput(rfc) {
  const d = new Date(rfc);
  if (isNaN(d)) return '';
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// filterKey identifies the filter and order of a query (not its page).
function filterKey(q) {
  const p = new URLSearchParams(q);
  p.delete('_page');
  p.sort();
  return p.toString();
}

export function render(main, _rest, query) {
  const page = Math.max(1, parseInt(query.get('_page') || '1', 10) || 1);
  const limit = LIMITS.includes(query.get('_limit')) ? query.get('_limit') : DEFAULT_LIMIT;
  const orderBy = query.get('order_by') || 'clientid';
  const order = query.get('order') === 'desc' ? 'desc' : 'asc';

  // The form: the common filters, then the rest under "More filters",
  // open when one of them is set.
  const form = h('form', { class: 'filters card', id: 'client-filters' });
  const more = h('div', { class: 'filters-more' });
  const control = ([k]) => ['like_clientid', 'clientid', 'like_username', 'username', 'ip_address', 'conn_state', 'proto_ver'].includes(k) ? form : more;
  for (const t of TEXT) control(t).append(field(t[1], h('input', { name: t[0], value: query.get(t[0]) || '', placeholder: t[2], spellcheck: 'false' })));
  for (const c of CHOICE) control(c).append(field(c[1], select(c[0], c[2], query.get(c[0]) || '')));
  for (const [k, label] of TIMES) more.append(field(label, h('input', { name: k, type: 'datetime-local', step: '1', value: query.get(k) ? toLocalInput(query.get(k)) : '' })));
  // One counter range: gte_<counter> / lte_<counter>.
  let counter = '', gte = '', lte = '';
  for (const [k, v] of query) {
    const m = /^(gte|lte)_(.+)$/.exec(k);
    if (m && NUMERIC.has(m[2])) { counter = m[2]; if (m[1] === 'gte') gte = v; else lte = v; }
  }
  more.append(
    field('Counter', select('counter', [['', '—'], ...COUNTERS.map((c) => [c, c])], counter)),
    field('at least', h('input', { name: 'counter_gte', type: 'number', min: '0', value: gte })),
    field('at most', h('input', { name: 'counter_lte', type: 'number', min: '0', value: lte })));
  const moreSet = [...query.keys()].some((k) => more.querySelector(`[name="${CSS.escape(k)}"]`) || /^(gte|lte)_/.test(k) && NUMERIC.has(k.slice(4)));
  form.append(
    field('Page size', select('_limit', LIMITS.map((l) => [l, l]), limit)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', 'data-action': 'search' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', 'data-action': 'reset', onclick: () => navigate('/dashboard/clients') }, 'Reset')),
    h('details', { class: 'more', open: moreSet }, h('summary', null, 'More filters: protocol, zone, listener, TLS, times, counters'), more));

  const apply = () => {
    const fd = new FormData(form);
    const q = new URLSearchParams();
    for (const [k] of TEXT) { const v = fd.get(k).trim(); if (v) q.set(k, v); }
    for (const [k] of CHOICE) { const v = fd.get(k); if (v) q.set(k, v); }
    for (const [k] of TIMES) { const v = fd.get(k); if (v) q.set(k, new Date(v).toISOString()); }
    const c = fd.get('counter');
    if (c) {
      if (fd.get('counter_gte') !== '') q.set('gte_' + c, fd.get('counter_gte'));
      if (fd.get('counter_lte') !== '') q.set('lte_' + c, fd.get('counter_lte'));
    }
    if (fd.get('_limit') !== DEFAULT_LIMIT) q.set('_limit', fd.get('_limit'));
    if (orderBy !== 'clientid') q.set('order_by', orderBy);
    if (order !== 'asc') q.set('order', order);
    navigate('/dashboard/clients' + (q.toString() ? '?' + q : ''));
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  form.addEventListener('change', (e) => { if (e.target.tagName === 'SELECT' && e.target.name !== 'counter') apply(); });

  // The table.
  const goSort = (key) => {
    const q = new URLSearchParams(query);
    q.delete('_page');
    const dir = orderBy === key && order === 'asc' ? 'desc' : 'asc';
    if (key === 'clientid') q.delete('order_by'); else q.set('order_by', key);
    if (dir === 'asc') q.delete('order'); else q.set('order', dir);
    navigate('/dashboard/clients?' + q);
  };
  const head = h('tr', null, COLUMNS.map(([key, label, sortable]) => {
    if (!sortable) return h('th', { scope: 'col' }, label);
    const sorted = orderBy === key;
    return h('th', { scope: 'col', 'aria-sort': sorted ? (order === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', { type: 'button', class: 'sort', 'data-sort': key, onclick: () => goSort(key) }, label, sorted ? (order === 'asc' ? ' ▲' : ' ▼') : ''));
  }));
  const body = h('tbody');
  // Fixed column widths: the browser lays out up to 500 rows without
  // measuring every cell first; a long value is cut with an ellipsis (a
  // client id shows whole in its title and on its page).
  const cols = h('colgroup', null, COLUMNS.map(([k]) => h('col', { class: 'w-' + k.replaceAll('.', '-') })));
  const table = h('table', { class: 'grid clients', id: 'clients' }, cols, h('thead', null, head), body);
  const total = h('span', { id: 'total' }, '…');
  const timing = h('span', { class: 'muted', id: 'timing' });
  let paging = h('div');
  main.append(h('h2', null, 'Clients ', h('span', { class: 'count' }, total, ' matching')), form,
    h('div', { class: 'table-wrap card' }, table), h('div', { class: 'table-foot' }, paging, timing));

  // The request.
  const params = [['fields', FIELDS], ['_limit', limit], ['_page', String(page)]];
  for (const [k, v] of query) if (k !== '_page' && k !== '_limit') params.push([k, v]);
  const key = filterKey(query) + '&_limit=' + limit;
  const cur = cursors.get(key);
  if (page > 1 && cur && cur.has(page)) params.push(['cursor', cur.get(page)]);
  let stopped = false;
  const t0 = performance.now();
  table.setAttribute('aria-busy', 'true');
  // Rows are clones of one empty row (cells with their classes): the
  // cheapest way to build up to 500 rows of 14 cells.
  const rowTemplate = h('tr', null, COLUMNS.map(([k]) => h('td', NUMERIC.has(k) ? { class: 'num' } : null)));
  // One listener for every row: a click anywhere on a row opens the client.
  body.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-clientid]');
    if (tr && e.target.tagName !== 'A') navigate('/dashboard/clients/' + enc(tr.dataset.clientid));
  });
  api('GET', '/clients', { query: params }).then((res) => {
    if (stopped) return;
    table.dataset.fetchMs = (performance.now() - t0).toFixed(1);
    // Text through textContent, as everywhere.
    const frag = document.createDocumentFragment();
    for (const r of res.data) {
      const tr = rowTemplate.cloneNode(true);
      tr.dataset.clientid = r.clientid;
      let td = tr.firstChild;
      for (const [, , , f] of COLUMNS) {
        const v = f(r);
        if (v instanceof Node) td.append(v); else td.textContent = v;
        td = td.nextSibling;
      }
      frag.append(tr);
    }
    body.replaceChildren(frag);
    if (res.data.length === 0) body.append(h('tr', null, h('td', { colspan: COLUMNS.length, class: 'empty' }, 'No client matches.')));
    total.textContent = num(res.meta.count);
    if (res.meta.cursor) {
      if (!cursors.has(key)) cursors.set(key, new Map());
      cursors.get(key).set(page + 1, res.meta.cursor);
    }
    paging.replaceWith(paging = pager(page, Number(limit), res.meta.count, res.meta.hasnext, (p) => {
      const q = new URLSearchParams(query);
      if (p > 1) q.set('_page', String(p)); else q.delete('_page');
      navigate('/dashboard/clients?' + q);
    }));
    // Drawn: measured after the next frame, once layout and paint ran.
    requestAnimationFrame(() => {
      const ms = performance.now() - t0;
      table.dataset.renderMs = ms.toFixed(1);
      table.removeAttribute('aria-busy');
      timing.textContent = `${num(res.data.length)} rows in ${ms.toFixed(0)} ms`;
    });
  }, (e) => {
    if (stopped) return;
    fill(body, h('tr', null, h('td', { colspan: COLUMNS.length, class: 'error' }, errorText(e))));
    total.textContent = '—';
    table.removeAttribute('aria-busy');
  });
  return () => { stopped = true; };
}
