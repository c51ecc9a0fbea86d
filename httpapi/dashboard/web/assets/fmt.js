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

// PAYLOAD_CAP bounds how many bytes of a payload are shown.
export const PAYLOAD_CAP = 4096;

// decodeBase64 returns the bytes of a base64 string.
export function decodeBase64(s) {
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}

// payload shows bytes as text when they are UTF-8 without control
// characters (other than tab and line breaks), else as hex; at most
// PAYLOAD_CAP bytes. It returns {mode, text, truncated, size}.
export function payload(b, mode = 'auto') {
  const size = b.length;
  const shown = b.subarray(0, PAYLOAD_CAP);
  let asText = null;
  try {
    asText = new TextDecoder('utf-8', { fatal: true }).decode(shown);
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(asText)) asText = null;
  } catch { asText = null; }
  if (mode === 'text' && asText === null) mode = 'hex';
  if (mode === 'auto') mode = asText === null ? 'hex' : 'text';
  let out = asText;
  if (mode === 'hex') {
    const parts = [];
    for (let i = 0; i < shown.length; i += 16) {
      const row = Array.from(shown.subarray(i, i + 16), (x) => x.toString(16).padStart(2, '0')).join(' ');
      parts.push(i.toString(16).padStart(6, '0') + '  ' + row);
    }
    out = parts.join('\n');
  }
  return { mode, text: out, truncated: size > PAYLOAD_CAP, size };
}
