// Calls to the management API and the dashboard's login, with the session
// cookie (sent by the browser, HttpOnly) and the session's CSRF token.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = { authenticated: false, user: '', role: '', csrf: '', base: '/api/v5', node: '' };

// onSessionEnded is called when the API says the session is over.
let onEnded = () => {};
export function onSessionEnded(fn) { onEnded = fn; }

function adopt(s) {
  session.authenticated = !!s.authenticated;
  session.user = s.user || '';
  session.role = s.role || '';
  session.csrf = s.csrf_token || '';
  session.base = s.api_base || '/api/v5';
  session.node = s.node || '';
}

async function send(method, url, body) {
  const headers = { 'Accept': 'application/json' };
  // Sent on every call, reads too: it marks the dashboard's requests, so
  // that an ended session is answered without a browser login prompt.
  headers['X-CSRF-Token'] = session.csrf || '-';
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 204) return null;
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  if (ct.startsWith('application/json')) data = await res.json();
  if (!res.ok) {
    const code = (data && data.code) || 'HTTP_' + res.status;
    const msg = (data && data.message) || res.statusText;
    if (res.status === 401 && code === 'TOKEN_TIME_OUT') onEnded();
    throw new APIError(res.status, code, msg);
  }
  return data;
}

// qs builds a query string from [key, value] pairs (repeated keys allowed).
export function qs(pairs) {
  const p = new URLSearchParams();
  for (const [k, v] of pairs) p.append(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

// api calls the management API: api('GET', '/clients', {query: [[k, v]]}).
export function api(method, path, opts = {}) {
  return send(method, session.base + path + qs(opts.query || []), opts.body);
}

// enc percent-encodes one path segment (a client id may hold '/').
export const enc = (s) => encodeURIComponent(s);

export async function loadSession() {
  adopt(await send('GET', '/dashboard/api/session'));
  return session;
}

export async function login(username, password) {
  adopt(await send('POST', '/dashboard/api/login', { username, password }));
  return session;
}

export async function logout() {
  try { await send('POST', '/dashboard/api/logout', {}); } finally { adopt({}); }
}
