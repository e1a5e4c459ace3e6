// Calls of the REST API. Every change carries the session's CSRF token; errors become
// exceptions with the server's message (and its diagnostics, when a change was refused).
let csrf = '';

export function setCsrf(token) { csrf = token || ''; }

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `request failed (${status})`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') options.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const res = await fetch(path, options);
  let data = {};
  try { data = await res.json(); } catch { data = {}; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
