// Overview: the node(s), the broker's counts and live charts of message
// rates in and out, drops and connections, sampled every 2 s.

import { h, fill } from './dom.js';
import { api, metrics } from './api.js';
import { LineChart } from './chart.js';
import { num } from './fmt.js';
import { errorText, notice } from './ui.js';

const PERIOD = 2000;

const COUNTERS = ['shardmq_messages_received_total', 'shardmq_messages_sent_total', 'shardmq_messages_dropped_total'];

const TILES = [
  ['connections.count', 'Connections'],
  ['live_connections.count', 'Live connections'],
  ['sessions.count', 'Sessions'],
  ['subscriptions.count', 'Subscriptions'],
  ['subscriptions.shared.count', 'Shared subscriptions'],
  ['topics.count', 'Topics'],
  ['retained.count', 'Retained messages'],
];

export function render(main) {
  const nodes = h('tbody');
  const tiles = h('div', { class: 'tiles' });
  const rates = new LineChart('Messages per second', [{ name: 'in' }, { name: 'out' }], 'msg/s');
  const drops = new LineChart('Dropped per second', [{ name: 'dropped' }], 'msg/s');
  const conns = new LineChart('Connections', [{ name: 'live' }, { name: 'sessions' }], '');
  main.append(
    h('h2', null, 'Overview'),
    tiles,
    h('div', { class: 'charts' }, rates.el, drops.el, conns.el),
    h('section', { class: 'card' }, h('h3', null, 'Nodes'),
      h('table', { class: 'grid', id: 'nodes' },
        h('thead', null, h('tr', null, ['Node', 'Connections', 'Sessions', 'Subscriptions', 'Retained'].map((c) => h('th', null, c)))),
        nodes)));

  let prev = null;
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try {
      const [perNode, m] = await Promise.all([api('GET', '/stats'), metrics(COUNTERS)]);
      if (stopped) return;
      const agg = {};
      for (const s of perNode) for (const [k, v] of Object.entries(s)) if (typeof v === 'number') agg[k] = (agg[k] || 0) + v;
      fill(tiles, TILES.map(([k, label]) =>
        h('div', { class: 'tile card', dataset: { stat: k } }, h('div', { class: 'tile-value' }, num(agg[k] ?? 0)), h('div', { class: 'tile-label' }, label))));
      fill(nodes, perNode.map((s) => h('tr', null,
        h('td', null, s.node), h('td', { class: 'num' }, num(s['connections.count'])), h('td', { class: 'num' }, num(s['sessions.count'])),
        h('td', { class: 'num' }, num(s['subscriptions.count'])), h('td', { class: 'num' }, num(s['retained.count'])))));
      const now = Date.now();
      if (prev) {
        const dt = (now - prev.t) / 1000;
        const rate = (k) => Math.max(0, (m[k] - prev.m[k]) / dt);
        rates.push(now, [rate(COUNTERS[0]), rate(COUNTERS[1])]);
        drops.push(now, [rate(COUNTERS[2])]);
      }
      conns.push(now, [agg['live_connections.count'] || 0, agg['sessions.count'] || 0]);
      prev = { t: now, m };
    } catch (e) {
      if (!stopped) notice('error', 'Overview: ' + errorText(e));
    }
    if (!stopped) timer = setTimeout(tick, PERIOD);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
