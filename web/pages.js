// One function per page: fetch what it shows, build it with plain DOM calls (text is always set
// as text, never as HTML, so names from the network cannot inject markup).
import { api } from './api.js';
import { change, notify } from './app.js';

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const when = (t) => (t ? new Date(t * 1000).toLocaleString() : '');
const ZONES = ['trusted', 'local', 'other', 'internet', 'reject'];

function table(caption, headers, rows) {
  if (rows.length === 0) return h('p', { class: 'muted' }, `${caption}: none.`);
  // Explicit roles and a label per cell: on a phone-width screen the rows are shown as stacked
  // cards (style.css), which would otherwise drop the table's meaning for screen readers.
  return h('div', { class: 'table-wrap' }, h('table', { role: 'table' },
    h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', { role: 'row' }, headers.map((x) => h('th', { scope: 'col', role: 'columnheader' }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', { role: 'row' },
      r.map((c, i) => h('td', { role: 'cell', 'data-label': headers[i] || '' }, c)))))));
}

function zoneSelect(id, value, withNone) {
  const s = h('select', { id });
  if (withNone) s.append(h('option', { value: '' }, '(no zone)'));
  for (const z of ZONES) s.append(h('option', { value: z, selected: z === value }, z));
  return s;
}

function rerender(root, page) { return () => page(root); }

async function home(root) {
  const o = await api('GET', '/api/overview');
  const history = await api('GET', '/api/history?limit=1000');
  const on = o.enabled;
  // Re-rendered after a switch, the button is a new element: focus goes back to it so a
  // keyboard user stays where they were.
  const sw = h('button', { type: 'button', class: 'switch', role: 'switch', 'aria-checked': String(on), id: 'power',
    onclick: async () => {
      if (await change('PUT', '/api/enabled', { enabled: !on })) {
        await home(root);
        root.querySelector('#power')?.focus();
      }
    } },
  on ? 'Firewall ON' : 'Firewall OFF');
  const latest = history.items.slice(-10).reverse();
  root.replaceChildren(
    h('h2', {}, 'Home'),
    h('div', { class: 'card' }, sw, h('p', { class: 'muted' }, on ? 'Protecting this PBX.' : 'Everything is accepted: the PBX is not protected.')),
    o.warnings.length ? h('section', { class: 'card', 'aria-labelledby': 'warn-title' },
      h('h3', { id: 'warn-title' }, 'Needs your attention'),
      o.warnings.map((w) => h('p', { class: 'warning' }, w.text))) : null,
    h('div', { class: 'counters', role: 'list' },
      [['Attacks blocked, last hour', o.blocked_last_hour], ['Attacks blocked, last day', o.blocked_last_day],
        ['Sources blocked now', o.blocked], ['Phones validated now', o.validated]]
        .map(([label, n]) => h('div', { class: 'counter', role: 'listitem' }, h('strong', {}, n), label))),
    h('section', { class: 'card', 'aria-labelledby': 'events-title' }, h('h3', { id: 'events-title' }, 'Latest events'),
      table('Latest events', ['Time', 'Event', 'Address', 'User', 'Why'],
        latest.map((e) => [when(e.t), e.action, e.addr, e.user, e.reason]))));
}

async function responsive(root) {
  const [blocked, validated, flagged] = await Promise.all(['blocked', 'validated', 'flagged'].map((w) => api('GET', `/api/responsive/${w}`)));
  const filter = h('input', { id: 'filter', type: 'search', value: root.dataset.filter || '',
    oninput: (e) => { root.dataset.filter = e.target.value; responsive(root).then(() => root.querySelector('#filter').focus()); } });
  const f = (root.dataset.filter || '').toLowerCase();
  const keep = (x) => !f || JSON.stringify(x).toLowerCase().includes(f);
  const unblock = (addr) => h('button', { type: 'button', 'aria-label': `Unblock ${addr}`,
    onclick: async () => { if (await change('POST', '/api/unblock', { addr })) responsive(root); } }, 'Unblock');
  const addr = h('input', { id: 'block-addr', placeholder: '203.0.113.5' });
  root.replaceChildren(
    h('h2', {}, 'Responsive firewall'),
    h('div', { class: 'card' }, h('label', { for: 'filter' }, 'Filter'), filter),
    h('section', { class: 'card' }, h('h3', {}, 'Blocked'),
      table('Blocked sources', ['Address', 'Rule', 'Reason', 'Until', ''],
        blocked.items.filter(keep).map((b) => [b.addr, b.rule, b.reason, when(b.until), unblock(b.addr)])),
      h('form', { class: 'row', onsubmit: async (e) => { e.preventDefault(); if (await change('POST', '/api/block', { addr: addr.value })) responsive(root); } },
        h('div', {}, h('label', { for: 'block-addr' }, 'Block an address'), addr), h('button', { type: 'submit' }, 'Block'))),
    h('section', { class: 'card' }, h('h3', {}, 'Validated'),
      table('Validated sources', ['Address', 'User', 'Until'], validated.items.filter(keep).map((v) => [v.addr, v.user, when(v.until)]))),
    h('section', { class: 'card' }, h('h3', {}, 'Flagged'),
      table('Flagged devices', ['Address', 'User', 'Reason', 'Count', 'Last seen'],
        flagged.items.filter(keep).map((x) => [x.addr, x.user, x.reason, x.count, when(x.last_seen)]))));
}

async function zones(root) {
  const c = await api('GET', '/api/config');
  const key = h('input', { id: 'net-key', placeholder: '198.51.100.0/24' });
  const zone = zoneSelect('net-zone', 'trusted');
  root.replaceChildren(
    h('h2', {}, 'Zones & networks'),
    h('section', { class: 'card' }, table('Zones', ['Zone', 'What it reaches'], c.zones.map((z) => [z.name, z.description]))),
    h('section', { class: 'card' }, h('h3', {}, 'Networks'),
      table('Networks', ['Network', 'Zone', ''], c.networks.map((n) => [n.key, n.zone,
        h('button', { type: 'button', 'aria-label': `Remove ${n.key}`, onclick: async () => {
          if (await change('DELETE', `/api/networks?key=${encodeURIComponent(n.key)}`)) zones(root); } }, 'Remove')])),
      h('form', { class: 'row', onsubmit: async (e) => { e.preventDefault();
        if (await change('PUT', '/api/networks', { key: key.value, zone: zone.value })) zones(root); } },
      h('div', {}, h('label', { for: 'net-key' }, 'Address, network or hostname'), key),
      h('div', {}, h('label', { for: 'net-zone' }, 'Zone'), zone), h('button', { type: 'submit' }, 'Save'))));
}

async function interfaces(root) {
  const c = await api('GET', '/api/config');
  const names = [...new Set([...c.system_interfaces, ...c.interfaces.map((i) => i.name)])].sort();
  const zoneOf = Object.fromEntries(c.interfaces.map((i) => [i.name, i.zone]));
  root.replaceChildren(h('h2', {}, 'Interfaces'), h('section', { class: 'card' },
    h('p', { class: 'muted' }, 'An interface without a zone counts as internet.'),
    table('Interfaces', ['Interface', 'Zone'], names.map((n) => {
      const s = zoneSelect(`if-${n}`, zoneOf[n], true);
      s.setAttribute('aria-label', `Zone of ${n}`);
      s.addEventListener('change', async () => {
        if (s.value) await change('PUT', `/api/interfaces/${encodeURIComponent(n)}`, { zone: s.value });
        else await change('DELETE', `/api/interfaces/${encodeURIComponent(n)}`);
        interfaces(root);
      });
      return [n, s];
    }))));
}

function zoneBoxes(prefix, chosen) {
  return h('fieldset', {}, h('legend', {}, 'Open to'), ZONES.filter((z) => z !== 'reject').map((z) =>
    h('label', { style: 'display:inline-block;margin-right:.8rem;font-weight:400' },
      h('input', { type: 'checkbox', name: `${prefix}-zone`, value: z, checked: chosen.includes(z) }), ` ${z}`)));
}
const checked = (el, prefix) => [...el.querySelectorAll(`input[name="${prefix}-zone"]:checked`)].map((i) => i.value);

async function services(root) {
  const c = await api('GET', '/api/config');
  const rows = c.services.map((s) => {
    const id = `svc-${s.name}`;
    const form = h('form', { class: 'row', 'aria-label': `Zones of ${s.name}`, onsubmit: async (e) => {
      e.preventDefault();
      const zs = checked(form, id);
      const ok = s.builtin ? await change('PUT', `/api/services/${s.name}`, { zones: zs })
        : await change('PUT', `/api/custom-services/${s.name}`, { zones: zs, ports: s.ports });
      if (ok) services(root);
    } }, zoneBoxes(id, s.zones), h('button', { type: 'submit' }, 'Save'));
    return [s.name + (s.builtin ? '' : ' (custom)'), s.description, s.ports.join(' '), form];
  });
  const name = h('input', { id: 'cs-name', placeholder: 'crm' });
  const ports = h('input', { id: 'cs-ports', placeholder: 'tcp/8443 udp/7000-7010' });
  const add = h('form', { onsubmit: async (e) => { e.preventDefault();
    if (await change('PUT', `/api/custom-services/${encodeURIComponent(name.value)}`,
      { ports: ports.value.split(/[\s,]+/).filter(Boolean), zones: checked(add, 'new') })) services(root); } },
  h('h3', {}, 'Add a custom service'), h('label', { for: 'cs-name' }, 'Name'), name,
  h('label', { for: 'cs-ports' }, 'Ports'), ports, zoneBoxes('new', ['local']), h('button', { type: 'submit' }, 'Add'));
  root.replaceChildren(h('h2', {}, 'Services'),
    h('section', { class: 'card' }, table('Services', ['Service', 'What it is', 'Ports', 'Zones'], rows)),
    h('section', { class: 'card' }, add));
}

async function extensions(root) {
  const users = await api('GET', '/api/users');
  const ext = h('input', { id: 'ext-name', placeholder: '301' });
  const from = h('input', { id: 'ext-from', placeholder: '198.51.100.0/24' });
  root.replaceChildren(h('h2', {}, 'Extensions'),
    h('section', { class: 'card' }, h('p', { class: 'muted' }, 'Where each extension may register from (empty: anywhere).'),
      table('Per-extension access', ['Extension', 'Allowed from', 'Services', ''], users.items.map((u) => [u.name, u.allow_from.join(', '),
        u.services.join(', '), h('button', { type: 'button', 'aria-label': `Remove rules of ${u.name}`, onclick: async () => {
          if (await change('DELETE', `/api/users/${encodeURIComponent(u.name)}`)) extensions(root); } }, 'Remove')])),
      h('form', { class: 'row', onsubmit: async (e) => { e.preventDefault();
        if (await change('PUT', `/api/users/${encodeURIComponent(ext.value)}`, { allow_from: from.value.split(/[\s,]+/).filter(Boolean) })) extensions(root); } },
      h('div', {}, h('label', { for: 'ext-name' }, 'Extension'), ext),
      h('div', {}, h('label', { for: 'ext-from' }, 'Allowed from'), from), h('button', { type: 'submit' }, 'Save'))));
}

async function settings(root) {
  const [c, pbx, rules] = await Promise.all([api('GET', '/api/config'), api('GET', '/api/pbx'), api('GET', '/api/ruleset')]);
  const d = pbx.discovery || {};
  root.replaceChildren(h('h2', {}, 'Settings'),
    h('section', { class: 'card' }, h('h3', {}, 'Safe mode'),
      h('p', {}, c.safe_mode ? `On: every change rolls back after ${c.safe_mode_seconds} s unless confirmed.` : 'Off.'),
      c.pending_change ? h('button', { type: 'button', class: 'primary', onclick: async () => {
        if (await change('POST', '/api/confirm')) settings(root); } }, `Confirm the change by ${c.pending_change.who}`) : null),
    h('section', { class: 'card' }, h('h3', {}, 'PBX found on this server'),
      pbx.found ? [
        table('Signalling ports', ['Port', 'Transport', 'From'], (d.signalling || []).map((p) => [p.port, p.l4 || p.transport || '', p.source || p.file || ''])),
        table('Trunks', ['Host', 'Kind'], (d.trunks || []).map((t) => [t.host || t.name || '', t.kind || '']))]
        : h('p', { class: 'muted' }, `No Asterisk configuration in ${pbx.root}.`)),
    h('section', { class: 'card' }, h('h3', {}, 'Ruleset'),
      h('p', { class: 'muted' }, 'The nftables table inet pbxwall as the kernel has it now.'),
      h('details', {}, h('summary', {}, 'Show the ruleset'), h('pre', { id: 'ruleset', tabindex: '0' }, rules.ruleset || '(not loaded)'))),
    h('section', { class: 'card' }, h('h3', {}, 'Admin password'),
      h('p', {}, 'Change it on the server with ', h('code', {}, 'pbxwall passwd'), '.')));
  notify('');
}

export const pages = { home, responsive, zones, interfaces, services, extensions, settings, '': home, rerender };
