// The dashboard's single page: a router on location.pathname under
// /dashboard/, the header and navigation, and the login form.

import { h, clear, fill } from './dom.js';
import { session, loadSession, login, logout, onSessionEnded } from './api.js';
import { setNavigate, link, errorText } from './ui.js';
import * as overview from './overview.js';
import * as clients from './clients.js';
import * as client from './client.js';
import * as subscriptions from './subscriptions.js';
import * as banned from './banned.js';
import * as topics from './topics.js';
import * as retained from './retained.js';

const ROOT = '/dashboard/';

// routes: [path prefix, nav label or null, page]. A page's render(main,
// rest, query) returns a function that stops its timers, or nothing.
const routes = [
  ['clients/', null, client],
  ['clients', 'Clients', clients],
  ['subscriptions', 'Subscriptions', subscriptions],
  ['topics', 'Topics', topics],
  ['retained', 'Retained', retained],
  ['banned', 'Banned', banned],
  ['', 'Overview', overview],
];
const nav = [['', 'Overview'], ['clients', 'Clients'], ['subscriptions', 'Subscriptions'], ['topics', 'Topics'], ['retained', 'Retained'], ['banned', 'Banned']];

let stop = null;

function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  route();
}
setNavigate(navigate);
window.addEventListener('popstate', route);
onSessionEnded(() => { session.authenticated = false; navigate(ROOT + 'login?next=' + encodeURIComponent(location.pathname + location.search), true); });

function shell(active) {
  const app = document.getElementById('app');
  clear(app);
  const main = h('main', { id: 'main' });
  app.append(
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, 'shardmq'),
      h('nav', null, nav.map(([p, label]) => {
        const a = link(ROOT + p, label);
        if (p === active) a.setAttribute('aria-current', 'page');
        return a;
      }), h('a', { href: '/api-docs/', class: 'api-docs', title: 'The API explorer: every endpoint, sent with an API key' }, 'API')),
      h('span', { class: 'who' }, h('span', null, session.node, ' · ', session.user, ' (', h('span', { id: 'role' }, session.role), ')'),
        h('button', { type: 'button', class: 'secondary small', 'data-action': 'logout', onclick: async () => {
          // Whatever the answer (an ended session has nothing to end), the login form follows.
          try { await logout(); } catch { /* the session is gone either way */ }
          navigate(ROOT + 'login', true);
        } }, 'Log out'))),
    h('div', { id: 'notice' }),
    main);
  return main;
}

function renderLogin(query) {
  const app = document.getElementById('app');
  clear(app);
  const err = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'login card', id: 'login' },
    h('h1', null, 'shardmq'),
    h('p', { class: 'muted' }, 'Log in with a dashboard user, or an API key and its secret.'),
    h('label', { class: 'field' }, h('span', null, 'User or API key'), user),
    h('label', { class: 'field' }, h('span', null, 'Password or secret'), pass),
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
    err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      await login(user.value, pass.value);
      const next = query.get('next');
      navigate(next && next.startsWith(ROOT) && !next.startsWith(ROOT + 'login') ? next : ROOT, true);
    } catch (ex) {
      err.textContent = errorText(ex);
    }
  });
  app.append(form);
  user.focus();
}

async function route() {
  if (stop) { stop(); stop = null; }
  const path = location.pathname.startsWith(ROOT) ? location.pathname.slice(ROOT.length) : '';
  const query = new URLSearchParams(location.search);
  if (path === 'login') {
    if (session.authenticated) { navigate(ROOT, true); return; }
    renderLogin(query);
    return;
  }
  if (!session.authenticated) {
    navigate(ROOT + 'login?next=' + encodeURIComponent(location.pathname + location.search), true);
    return;
  }
  for (const [prefix, , page] of routes) {
    const match = prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix;
    if (!match) continue;
    const active = prefix.replace(/\/$/, '');
    const main = shell(nav.some(([p]) => p === active) ? active : '');
    try {
      stop = page.render(main, path.slice(prefix.length), query) || null;
    } catch (e) {
      main.append(h('p', { class: 'error' }, errorText(e)));
    }
    return;
  }
  const main = shell('');
  main.append(h('h2', null, 'Not found'), h('p', null, 'No page here. '), link(ROOT, 'Overview'));
}

loadSession().then(route, (e) => {
  fill(document.getElementById('app'), h('p', { class: 'error' }, 'The dashboard cannot reach the broker: ' + errorText(e)));
});
