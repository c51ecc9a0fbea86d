// Banned: the ban list (by client id, user name, address, their regular
// expressions and networks), a form to ban, and lifting bans, each
// confirmed. An administrator's ban also kicks the clients it names.

import { h, fill } from './dom.js';
import { api, enc, session } from './api.js';
import { num, time } from './fmt.js';
import { navigate, pager, confirmDialog, notice, errorText, field, select } from './ui.js';

const KINDS = [['clientid', 'client id'], ['username', 'user name'], ['peerhost', 'address'],
  ['clientid_re', 'client id expression'], ['username_re', 'user name expression'], ['peerhost_net', 'network (CIDR)']];
const FILTERS = [['like_clientid', 'Client id contains'], ['like_username', 'User name contains'], ['like_peerhost', 'Address contains'],
  ['like_peerhost_net', 'Network contains'], ['clientid', 'Client id is'], ['username', 'User name is'], ['peerhost', 'Address is']];
const LIMITS = ['20', '50', '100', '200', '500'];

export function render(main, _rest, query) {
  const admin = session.role === 'administrator';
  const page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  const limit = LIMITS.includes(query.get('limit')) ? query.get('limit') : '50';
  // GET /banned takes at most one filter.
  let fkey = '', fval = '';
  for (const [k] of FILTERS) if (query.has(k)) { fkey = k; fval = query.get(k); }

  const filterForm = h('form', { class: 'filters card', id: 'ban-filters' },
    field('Filter', select('filter', [['', '—'], ...FILTERS], fkey)),
    field('Value', h('input', { name: 'value', value: fval, spellcheck: 'false' })),
    field('Page size', select('limit', LIMITS.map((l) => [l, l]), limit)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate('/dashboard/banned') }, 'Reset')));
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(filterForm);
    const q = new URLSearchParams();
    if (fd.get('filter') && fd.get('value') !== '') q.set(fd.get('filter'), fd.get('value'));
    if (fd.get('limit') !== '50') q.set('limit', fd.get('limit'));
    navigate('/dashboard/banned' + (q.toString() ? '?' + q : ''));
  });

  const body = h('tbody');
  const total = h('span', { id: 'ban-total' }, '…');
  let paging = h('div');
  main.append(h('h2', null, 'Banned ', h('span', { class: 'count' }, total, ' in the list')));
  if (admin) main.append(banForm());
  main.append(filterForm,
    h('div', { class: 'table-wrap card' }, h('table', { class: 'grid', id: 'banned' },
      h('thead', null, h('tr', null, ['As', 'Who', 'Reason', 'By', 'Since', 'Until', ''].map((c) => h('th', null, c)))), body)),
    h('div', { class: 'table-foot' }, paging,
      admin ? h('button', { type: 'button', class: 'danger', 'data-action': 'lift-all', onclick: liftAll }, 'Lift every ban') : null));

  const params = [['page', String(page)], ['limit', limit]];
  if (fkey) params.push([fkey, fval]);
  let stopped = false;
  api('GET', '/banned', { query: params }).then((res) => {
    if (stopped) return;
    fill(body, res.data.length === 0 ? h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No ban.')) :
      res.data.map((b) => h('tr', { dataset: { as: b.as, who: b.who } },
        h('td', null, b.as), h('td', { class: 'topic' }, b.who), h('td', null, b.reason), h('td', null, b.by),
        h('td', null, time(b.at)), h('td', null, b.until === 'infinity' ? 'never' : time(b.until)),
        h('td', null, admin ? h('button', { type: 'button', class: 'secondary small', 'data-action': 'lift', onclick: () => lift(b) }, 'Lift') : null))));
    total.textContent = num(res.meta.count);
    paging.replaceWith(paging = pager(page, Number(limit), res.meta.count, res.meta.hasnext, (p) => {
      const q = new URLSearchParams(query);
      if (p > 1) q.set('page', String(p)); else q.delete('page');
      navigate('/dashboard/banned?' + q);
    }));
  }, (e) => {
    if (!stopped) { fill(body, h('tr', null, h('td', { colspan: 7, class: 'error' }, errorText(e)))); total.textContent = '—'; }
  });

  async function lift(b) {
    if (!await confirmDialog('Lift ban', `Lift the ban of ${b.as} ${b.who}?`, 'Lift')) return;
    try {
      await api('DELETE', `/banned/${enc(b.as)}/${enc(b.who)}`);
      notice('ok', `Lifted the ban of ${b.as} ${b.who}.`);
      navigate(location.pathname + location.search);
    } catch (e) { notice('error', errorText(e)); }
  }
  async function liftAll() {
    if (!await confirmDialog('Lift every ban', 'Lift every ban? Every banned client may connect again.', 'Lift all')) return;
    try {
      await api('DELETE', '/banned');
      notice('ok', 'Every ban is lifted.');
      navigate('/dashboard/banned');
    } catch (e) { notice('error', errorText(e)); }
  }
  return () => { stopped = true; };
}

function banForm() {
  const form = h('form', { class: 'inline card', id: 'ban' },
    field('Ban by', select('as', KINDS, 'clientid')),
    field('Who', h('input', { name: 'who', required: true, spellcheck: 'false' })),
    field('Reason', h('input', { name: 'reason', maxlength: '1024' })),
    field('Until (empty: never)', h('input', { name: 'until', type: 'datetime-local', step: '1' })),
    h('button', { type: 'submit', class: 'danger', 'data-action': 'ban' }, 'Ban'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const ban = { as: fd.get('as'), who: fd.get('who') };
    if (fd.get('reason')) ban.reason = fd.get('reason');
    if (fd.get('until')) ban.until = new Date(fd.get('until')).toISOString();
    const kind = KINDS.find(([k]) => k === ban.as)[1];
    if (!await confirmDialog('Ban', `Ban ${kind} ${ban.who}? Connected clients it names are kicked, and their connects refused.`, 'Ban')) return;
    try {
      await api('POST', '/banned', { body: ban });
      notice('ok', `Banned ${kind} ${ban.who}.`);
      navigate('/dashboard/banned');
    } catch (ex) { notice('error', errorText(ex)); }
  });
  return form;
}
