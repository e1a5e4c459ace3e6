// One function per page: fetch what it shows, build it with plain DOM calls (text is always set
// as text, never as HTML, so names from the network cannot inject markup).
import { api } from './api.js';
import { change, notify } from './app.js';
import { buckets, colours, countBars, fill, timeBars, timeline } from './charts.js';
import { counted, when } from './format.js';

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const ZONES = ['trusted', 'local', 'other', 'internet', 'reject'];

// A header is its text, or [text, class of the column's cells].
function table(caption, headers, rows, kind) {
  if (rows.length === 0) return h('p', { class: 'muted' }, `${caption}: none.`);
  const label = (x) => (Array.isArray(x) ? x[0] : x);
  const cls = (x) => (Array.isArray(x) ? x[1] : false);
  // Explicit roles and a label per cell: on a phone-width screen the rows are shown as stacked
  // cards (style.css), which would otherwise drop the table's meaning for screen readers.
  return h('div', { class: kind ? `table-wrap ${kind}` : 'table-wrap' }, h('table', { role: 'table' },
    h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', { role: 'row' }, headers.map((x) => h('th', { scope: 'col', role: 'columnheader', class: cls(x) }, label(x))))),
    h('tbody', {}, rows.map((r) => h('tr', { role: 'row' },
      r.map((c, i) => h('td', { role: 'cell', 'data-label': label(headers[i] || ''), class: cls(headers[i] || '') }, c)))))));
}

function zoneSelect(id, value, withNone) {
  const s = h('select', { id });
  if (withNone) s.append(h('option', { value: '' }, '(no zone)'));
  for (const z of ZONES) s.append(h('option', { value: z, selected: z === value }, z));
  return s;
}

function rerender(root, page) { return () => page(root); }

// Puts a page's content in place, unless the user went to another page while it was fetched
// (a late render must not replace the page now shown).
// What was typed into the page's fields stays across re-renders (live updates come at any
// time); a form's submit handler resets its form once the change is done.
function show(root, name, ...children) {
  if ((root.dataset.page || 'home') !== name) return;
  const typed = [...root.querySelectorAll('input[id]:not([type="checkbox"]), select[id]')].map((e) => [e.id, e.value]);
  root.replaceChildren(...children);
  for (const [id, value] of typed) {
    const e = root.querySelector(`#${CSS.escape(id)}`);
    if (e) e.value = value;
  }
}

// The periods the charts cover: seconds, buckets.
const PERIODS = { hour: [3600, 12], day: [86400, 24], week: [7 * 86400, 14] };
const MODES = {
  log: ['Observe', 'pbxwalld reads a copy of each packet: a scanner\'s first packets reach the PBX before the block.'],
  queue: ['Inline', 'Each packet waits for pbxwalld\'s verdict: the packet that gives a scanner away never reaches the PBX.'],
  'external-queue': ['Inline (your NFQUEUE rule)', 'Each packet your rule queues waits for pbxwalld\'s verdict before it reaches the PBX.'],
};

// The whole history, in pages (oldest first).
async function allEvents() {
  const items = [];
  for (let after = 0, i = 0; i < 20; i++) {
    const page = await api('GET', `/api/history?after_id=${after}&limit=5000`);
    items.push(...page.items);
    if (page.items.length < 5000) break;
    after = page.items[page.items.length - 1].id;
  }
  return items;
}

async function home(root) {
  const [o, events] = await Promise.all([api('GET', '/api/overview'), allEvents()]);
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
  const latest = events.slice(-10).reverse();
  const [mode, modeText] = MODES[o.packet_path] || [o.packet_path, ''];
  const period = root.dataset.period || 'day';
  const [span, count] = PERIODS[period];
  const now = Math.max(Date.now() / 1000, ...events.map((e) => e.t));
  const recent = events.filter((e) => e.t > now - span);
  const attacks = recent.filter((e) => e.action === 'block' && e.rule !== 'manual' && e.rule !== 'admin');
  const rules = colours(new Set(events.filter((e) => e.action === 'block').map((e) => e.rule)));
  const attackers = {};
  for (const e of attacks) (attackers[e.rule] ||= new Set()).add(e.addr);
  const periodButtons = h('div', { class: 'row', role: 'group', 'aria-label': 'Period of the charts' }, Object.keys(PERIODS).map((p) =>
    h('button', { type: 'button', 'aria-pressed': String(p === period), id: `period-${p}`,
      onclick: () => { root.dataset.period = p; home(root).then(() => root.querySelector(`#period-${p}`)?.focus()); } }, `Last ${p}`)));
  const withDate = period === 'week';
  show(root, 'home', 
    h('h2', {}, 'Home'),
    h('div', { class: 'card' }, sw, h('p', { class: 'muted' }, on ? 'Protecting this PBX.' : 'Everything is accepted: the PBX is not protected.'),
      h('p', { id: 'mode' }, h('strong', {}, `Mode: ${mode}. `), modeText)),
    o.warnings.length ? h('section', { class: 'card', 'aria-labelledby': 'warn-title' },
      h('h3', { id: 'warn-title' }, 'Needs your attention'),
      o.warnings.map((w) => h('p', { class: 'warning' }, w.text))) : null,
    h('div', { class: 'counters', role: 'list' },
      [['Attacks blocked, last hour', o.blocked_last_hour], ['Attacks blocked, last day', o.blocked_last_day],
        ['Sources blocked now', o.blocked], ['Phones validated now', o.validated]]
        .map(([label, n]) => h('div', { class: 'counter', role: 'listitem' }, h('strong', {}, n), label))),
    h('section', { class: 'card', 'aria-labelledby': 'charts-title' }, h('h3', { id: 'charts-title' }, 'What the firewall did'), periodButtons,
      h('div', { class: 'charts' },
        timeBars('chart-blocks', `Attacks blocked by rule, last ${period}`, fill(buckets(now, span, count), attacks, (e) => e.rule), rules, 'block', withDate),
        countBars('chart-attackers', `Attackers by rule, last ${period}`,
          Object.entries(attackers).map(([r, a]) => [r, a.size]).sort((a, b) => b[1] - a[1]), rules, 'attacker'),
        timeBars('chart-validated', `Phone validations, last ${period}`,
          fill(buckets(now, span, count), recent.filter((e) => e.action === 'validate'), () => 'validated'), { validated: '#137333' }, 'validation', withDate))),
    h('section', { class: 'card', 'aria-labelledby': 'events-title' }, h('h3', { id: 'events-title' }, 'Latest events'),
      table('Latest events', [['Time', 'time'], 'Event', 'Address', 'User', 'Why'],
        latest.map((e) => [when(e.t), e.action, e.addr, e.user, e.reason]))));
}

const ACTION_COLOURS = { block: '#b3261e', unblock: '#0b5cad', validate: '#137333', flag: '#e37400', forget: '#5f6368', restore: '#8430ce' };

const picked = new Set();

async function responsive(root) {
  const [blocked, validated, flagged] = await Promise.all(['blocked', 'validated', 'flagged'].map((w) => api('GET', `/api/responsive/${w}`)));
  const filter = h('input', { id: 'filter', type: 'search', value: root.dataset.filter || '',
    oninput: (e) => { root.dataset.filter = e.target.value; responsive(root).then(() => root.querySelector('#filter')?.focus()); } });
  const f = (root.dataset.filter || '').toLowerCase();
  const keep = (x) => !f || JSON.stringify(x).toLowerCase().includes(f);
  const unblock = (addr) => h('button', { type: 'button', 'aria-label': `Unblock ${addr}`,
    onclick: async () => { if (await change('POST', '/api/unblock', { addr })) responsive(root); } }, 'Unblock');
  const detail = (addr) => h('button', { type: 'button', 'aria-label': `History of ${addr}`,
    onclick: async () => { root.dataset.source = addr; await responsive(root); root.querySelector('#source-detail')?.focus(); } }, 'History');
  // The selection survives the page's live re-renders.
  const pick = (addr) => h('input', { type: 'checkbox', name: 'pick', value: addr, 'aria-label': `Select ${addr}`, checked: picked.has(addr),
    onchange: (e) => { if (e.target.checked) picked.add(addr); else picked.delete(addr); } });
  const addr = h('input', { id: 'block-addr', placeholder: '203.0.113.5' });
  const minutes = h('input', { id: 'block-minutes', type: 'number', min: '1', placeholder: 'until unblocked' });
  const reason = h('input', { id: 'block-reason', placeholder: 'blocked in the web UI' });
  const shown = blocked.items.filter(keep);
  let detailCard = null;
  if (root.dataset.source) {
    const a = root.dataset.source;
    const mine = (await allEvents()).filter((e) => e.addr === a);
    detailCard = h('section', { class: 'card', id: 'source-detail', tabindex: '-1', 'aria-labelledby': 'source-title' },
      h('h3', { id: 'source-title' }, `History of ${a}`),
      mine.length ? [timeline('chart-source', `Decisions about ${a}`, mine, ACTION_COLOURS),
        table(`Decisions about ${a}`, [['Time', 'time'], 'Event', 'Rule', 'User', 'Why'], mine.map((e) => [when(e.t), e.action, e.rule, e.user, e.reason]))]
        : h('p', { class: 'muted' }, 'No decisions recorded for this address.'),
      h('button', { type: 'button', onclick: () => { delete root.dataset.source; responsive(root); } }, 'Close'));
  }
  show(root, 'responsive', 
    h('h2', {}, 'Responsive firewall'),
    h('div', { class: 'card' }, h('label', { for: 'filter' }, 'Filter by address, rule, reason or user'), filter),
    h('section', { class: 'card' }, h('h3', {}, `Blocked (${counted(shown.length, 'source')})`),
      table('Blocked sources', ['', 'Address', 'Rule', 'Reason', ['Until', 'time'], ''],
        shown.map((b) => [pick(b.addr), b.addr, b.rule, b.reason, b.until ? when(b.until) : 'until unblocked', h('span', { class: 'actions' }, detail(b.addr), unblock(b.addr))])),
      shown.length ? h('button', { type: 'button', id: 'unblock-selected', onclick: async () => {
        const addrs = shown.map((b) => b.addr).filter((a) => picked.has(a));
        if (addrs.length === 0) return notify('Select the sources to unblock first.', 'error');
        let done = 0;
        for (const a of addrs) if (await change('POST', '/api/unblock', { addr: a })) { done++; picked.delete(a); }
        await responsive(root);
        notify(`Unblocked ${counted(done, 'source')}.`);
      } }, 'Unblock selected') : null,
      h('form', { class: 'row', onsubmit: async (e) => { e.preventDefault();
        const body = { addr: addr.value.trim() };
        if (minutes.value) body.seconds = Math.round(Number(minutes.value) * 60);
        if (reason.value.trim()) body.reason = reason.value.trim();
        if (await change('POST', '/api/block', body)) { e.target.reset(); responsive(root); } } },
      h('div', {}, h('label', { for: 'block-addr' }, 'Block an address'), addr),
      h('div', {}, h('label', { for: 'block-minutes' }, 'For (minutes)'), minutes),
      h('div', {}, h('label', { for: 'block-reason' }, 'Reason'), reason), h('button', { type: 'submit' }, 'Block'))),
    detailCard,
    h('section', { class: 'card' }, h('h3', {}, 'Validated'),
      table('Validated sources', ['Address', 'User', ['Until', 'time']], validated.items.filter(keep).map((v) => [v.addr, v.user, when(v.until)]))),
    h('section', { class: 'card' }, h('h3', {}, 'Flagged'),
      table('Flagged devices', ['Address', 'User', 'Reason', 'Flagged', ['Last seen', 'time']],
        flagged.items.filter(keep).map((x) => [x.addr, x.user, x.reason, counted(x.count, 'time'), when(x.last_seen)]))));
}

async function zones(root) {
  const c = await api('GET', '/api/config');
  const key = h('input', { id: 'net-key', placeholder: '198.51.100.0/24' });
  const zone = zoneSelect('net-zone', 'trusted');
  show(root, 'zones', 
    h('h2', {}, 'Zones & networks'),
    h('section', { class: 'card' }, table('Zones', ['Zone', 'What it reaches'], c.zones.map((z) => [z.name, z.description]))),
    h('section', { class: 'card' }, h('h3', {}, 'Networks'),
      table('Networks', ['Network', 'Zone', ''], c.networks.map((n) => [n.key, n.zone,
        h('button', { type: 'button', 'aria-label': `Remove ${n.key}`, onclick: async () => {
          if (await change('DELETE', `/api/networks?key=${encodeURIComponent(n.key)}`)) zones(root); } }, 'Remove')])),
      h('form', { class: 'row', onsubmit: async (e) => { e.preventDefault();
        if (await change('PUT', '/api/networks', { key: key.value, zone: zone.value })) { e.target.reset(); zones(root); } } },
      h('div', {}, h('label', { for: 'net-key' }, 'Address, network or hostname'), key),
      h('div', {}, h('label', { for: 'net-zone' }, 'Zone'), zone), h('button', { type: 'submit' }, 'Save'))));
}

async function interfaces(root) {
  const c = await api('GET', '/api/config');
  const names = [...new Set([...c.system_interfaces, ...c.interfaces.map((i) => i.name)])].sort();
  const zoneOf = Object.fromEntries(c.interfaces.map((i) => [i.name, i.zone]));
  show(root, 'interfaces', h('h2', {}, 'Interfaces'), h('section', { class: 'card' },
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

// Trusted networks reach every service; the zones a service can be opened to are the others.
const OPEN_ZONES = ZONES.filter((z) => z !== 'reject' && z !== 'trusted');

function zoneBoxes(prefix, chosen) {
  return h('fieldset', { class: 'checks' }, h('legend', {}, 'Open to'), OPEN_ZONES.map((z) =>
    h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: `${prefix}-zone`, value: z, checked: chosen.includes(z) }), ` ${z}`)));
}
const checked = (el, prefix) => [...el.querySelectorAll(`input[name="${prefix}-zone"]:checked`)].map((i) => i.value);

// One grid as FreePBX shows it: a row per service, a checkbox per zone, one Save for all.
async function services(root) {
  const c = await api('GET', '/api/config');
  const ports = (s) => {
    const shown = s.enforced_ports || s.ports;
    return h('span', {}, shown.join(' ') || '(none)', s.discovered ? h('span', { class: 'badge', title: `configured: ${s.ports.join(' ') || 'none'}` }, 'from the PBX') : null);
  };
  const rows = c.services.map((s) => [
    h('span', {}, h('strong', {}, s.name), s.builtin ? null : h('span', { class: 'badge' }, 'custom')),
    s.description, ports(s),
    ...OPEN_ZONES.map((z) => h('input', { type: 'checkbox', class: 'zone-box', 'data-service': s.name, value: z,
      checked: s.zones.includes(z), 'aria-label': `${s.name} open to ${z}` }))]);
  const grid = h('form', { id: 'services-grid', 'aria-label': 'Services and zones', onsubmit: async (e) => {
    e.preventDefault();
    const items = c.services.map((s) => ({ name: s.name,
      zones: [...grid.querySelectorAll('input.zone-box:checked')].filter((i) => i.dataset.service === s.name).map((i) => i.value) }))
      .filter((it, i) => it.zones.join() !== c.services[i].zones.filter((z) => OPEN_ZONES.includes(z)).join());
    if (items.length === 0) return notify('Nothing changed.');
    if (await change('PUT', '/api/services', { services: items })) services(root);
  } }, table('Services', ['Service', 'What it is', 'Ports enforced', ...OPEN_ZONES.map((z) => [z, 'zone'])], rows, 'grid'),
  h('button', { type: 'submit', class: 'primary' }, 'Save'));
  const name = h('input', { id: 'cs-name', placeholder: 'crm' });
  const newPorts = h('input', { id: 'cs-ports', placeholder: 'tcp/8443 udp/7000-7010' });
  const add = h('form', { onsubmit: async (e) => { e.preventDefault();
    if (await change('PUT', `/api/custom-services/${encodeURIComponent(name.value)}`,
      { ports: newPorts.value.split(/[\s,]+/).filter(Boolean), zones: checked(add, 'new') })) { add.reset(); services(root); } } },
  h('h3', {}, 'Add a custom service'), h('div', { class: 'row' }, h('div', {}, h('label', { for: 'cs-name' }, 'Name'), name),
    h('div', {}, h('label', { for: 'cs-ports' }, 'Ports'), newPorts)), zoneBoxes('new', ['local']), h('button', { type: 'submit' }, 'Add'));
  show(root, 'services', h('h2', {}, 'Services'),
    h('section', { class: 'card' }, h('p', { class: 'muted' }, 'Tick the zones each service is open to, then Save: one change for all rows. Trusted networks reach every service.'), grid),
    h('section', { class: 'card' }, add));
}

async function extensions(root) {
  const users = await api('GET', '/api/users');
  const ext = h('input', { id: 'ext-name', placeholder: '301' });
  const from = h('input', { id: 'ext-from', placeholder: '198.51.100.0/24' });
  show(root, 'extensions', h('h2', {}, 'Extensions'),
    h('section', { class: 'card' }, h('p', { class: 'muted' }, 'Where each extension may register from (empty: anywhere).'),
      table('Per-extension access', ['Extension', 'Allowed from', 'Services', ''], users.items.map((u) => [u.name, u.allow_from.join(', '),
        u.services.join(', '), h('button', { type: 'button', 'aria-label': `Remove rules of ${u.name}`, onclick: async () => {
          if (await change('DELETE', `/api/users/${encodeURIComponent(u.name)}`)) extensions(root); } }, 'Remove')])),
      h('form', { class: 'row', onsubmit: async (e) => { e.preventDefault();
        if (await change('PUT', `/api/users/${encodeURIComponent(ext.value)}`, { allow_from: from.value.split(/[\s,]+/).filter(Boolean) })) { e.target.reset(); extensions(root); } } },
      h('div', {}, h('label', { for: 'ext-name' }, 'Extension'), ext),
      h('div', {}, h('label', { for: 'ext-from' }, 'Allowed from'), from), h('button', { type: 'submit' }, 'Save'))));
}

// "pjsip.conf:12" (relative to the Asterisk root), "(default)" when Asterisk's default applies.
function origin(o, isDefault, root) {
  let file = (o && o.file) || '';
  if (root && file.startsWith(`${root.replace(/\/$/, '')}/`)) file = file.slice(root.replace(/\/$/, '').length + 1);
  return `${file ? `${file}:${o.line}` : ''}${isDefault ? ' (default)' : ''}`.trim();
}

const KINDS = { name: 'hostname', address: 'address', network: 'network' };

// One row per trunk host: the trunks that use it, its ports, and where each is configured.
function trunkRows(trunks, root) {
  const byHost = new Map();
  for (const t of trunks) {
    const row = byHost.get(t.host) || { host: t.host, ports: new Set(), kinds: new Set(), names: new Set(), from: new Set() };
    row.ports.add(`${t.port || 'any'}${t.transport ? ` (${t.transport})` : ''}`);
    row.kinds.add(KINDS[t.kind] || t.kind);
    for (const r of t.references || []) { row.names.add(r.trunk); row.from.add(origin(r.origin, false, root)); }
    byHost.set(t.host, row);
  }
  return [...byHost.values()].map((r) => [[...r.names].join(', '), r.host, [...r.ports].join(', '), [...r.kinds].join(', '),
    [...r.from].join(' ')]);
}

async function settings(root) {
  const [c, pbx, rules] = await Promise.all([api('GET', '/api/config'), api('GET', '/api/pbx'), api('GET', '/api/ruleset')]);
  const d = pbx.discovery || {};
  show(root, 'settings', h('h2', {}, 'Settings'),
    h('section', { class: 'card' }, h('h3', {}, 'Safe mode'),
      h('p', {}, c.safe_mode ? `On: every change rolls back after ${c.safe_mode_seconds} s unless confirmed.` : 'Off.'),
      c.pending_change ? h('button', { type: 'button', class: 'primary', onclick: async () => {
        if (await change('POST', '/api/confirm')) settings(root); } }, `Confirm the change by ${c.pending_change.who}`) : null),
    h('section', { class: 'card' }, h('h3', {}, 'PBX found on this server'),
      pbx.found ? [h('p', { class: 'muted' }, `Read from ${pbx.root}.`),
        table('Signalling ports', ['Port', 'Protocol', 'Driver', 'From'], (d.signalling || []).map((p) =>
          [`${p.l4 || ''}/${p.port}`, p.protocol || '', p.driver || '', origin(p.origin, p.default, pbx.root)])),
        table('Trunks', ['Trunk', 'Host', 'Ports', 'Kind', 'From'], trunkRows(d.trunks || [], pbx.root))]
        : h('p', { class: 'muted' }, `No Asterisk configuration in ${pbx.root}.`)),
    h('section', { class: 'card' }, h('h3', {}, 'Ruleset'),
      h('p', { class: 'muted' }, 'The nftables table inet pbxwall as the kernel has it now.'),
      h('details', {}, h('summary', {}, 'Show the ruleset'), h('pre', { id: 'ruleset', tabindex: '0' }, rules.ruleset || '(not loaded)'))),
    h('section', { class: 'card' }, h('h3', {}, 'Admin password'),
      h('p', {}, 'Change it on the server with ', h('code', {}, 'pbxwall passwd'), '.')));
  notify('');
}

export const pages = { home, responsive, zones, interfaces, services, extensions, settings, '': home, rerender };
