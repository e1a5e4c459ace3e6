// The web UI: hash routes, one render function per page, live updates from /api/events.
import { api, setCsrf, ApiError } from './api.js';
import { pages } from './pages.js';
import { setTimeZone, timeZoneText } from './format.js';

const $ = (sel) => document.querySelector(sel);
let events = null;

export function notify(text, kind = 'ok') {
  const box = $('#notice');
  box.innerHTML = '';
  if (!text) return;
  const p = document.createElement('p');
  p.className = kind;
  p.textContent = text;
  box.append(p);
}

export function showError(e) {
  let text = e.message;
  if (e instanceof ApiError && Array.isArray(e.body.diagnostics)) {
    // The message often quotes the diagnostics already: only the others are added.
    const more = e.body.diagnostics.filter((d) => !text.includes(d));
    if (more.length) text += '\n' + more.join('\n');
  }
  if (e instanceof ApiError && e.status === 401) return showLogin();
  notify(text, 'error');
}

// A change; when it would cut off this browser's address, ask and send it again (forced).
export async function change(method, path, body) {
  try {
    const r = await api(method, path, body);
    // Every change goes through the daemon's safe mode when it is on: it says so with what it did.
    const done = r.change ? `Done: ${r.change}.` : 'Done.';
    notify(r.safe_mode
      ? `${done} Safe mode: confirm it within ${r.safe_mode.confirm_within_seconds} s or it is rolled back.`
      : done);
    return r;
  } catch (e) {
    if (e instanceof ApiError && e.status === 409 && e.body.lockout) {
      if (window.confirm(`${e.message}\n\nApply it anyway, in safe mode?`)) {
        return change(method, path, { ...(body || {}), confirm_lockout: true });
      }
      notify('Not changed.');
      return null;
    }
    showError(e);
    return null;
  }
}

async function showLogin() {
  $('#nav').hidden = true;
  $('#footer').hidden = true;
  $('#page').innerHTML = '';
  $('#login').hidden = false;
  try {
    const s = await api('GET', '/api/session');
    $('#no-password').hidden = s.password_set;
  } catch { /* the form still works */ }
  $('#password').focus();
}

async function route() {
  const name = (location.hash || '#home').slice(1);
  const page = pages[name] || pages.home;
  document.querySelectorAll('nav a').forEach((a) => {
    if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  const root = $('#page');
  root.dataset.page = pages[name] ? (name || 'home') : 'home';
  try {
    await page(root);
    document.title = `pbxwall: ${root.querySelector('h2')?.textContent || ''}`;
  } catch (e) { showError(e); }
}

// Decisions come in bursts (an attack is many): one refresh at a time, and one more after it
// when decisions came meanwhile.
let refreshing = null;
let owed = false;
function refreshSoon() {
  if (refreshing) { owed = true; return; }
  // The page is rendered again under the user's hands: pages.js's show() keeps the focused
  // control and what was typed, so keyboard and screen-reader users keep their place.
  refreshing = route().catch(showError).finally(() => {
    refreshing = null;
    if (owed) { owed = false; refreshSoon(); }
  });
}

function follow() {
  if (events) return;
  events = new EventSource('/api/events');
  events.addEventListener('decision', () => {
    const name = (location.hash || '#home').slice(1);
    if (['home', 'responsive', ''].includes(name)) refreshSoon();
  });
}

async function start() {
  const s = await api('GET', '/api/session');
  if (!s.authenticated) return showLogin();
  setCsrf(s.csrf);
  $('#login').hidden = true;
  $('#nav').hidden = false;
  // Every time on every page is on the server's clock, named once under the page.
  try {
    setTimeZone((await api('GET', '/api/overview')).time_zone);
  } catch { /* times stay in UTC */ }
  $('#time-zone').textContent = `Times are shown in the server's time zone, ${timeZoneText()}.`;
  $('#footer').hidden = false;
  follow();
  await route();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const r = await api('POST', '/api/login', { password: $('#password').value });
    $('#password').value = '';
    setCsrf(r.csrf);
    notify('');
    await start();
  } catch (e) {
    notify(e.message, 'error');
  }
});
$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/api/logout'); } catch { /* gone anyway */ }
  if (events) { events.close(); events = null; }
  showLogin();
});
// The skip link moves the focus without changing the hash (the hash names the page).
document.querySelector('.skip').addEventListener('click', (ev) => { ev.preventDefault(); $('#main').focus(); });
window.addEventListener('hashchange', () => { notify(''); route().then(() => $('#main').focus()); });
start().catch(showError);
