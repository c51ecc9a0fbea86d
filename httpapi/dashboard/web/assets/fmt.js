// Formatting of values for display. Everything returns plain strings,
// rendered with textContent by the callers.

const nf = new Intl.NumberFormat('en-US');
export const num = (n) => (typeof n === 'number' ? nf.format(n) : String(n ?? '—'));

export function bytes(n) {
  if (typeof n !== 'number') return String(n ?? '—');
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

// time shows an RFC 3339 time in the browser's zone, to the second.
export function time(s) {
  if (!s) return '—';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// value shows any field of an API object.
export function value(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
