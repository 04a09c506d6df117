// The console's calls to the broker's JSON API (/api/v1, same origin). Errors carry Kafka's error
// name from the API's answer.
const BASE = new URL('api/v1/', document.baseURI).pathname;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.errorCode ?? null;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(BASE + path.replace(/^\//, ''), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { error: text };
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export const enc = encodeURIComponent;

export function streamUrl(path) {
  return BASE + path.replace(/^\//, '');
}

/** base64 → bytes */
export function bytesOf(b64) {
  if (b64 === null || b64 === undefined) return null;
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Shows bytes as text, pretty JSON (falling back to text) or hex. */
export function show(b64, format) {
  const bytes = bytesOf(b64);
  if (bytes === null) return '∅ (null)';
  if (format === 'hex') return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (format === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export const fmtNum = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
export const fmtTime = (ms) => (ms === null || ms === undefined || ms < 0 ? '–' : new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC'));
