// One function per page: fetch what it shows, build it with plain DOM calls (text is always set
// as text, never as HTML, so names from the network cannot inject markup).
import { api } from './api.js';
import { change, notify } from './app.js';
import { buckets, colours, countBars, fill, sourceTimeline, timeBars } from './charts.js';
import { counted, when } from './format.js';

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
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
// The control that has the focus at the moment of the swap keeps it (with its caret): a render
// fetched while the user moved on must not pull the focus back to where they were before.
function show(root, name, ...children) {
  if ((root.dataset.page || 'home') !== name) return;
  const typed = [...root.querySelectorAll('input[id]:not([type="checkbox"]):not([data-draft]), select[id]')].map((e) => [e.id, e.value]);
  const focused = root.contains(document.activeElement) && document.activeElement.id ? document.activeElement : null;
  const caret = focused && typeof focused.selectionStart === 'number' ? [focused.selectionStart, focused.selectionEnd] : null;
  root.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  for (const [id, value] of typed) {
    const e = root.querySelector(`#${CSS.escape(id)}`);
    if (e) e.value = value;
  }
  const again = focused ? root.querySelector(`#${CSS.escape(focused.id)}`) : null;
  if (again) {
    again.focus();
    if (caret && typeof again.selectionStart === 'number') again.setSelectionRange(...caret);
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
      h('p', { id: 'mode' }, h('strong', {}, `Mode: ${mode}. `), modeText),
      o.packet_path === 'log' ? h('p', { class: 'muted', id: 'mode-inline' }, 'For inline drops: ', h('code', {}, 'packet_path = "queue"'),
        ' in [responsive] where the kernel has the nftables queue statement, else ', h('code', {}, '"external-queue"'),
        ' with an NFQUEUE rule of your own (read at start).') : null),
    o.warnings.length ? h('section', { class: 'card', 'aria-labelledby': 'warn-title' },
      h('h3', { id: 'warn-title' }, 'Needs your attention'),
      o.warnings.map((w) => h('p', { class: 'warning' }, w.text.charAt(0).toUpperCase() + w.text.slice(1)))) : null,
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
    fleetCard(o.crowdsec, o.blocklists || []),
    h('section', { class: 'card', 'aria-labelledby': 'events-title' }, h('h3', { id: 'events-title' }, 'Latest events'),
      table('Latest events', [['Time', 'time'], 'Event', 'Address', 'User', 'Why'],
        latest.map((e) => [when(e.t), e.action, e.addr, e.user, e.reason]), 'events')));
}

const STEP_COLOURS = { request: '#9aa0a6', 'PBX answer': '#007b83', block: '#b3261e', unblock: '#0b5cad', validate: '#137333', flag: '#e37400', forget: '#5f6368', restore: '#8430ce' };

const picked = new Set();
let blockDraft = { addr: '', minutes: '', reason: '' };
// The fleet: the link to CrowdSec's Local API ([crowdsec]), blocks shared with the other
// servers, and the community blocklists ([[blocklists]]), each with its entries and last fetch.
function fleetCard(c, lists) {
  const parts = [h('h3', { id: 'fleet-title' }, 'Fleet and blocklists')];
  if (!c && !lists.length) {
    parts.push(h('p', { class: 'muted' }, 'Not shared: no [crowdsec] and no [[blocklists]] in the configuration.'));
  }
  if (c) {
    parts.push(h('p', { id: 'fleet-link', class: c.link === 'up' ? '' : 'warning' },
      h('strong', {}, `CrowdSec ${c.url}: link ${c.link}. `),
      `Last pull: ${c.last_pull ? when(c.last_pull) : 'never'}.` + (c.link !== 'up' && c.last_error ? ` ${c.last_error}` : '')),
    h('p', {}, `Bans from the fleet held: ${c.blocks}; left open (trusted, trunks, validated): ${c.spared}; ` +
      `blocks waiting to be sent: ${c.queue}; sent: ${c.pushed}.`),
    table('Decisions applied by origin', ['Origin', 'Decisions'],
      Object.entries(c.applied_by_origin || {}).sort((x, y) => y[1] - x[1]).map(([origin, n]) => [origin, n])));
  }
  if (lists.length) {
    parts.push(table('Blocklists', ['List', 'Entries', ['Last fetch', 'time'], 'From', 'State'], lists.map((l) => [l.name, l.entries,
      l.last_ok ? when(l.last_ok) : 'never', l.from,
      l.last_error ? h('span', { class: 'warning' }, `The last fetch failed: ${l.last_error}${l.last_ok ? '; the last good copy is used' : ''}`)
        : 'ok'])));
  }
  return h('section', { class: 'card', id: 'fleet', 'aria-labelledby': 'fleet-title' }, parts);
}

// Runs of the same step, or of the same pair of steps (a request and its answer), become one
// row with the number of times and the time of the last.
function collapseRepeats(items) {
  const key = (x) => `${x.lane} ${x.step} ${x.text}`;
  const out = [];
  for (let i = 0; i < items.length;) {
    let best = { len: 1, times: 1 };
    for (const len of [1, 2]) {
      let times = 1;
      const same = (n) => [...Array(len).keys()].every((k) => key(items[i + n * len + k]) === key(items[i + k]));
      while (i + (times + 1) * len <= items.length && same(times)) times++;
      if (times > 1 && times * len > best.len * best.times) best = { len, times };
    }
    for (let k = 0; k < best.len; k++) out.push({ ...items[i + k], times: best.times, last: items[i + (best.times - 1) * best.len + k].t });
    i += best.len * best.times;
  }
  return out;
}

async function responsive(root) {
  const [blocked, validated, flagged] = await Promise.all(['blocked', 'validated', 'flagged'].map((w) => api('GET', `/api/responsive/${w}`)));
  const filter = h('input', { id: 'filter', type: 'search', value: root.dataset.filter || '',
    oninput: (e) => { root.dataset.filter = e.target.value; responsive(root); } });
  const f = (root.dataset.filter || '').toLowerCase();
  const keep = (x) => !f || JSON.stringify(x).toLowerCase().includes(f);
  const unblock = (addr) => h('button', { type: 'button', 'aria-label': `Unblock ${addr}`,
    onclick: async () => { if (await change('POST', '/api/unblock', { addr })) responsive(root); } }, 'Unblock');
  // A source's history: its packets and the decisions on it. A blocked network has no packets of
  // its own (they are its addresses'), so its row has none.
  const detail = (addr) => h('button', { type: 'button', 'aria-label': `History of ${addr}`,
    onclick: async () => { root.dataset.source = addr; await responsive(root); root.querySelector('#source-detail')?.focus(); } }, 'History');
  // The selection survives the page's live re-renders.
  const pick = (addr) => h('input', { type: 'checkbox', name: 'pick', value: addr, 'aria-label': `Select ${addr}`, checked: picked.has(addr),
    onchange: (e) => { if (e.target.checked) picked.add(addr); else picked.delete(addr); } });
  // The block form's fields live in blockDraft, set again right before each render is shown, so
  // a live re-render neither loses what is typed nor brings back what was just sent.
  const draft = (key, attrs) => h('input', { ...attrs, 'data-draft': key, oninput: (e) => { blockDraft[key] = e.target.value; } });
  const addr = draft('addr', { id: 'block-addr', placeholder: '203.0.113.5 or 203.0.113.0/24' });
  const minutes = draft('minutes', { id: 'block-minutes', type: 'number', min: '1', placeholder: 'until unblocked' });
  const reason = draft('reason', { id: 'block-reason', placeholder: 'blocked in the web UI' });
  const shown = blocked.items.filter(keep);
  let detailCard = null;
  if (root.dataset.source) {
    const a = root.dataset.source;
    // Its requests and the PBX's answers (the daemon keeps the last ones of recent sources, in
    // memory), and the decisions about it (the history).
    const [trail, all] = await Promise.all([api('GET', `/api/source?addr=${encodeURIComponent(a)}`).catch(() => ({ steps: [] })), allEvents()]);
    // The trail holds the decisions in their place among the packets; the history adds those
    // the trail no longer (or never) held, to the second.
    const inTrail = new Set(trail.steps.filter((x) => x.action).map((x) => `${x.action} ${Math.floor(x.t)}`));
    const items = [
      ...trail.steps.map((x) => (x.action
        ? { t: x.t, lane: 2, kind: x.action, step: x.action, text: `${x.rule}: ${x.what}` }
        : { t: x.t, lane: x.from_pbx ? 1 : 0, kind: x.from_pbx ? 'PBX answer' : 'request', step: x.from_pbx ? 'PBX answer' : 'request', text: x.what })),
      ...all.filter((e) => e.addr === a && !inTrail.has(`${e.action} ${Math.floor(e.t)}`))
        .map((e) => ({ t: e.t, lane: 2, kind: e.action, step: e.action, text: `${e.rule}: ${e.reason}` }))].sort((x, y) => x.t - y.t);
    const rows = collapseRepeats(items);
    detailCard = h('section', { class: 'card', id: 'source-detail', tabindex: '-1', 'aria-labelledby': 'source-title' },
      h('h3', { id: 'source-title' }, `History of ${a}`),
      items.length ? [sourceTimeline('chart-source', `What ${a} sent, what the PBX answered, what the firewall decided`, items, STEP_COLOURS),
        table(`Timeline of ${a}`, [['Time', 'time'], 'Step', 'What'], rows.slice(-40).map((r) => [
          // A repeated step within one second has one time.
          r.times > 1 && Math.floor(r.last) !== Math.floor(r.t) ? `${when(Math.floor(r.t))} to ${when(Math.floor(r.last)).slice(11)}` : when(Math.floor(r.t)),
          r.step, r.times > 1 ? `${r.text} (${counted(r.times, 'time')})` : r.text])),
        rows.length > 40 ? h('p', { class: 'muted' }, `The last 40 of ${rows.length} rows.`) : null,
        trail.steps.length ? null : h('p', { class: 'muted' }, 'Its requests are no longer in memory (pbxwalld keeps the last ones of recent sources).')]
        : h('p', { class: 'muted' }, 'Nothing recorded for this address.'),
      h('button', { type: 'button', onclick: () => { delete root.dataset.source; responsive(root); } }, 'Close'));
  }
  for (const input of [addr, minutes, reason]) input.value = blockDraft[input.dataset.draft];
  show(root, 'responsive', 
    h('h2', {}, 'Responsive firewall'),
    h('div', { class: 'card' }, h('label', { for: 'filter' }, 'Filter by address, rule, origin, reason or user'), filter),
    h('section', { class: 'card' }, h('h3', {}, `Blocked (${counted(shown.length, 'source')})`),
      table('Blocked sources', ['', 'Address', 'Origin', 'Reason', ['Until', 'time'], ''],
        shown.map((b) => b.rule === 'crowdsec'
          ? ['', b.addr, b.origin || b.rule, 'shared by the fleet', b.until ? when(b.until) : 'until unblocked', '']
          : [pick(b.addr), b.addr, b.origin || b.rule, b.reason, b.until ? when(b.until) : 'until unblocked', h('span', { class: 'actions' }, b.addr.includes('/') ? null : detail(b.addr), unblock(b.addr))])),
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
        const sent = { ...blockDraft };
        if (await change('POST', '/api/block', body)) {
          // Cleared once sent; what was typed meanwhile (the next block) stays.
          for (const k of Object.keys(sent)) if (blockDraft[k] === sent[k]) blockDraft[k] = '';
          responsive(root);
        } } },
      h('div', {}, h('label', { for: 'block-addr' }, 'Block an address or network'), addr),
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
  // The ports the table enforces; those read from the PBX's files with the file:line they come from.
  const ports = (s) => {
    const shown = s.enforced_ports || s.ports;
    const from = s.ports_from || {};
    if (Object.keys(from).length === 0) return h('span', {}, shown.join(' ') || '(none)');
    return h('span', { class: 'ports', title: `built-in default: ${s.ports.join(' ') || 'none'}` }, shown.map((p) => h('span', { class: 'port' }, p,
      from[p] ? h('span', { class: 'from' }, ` from ${from[p]}`) : null)));
  };
  const rows = c.services.map((s) => [
    h('span', { class: 'service' }, h('strong', {}, s.name), s.builtin ? null : h('span', { class: 'badge' }, 'custom')),
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

// Every extension the PBX has (discovery), those with access rules, and those seen registering
// or failing: where each is configured, its state now, and its access rules, editable.
async function extensions(root) {
  const [users, pbx, validated, flagged, blocked, events] = await Promise.all([api('GET', '/api/users'), api('GET', '/api/pbx'),
    api('GET', '/api/responsive/validated'), api('GET', '/api/responsive/flagged'), api('GET', '/api/responsive/blocked'), allEvents()]);
  const accounts = (pbx.discovery && pbx.discovery.accounts) || [];
  const rules = Object.fromEntries(users.items.map((u) => [u.name, u]));
  // Trunks are the PBX's providers and branches, listed under Settings; a name with access
  // rules of its own stays.
  const trunks = trunkNames(pbx);
  const names = [...new Set([...accounts.map((a) => a.name), ...users.items.map((u) => u.name),
    ...validated.items.map((v) => v.user), ...flagged.items.map((f) => f.user)].filter(Boolean))]
    .filter((n) => !trunks.has(n) || rules[n])
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const blockedNow = new Set(blocked.items.map((b) => b.addr));
  const state = (name) => {
    const parts = [];
    const regs = validated.items.filter((v) => v.user === name).map((v) => v.addr);
    if (regs.length) parts.push(`registered from ${regs.join(', ')}`);
    const flags = flagged.items.filter((f) => f.user === name).map((f) => f.addr);
    if (flags.length) parts.push(`flagged: failing from ${flags.join(', ')}`);
    const tried = [...new Set(events.filter((e) => e.action === 'block' && e.user === name && blockedNow.has(e.addr)).map((e) => e.addr))];
    if (tried.length) parts.push(`tried by ${counted(tried.length, 'blocked source')}: ${tried.join(', ')}`);
    return parts.join('; ') || 'not registered';
  };
  const found = (name) => accounts.filter((a) => a.name === name).map((a) => `${a.via} (${origin(a.origin, false, pbx.root)})`).join(', ')
    || (rules[name] ? 'access rules only' : 'seen on the network');
  const ext = h('input', { id: 'ext-name', placeholder: '301' });
  const from = h('input', { id: 'ext-from', placeholder: '198.51.100.0/24' });
  const svcs = h('input', { id: 'ext-services', placeholder: 'ucp' });
  const edit = (name) => h('button', { type: 'button', 'aria-label': `Edit rules of ${name}`, onclick: () => {
    ext.value = name;
    from.value = (rules[name]?.allow_from || []).join(' ');
    svcs.value = (rules[name]?.services || []).join(' ');
    from.focus();
  } }, 'Edit');
  const remove = (name) => h('button', { type: 'button', 'aria-label': `Remove rules of ${name}`, onclick: async () => {
    if (await change('DELETE', `/api/users/${encodeURIComponent(name)}`)) extensions(root); } }, 'Remove');
  const words = (x) => x.value.split(/[\s,]+/).filter(Boolean);
  show(root, 'extensions', h('h2', {}, 'Extensions'),
    h('section', { class: 'card' }, h('p', { class: 'muted' },
      `The extensions the PBX has${pbx.found ? ` (read from ${pbx.root})` : ''}, their state now, and where each may register from (empty: anywhere).`),
    trunks.size ? h('p', { class: 'muted', id: 'trunks-elsewhere' }, `Trunks (${[...trunks].sort().join(', ')}) are not extensions: see `,
      h('a', { href: '#settings', id: 'to-trunks', onclick: () => { settingsPart = 'found'; } }, 'Settings, PBX found on this server'), '.') : null,
    table('Extensions', ['Extension', 'Found in', 'State', 'Allowed from', 'Services', ''], names.map((n) => [n, found(n), state(n),
      (rules[n]?.allow_from || []).join(', ') || 'anywhere', (rules[n]?.services || []).join(', ') || 'none',
      h('span', { class: 'actions' }, edit(n), rules[n] ? remove(n) : null)])),
    h('form', { class: 'row', 'aria-label': 'Access rules of an extension', onsubmit: async (e) => { e.preventDefault();
      if (await change('PUT', `/api/users/${encodeURIComponent(ext.value.trim())}`, { allow_from: words(from), services: words(svcs) })) {
        e.target.reset(); extensions(root);
      } } },
    h('div', {}, h('label', { for: 'ext-name' }, 'Extension'), ext),
    h('div', {}, h('label', { for: 'ext-from' }, 'Allowed from'), from),
    h('div', {}, h('label', { for: 'ext-services' }, 'Services once registered'), svcs), h('button', { type: 'submit' }, 'Save'))));
}

// "pjsip.conf:12" (relative to the Asterisk root), "(default)" when Asterisk's default applies.
function origin(o, isDefault, root) {
  let file = (o && o.file) || '';
  if (root && file.startsWith(`${root.replace(/\/$/, '')}/`)) file = file.slice(root.replace(/\/$/, '').length + 1);
  return `${file ? `${file}:${o.line}` : ''}${isDefault ? ' (default)' : ''}`.trim();
}

const KINDS = { name: 'hostname', address: 'address', network: 'network' };

// A trunk host's state now, as pbxwalld's resolver keeps it (the API's `trunks`): [text, warn].
function trunkNow(t) {
  if (!t) return ['not known to pbxwalld', false];
  const addrs = (t.addresses || []).join(', ');
  const ttl = t.ttl ? ` (TTL ${t.ttl} s)` : '';
  const why = { no_name: 'the name does not exist (NXDOMAIN)', no_address: 'the name has no A or AAAA record',
    failing: `no answer: ${t.error || 'lookup failed'}`, pending: `not looked up yet${t.error ? `: ${t.error}` : ''}` }[t.state];
  if (t.state === 'literal') return ['written as an address: trusted', false];
  if (t.state === 'resolved') return [`${addrs}${ttl}${t.error ? `; the latest lookup failed (${t.error}), the last answer is kept` : ''}`, false];
  return [`Does not resolve: ${why || t.state}. Its traffic is not trusted.`, true];
}

// One row per trunk host: the trunks that use it, what it resolves to now, its ports, and
// where each is configured.
function trunkRows(trunks, states, root) {
  const byHost = new Map();
  for (const t of trunks) {
    const row = byHost.get(t.host) || { host: t.host, ports: new Set(), kinds: new Set(), names: new Set(), from: new Set() };
    row.ports.add(`${t.port || 'any'}${t.transport ? ` (${t.transport})` : ''}`);
    row.kinds.add(KINDS[t.kind] || t.kind);
    for (const r of t.references || []) { row.names.add(r.trunk); row.from.add(origin(r.origin, false, root)); }
    byHost.set(t.host, row);
  }
  const stateOf = Object.fromEntries((states || []).map((t) => [t.host, t]));
  return [...byHost.values()].map((r) => {
    const [text, warn] = trunkNow(stateOf[r.host]);
    return [[...r.names].join(', '), r.host, h('span', { class: warn ? 'warning trunk-state' : 'trunk-state' }, text),
      [...r.ports].join(', '), [...r.kinds].join(', '), [...r.from].join(' ')];
  });
}

// The names the PBX's trunks go by (endpoints, peers): not extensions.
function trunkNames(pbx) {
  const names = new Set();
  for (const t of (pbx.discovery && pbx.discovery.trunks) || []) for (const r of t.references || []) names.add(r.trunk);
  for (const t of pbx.trunks || []) for (const n of t.trunks || []) names.add(n);
  return names;
}

// The keys Settings edits: [key, kind, default, what it means]. Kinds: bool, int, text, list
// (words separated by spaces), protocols (SIP and IAX2 checkboxes), choice ([value, label]...).
const SETTINGS = [
  ['firewall', 'Firewall', [
    ['safe_mode', 'bool', true, 'Every change is rolled back unless it is confirmed in time.'],
    ['safe_mode_seconds', 'int', 60, 'How long safe mode waits for the confirmation, in seconds (10 to 3600).'],
    ['reject', 'choice', false, 'What a refused packet gets: nothing (drop), or an answer (TCP reset, ICMP "prohibited").', [[false, 'drop'], [true, 'reject']]],
  ]],
  ['responsive', 'Responsive firewall', [
    ['enabled', 'bool', true, 'SIP and IAX2 from the zones that do not open them (internet) go through the responsive firewall; off: those zones cannot reach them at all.'],
    ['protocols', 'protocols', ['sip', 'iax'], 'The protocols the responsive firewall handles; one left out is closed to the zones that do not open it.'],
    ['enumeration_users', 'int', 4, 'Unknown usernames tried from one source within enumeration_window that block it (user enumeration).'],
    ['enumeration_window', 'text', '60s', 'The window of enumeration_users.'],
    ['guessing_failures', 'int', 4, 'Wrong passwords for one username within guessing_window that block the source (password guessing).'],
    ['guessing_window', 'text', '60s', 'The window of guessing_failures.'],
    ['probing_destinations', 'int', 3, 'Different numbers an unvalidated source may call before it is blocked (call probing).'],
    ['flood_requests', 'int', 50, 'Requests from one source within flood_window that block it (flood).'],
    ['flood_window', 'text', '5s', 'The window of flood_requests.'],
    ['misconfigured_after', 'int', 3, 'Wrong passwords at a phone\'s retry pace before the device is flagged for you (it is never blocked for it).'],
    ['registration_grace', 'text', '60s', 'How long a validated phone stays validated after its registration expires.'],
    ['block_ladder', 'list', ['15m', '24h', '7d'], 'How long a source\'s first, second, third... block lasts.'],
    ['escalation_memory', 'text', '24h', 'How long a past block counts for the next step of the ladder.'],
  ]],
  ['ami', 'Asterisk Manager Interface (AMI)', [
    ['enabled', 'bool', false, 'Log in to AMI and act on its security and registration events.'],
    ['host', 'text', '127.0.0.1', 'Address or name of the manager interface.'],
    ['port', 'int', 5038, 'Its TCP port.'],
    ['username', 'text', '', 'The manager.conf user (needs read = security,system).'],
    ['secret_file', 'text', '', 'A file holding the secret on one line (relative to the configuration file\'s directory).'],
  ]],
  ['pbx', 'PBX', [
    ['asterisk_root', 'text', '/etc/asterisk', 'Where the Asterisk configuration is read from.'],
    ['enabled', 'choice', null, 'Whether the PBX configuration is read (ports, trunks, accounts).', [[null, 'when asterisk_root exists'], [true, 'yes'], [false, 'no']]],
    ['dns_min_refresh', 'int', 30, 'Shortest time between two lookups of a trunk\'s hostname, in seconds.'],
    ['dns_max_refresh', 'int', 3600, 'Longest time between two lookups of a trunk\'s hostname, in seconds.'],
  ]],
];

// How many of a section's keys show before "More settings".
const BASIC = { firewall: 3, responsive: 2, ami: 5, pbx: 2 };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const shownValue = (v) => (Array.isArray(v) ? v.join(' ') : v === null || v === undefined ? '' : String(v));

// One form per section: the value set in the file, or empty for the default (shown beside it).
const openDetails = new Set();

function settingsForm(root, section, title, fields, current, basic = fields.length) {
  const id = (k) => `set-${section}-${k}`;
  const controls = fields.map(([key, kind, def, meaning, choices]) => {
    const has = Object.prototype.hasOwnProperty.call(current, key);
    const value = has ? current[key] : def;
    let control;
    if (kind === 'bool') {
      control = h('input', { type: 'checkbox', id: id(key), checked: Boolean(value) });
    } else if (kind === 'protocols') {
      control = h('span', { id: id(key), class: 'checks' }, [['sip', 'SIP'], ['iax', 'IAX2']].map(([p, label]) =>
        h('label', { class: 'check' }, h('input', { type: 'checkbox', name: id(key), value: p, checked: value.includes(p) }), ` ${label}`)));
    } else if (kind === 'choice') {
      control = h('select', { id: id(key) }, choices.map(([v, label]) =>
        h('option', { value: JSON.stringify(v), selected: same(v, has ? value : def) }, label)));
    } else {
      control = h('input', { id: id(key), type: kind === 'int' ? 'number' : 'text', value: has ? shownValue(value) : '',
        placeholder: shownValue(def) || '(none)' });
    }
    const defText = kind === 'choice' ? choices.find(([v]) => same(v, def))[1] : kind === 'bool' ? (def ? 'on' : 'off') : shownValue(def) || 'none';
    // A long key may break after an underscore (phone width), never inside a word.
    return [h('label', { for: id(key), class: 'key' }, key.replaceAll('_', '_\u200b')), control,
      h('span', { class: 'muted' }, `${meaning} Default: ${defText}.`)];
  });
  // The values the form holds now: null for an emptied field (back to the default).
  const read = (form) => Object.fromEntries(fields.map(([key, kind]) => {
    const el = form.querySelector(`#${id(key)}`);
    if (kind === 'bool') return [key, el.checked];
    if (kind === 'protocols') return [key, [...form.querySelectorAll(`input[name="${id(key)}"]:checked`)].map((i) => i.value)];
    if (kind === 'choice') return [key, JSON.parse(el.value)];
    const text = el.value.trim();
    if (!text) return [key, null];
    if (kind === 'int') return [key, Number(text)];
    if (kind === 'list') return [key, text.split(/[\s,]+/).filter(Boolean)];
    return [key, text];
  }));
  const form = h('form', { id: `settings-${section}`, 'aria-label': title, onsubmit: async (e) => {
    e.preventDefault();
    const now = read(form);
    const values = {};
    for (const [key, kind, def] of fields) {
      const has = Object.prototype.hasOwnProperty.call(current, key);
      const before = has ? current[key] : null;
      let v = now[key];
      // A checkbox or choice left at the default writes nothing new.
      if (['bool', 'protocols', 'choice'].includes(kind) && !has && same(v, def)) v = null;
      if (!same(v, before)) values[key] = v;
    }
    if (Object.keys(values).length === 0) return notify('Nothing changed.');
    if (await change('PUT', `/api/settings/${section}`, { values })) settings(root);
  } }, h('div', { class: 'settings-grid' }, controls.slice(0, basic)),
  // The thresholds and tuning keys fold away (long on a phone); opened, they stay open.
  basic < controls.length ? h('details', { open: openDetails.has(section),
    ontoggle: (e) => { if (e.target.open) openDetails.add(section); else openDetails.delete(section); } },
  h('summary', {}, `More settings (${controls.length - basic})`), h('div', { class: 'settings-grid' }, controls.slice(basic))) : null,
  h('button', { type: 'submit', class: 'primary' }, `Save ${title}`));
  return form;
}

// Settings shows one part at a time, picked at the top (all of it at once is several screens
// on a phone). The pick stays across re-renders and visits.
const SETTINGS_PARTS = [['firewall', 'Firewall'], ['responsive', 'Responsive firewall'], ['ami', 'AMI'], ['pbx', 'PBX'],
  ['found', 'PBX found'], ['ruleset', 'Ruleset & password']];
let settingsPart = 'firewall';

async function settings(root) {
  const [c, pbx, rules] = await Promise.all([api('GET', '/api/config'), api('GET', '/api/pbx'), api('GET', '/api/ruleset')]);
  const d = pbx.discovery || {};
  const unresolved = (pbx.trunks || []).filter((t) => t.trusted === false && t.state !== 'pending').length;
  const picker = h('div', { class: 'row picker', role: 'group', 'aria-label': 'Part of the settings shown' },
    SETTINGS_PARTS.map(([key, label]) => h('button', { type: 'button', id: `settings-part-${key}`, 'aria-pressed': String(key === settingsPart),
      onclick: async () => { settingsPart = key; await settings(root); root.querySelector(`#settings-part-${key}`)?.focus(); } },
    label, key === 'found' && unresolved ? h('span', { class: 'badge warn' }, counted(unresolved, 'trunk'), ' unresolved') : null)));
  const forms = Object.fromEntries(SETTINGS.map(([section, title, fields]) => [section, h('section', { class: 'card' }, h('h3', {}, title),
    section === 'responsive' ? h('p', { class: 'muted' }, `Mode now: ${(MODES[c.packet_path] || [c.packet_path])[0]} (packet_path; set on the server, read at start).`) : null,
    section === 'ami' && c.settings.ami.secret_set ? h('p', { class: 'muted' }, 'A secret is set in the configuration file (not shown).') : null,
    settingsForm(root, section, title, fields, (c.settings || {})[section] || {}, BASIC[section]))]));
  const parts = {
    ...forms,
    found: h('section', { class: 'card' }, h('h3', {}, 'PBX found on this server'),
      pbx.found ? [h('p', { class: 'muted' }, `Read from ${pbx.root}.`),
        table('Signalling ports', ['Port', 'Protocol', 'Driver', 'From'], (d.signalling || []).map((p) =>
          [`${p.l4 || ''}/${p.port}`, p.protocol || '', p.driver || '', origin(p.origin, p.default, pbx.root)])),
        table('Trunks', ['Trunk', 'Host', 'Resolves to now', 'Ports', 'Kind', 'From'], trunkRows(d.trunks || [], pbx.trunks, pbx.root))]
        : h('p', { class: 'muted' }, `No Asterisk configuration in ${pbx.root}.`)),
    ruleset: [h('section', { class: 'card' }, h('h3', {}, 'Ruleset'),
      h('p', { class: 'muted' }, 'The nftables table inet pbxwall as the kernel has it now.'),
      h('details', {}, h('summary', {}, 'Show the ruleset'), h('pre', { id: 'ruleset', tabindex: '0' }, rules.ruleset || '(not loaded)'))),
    h('section', { class: 'card' }, h('h3', {}, 'Admin password'),
      h('p', {}, 'Change it on the server with ', h('code', {}, 'pbxwall passwd'), '.'))],
  };
  show(root, 'settings', h('h2', {}, 'Settings'),
    h('section', { class: 'card' }, h('h3', {}, 'Safe mode'),
      h('p', {}, c.safe_mode ? `On: every change rolls back after ${c.safe_mode_seconds} s unless confirmed.` : 'Off.'),
      c.pending_change ? h('button', { type: 'button', class: 'primary', onclick: async () => {
        if (await change('POST', '/api/confirm')) settings(root); } }, `Confirm the change by ${c.pending_change.who}`) : null),
    picker, parts[settingsPart] || parts.firewall);
}

export const pages = { home, responsive, zones, interfaces, services, extensions, settings, '': home, rerender };
