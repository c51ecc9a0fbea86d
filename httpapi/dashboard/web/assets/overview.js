// Overview: the nodes, the broker's counts and live charts of message
// rates in and out, drops and connections, from GET /monitor_current
// every 2 s (its rates are per second over the broker's last stats
// interval), and GET /nodes.

import { h, fill } from './dom.js';
import { api } from './api.js';
import { LineChart } from './chart.js';
import { num, bytes } from './fmt.js';
import { errorText, notice } from './ui.js';

const PERIOD = 2000;

const TILES = [
  ['connections', 'Connections'],
  ['live_connections', 'Live connections'],
  ['sessions', 'Sessions'],
  ['subscriptions', 'Subscriptions'],
  ['shared_subscriptions', 'Shared subscriptions'],
  ['topics', 'Topics'],
  ['retained_msg_count', 'Retained messages'],
];

// duration shows milliseconds as days, hours and minutes.
function duration(ms) {
  const m = Math.floor(ms / 60000), d = Math.floor(m / 1440), hh = Math.floor((m % 1440) / 60);
  return d > 0 ? `${d} d ${hh} h` : hh > 0 ? `${hh} h ${m % 60} min` : `${m} min`;
}

export function render(main) {
  const nodes = h('tbody');
  const tiles = h('div', { class: 'tiles' });
  const rates = new LineChart('Messages per second', [{ name: 'in' }, { name: 'out' }], 'msg/s');
  const drops = new LineChart('Dropped per second', [{ name: 'dropped' }, { name: 'queue full' }], 'msg/s');
  const conns = new LineChart('Connections', [{ name: 'live' }, { name: 'sessions' }], '');
  main.append(
    h('h2', null, 'Overview'),
    tiles,
    h('div', { class: 'charts' }, rates.el, drops.el, conns.el),
    h('section', { class: 'card' }, h('h3', null, 'Nodes'),
      h('table', { class: 'grid', id: 'nodes' },
        h('thead', null, h('tr', null, ['Node', 'Status', 'Version', 'Uptime', 'Connections', 'Live', 'Memory', 'Load'].map((c) => h('th', null, c)))),
        nodes)));

  let timer = null;
  let stopped = false;
  let tickNo = 0;
  const tick = async () => {
    try {
      // The nodes change slowly: every fifth sample.
      const [cur, ns] = await Promise.all([api('GET', '/monitor_current'), tickNo++ % 5 === 0 ? api('GET', '/nodes') : null]);
      if (stopped) return;
      fill(tiles, TILES.map(([k, label]) =>
        h('div', { class: 'tile card', dataset: { stat: k } }, h('div', { class: 'tile-value' }, num(cur[k] ?? 0)), h('div', { class: 'tile-label' }, label))));
      if (ns) {
        fill(nodes, ns.map((n) => h('tr', { dataset: { node: n.node } },
          h('td', null, n.node), h('td', null, n.node_status), h('td', null, n.version), h('td', null, duration(n.uptime)),
          h('td', { class: 'num' }, num(n.connections)), h('td', { class: 'num' }, num(n.live_connections)),
          h('td', { class: 'num' }, bytes(n.memory_used)), h('td', { class: 'num' }, [n.load1, n.load5, n.load15].map((l) => l.toFixed(2)).join(' ')))));
      }
      const now = Date.now();
      rates.push(now, [cur.received_msg_rate, cur.sent_msg_rate]);
      drops.push(now, [cur.dropped_msg_rate, cur.mqueue_dropped_rate]);
      conns.push(now, [cur.live_connections, cur.sessions]);
    } catch (e) {
      if (!stopped) notice('error', 'Overview: ' + errorText(e));
    }
    if (!stopped) timer = setTimeout(tick, PERIOD);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
