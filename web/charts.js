// Charts drawn as inline SVG from the event history: no library, no network. Colours are SVG
// presentation attributes (allowed by the page's Content-Security-Policy, unlike style=).
import { counted, shortTime, when } from './format.js';

const NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#0b5cad', '#b3261e', '#137333', '#e37400', '#8430ce', '#007b83', '#c5221f', '#5f6368', '#a142f4', '#188038', '#d93025', '#1a73e8'];

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function html(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children.flat()) el.append(c instanceof Node ? c : String(c));
  return el;
}

// One colour per name, the same on every chart of the page.
export function colours(names) {
  return Object.fromEntries([...names].sort().map((n, i) => [n, PALETTE[i % PALETTE.length]]));
}

function legend(colour, names) {
  return html('ul', { class: 'legend' }, names.map((n) => html('li', {},
    (() => { const s = svg('svg', { width: 12, height: 12, 'aria-hidden': 'true' }); s.append(svg('rect', { width: 12, height: 12, fill: colour[n] })); return s; })(), ` ${n}`)));
}

// The time axis of the last `span` seconds before `now`, cut into `count` buckets.
export function buckets(now, span, count) {
  const step = span / count;
  const start = now - span;
  return Array.from({ length: count }, (_, i) => ({ from: start + i * step, to: start + (i + 1) * step, counts: {} }));
}

// Adds each event (t, key) to its bucket; events outside the axis are left out.
export function fill(axis, events, keyOf) {
  if (axis.length === 0) return axis;
  const start = axis[0].from;
  const step = axis[0].to - axis[0].from;
  for (const e of events) {
    const i = Math.floor((e.t - start) / step);
    if (i < 0 || i >= axis.length) continue;
    const k = keyOf(e);
    axis[i].counts[k] = (axis[i].counts[k] || 0) + 1;
  }
  return axis;
}

// Stacked bars over time. `what` names the counted thing ("block") for the text alternative.
export function timeBars(id, title, axis, colour, what, withDate) {
  const W = 360, H = 180, left = 30, bottom = 22, top = 8;
  const totals = axis.map((b) => Object.values(b.counts).reduce((a, n) => a + n, 0));
  const max = Math.max(1, ...totals);
  const all = totals.reduce((a, n) => a + n, 0);
  const names = [...new Set(axis.flatMap((b) => Object.keys(b.counts)))].sort();
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${title}: ${counted(all, what)}` });
  const bw = (W - left) / axis.length;
  const y = (n) => top + (H - top - bottom) * (1 - n / max);
  chart.append(svg('line', { x1: left, y1: H - bottom, x2: W, y2: H - bottom, stroke: '#888' }));
  chart.append(svg('text', { x: left - 4, y: top + 8, 'text-anchor': 'end', 'font-size': 11, fill: '#5f6368' }, max));
  chart.append(svg('text', { x: left - 4, y: H - bottom, 'text-anchor': 'end', 'font-size': 11, fill: '#5f6368' }, 0));
  axis.forEach((b, i) => {
    let base = 0;
    for (const n of names) {
      const c = b.counts[n] || 0;
      if (!c) continue;
      const r = svg('rect', { x: left + i * bw + 1, y: y(base + c), width: Math.max(1, bw - 2), height: y(base) - y(base + c), fill: colour[n], class: 'bar' });
      r.append(svg('title', {}, `${n}: ${counted(c, what)}`));
      chart.append(r);
      base += c;
    }
    if (i % Math.ceil(axis.length / 6) === 0)
      chart.append(svg('text', { x: left + i * bw, y: H - 6, 'font-size': 11, fill: '#5f6368' }, shortTime(b.from, withDate)));
  });
  return html('figure', { class: 'chart-box', id, 'data-total': String(all) }, html('figcaption', {}, title), chart,
    all ? legend(colour, names) : html('p', { class: 'muted' }, `No ${what}s in this period.`));
}

// Horizontal bars, one per item [name, count].
export function countBars(id, title, items, colour, what) {
  const rowH = 26, W = 360, left = 130;
  const H = Math.max(1, items.length) * rowH + 4;
  const max = Math.max(1, ...items.map(([, n]) => n));
  const all = items.reduce((a, [, n]) => a + n, 0);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': `${title}: ${items.map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}` });
  items.forEach(([k, n], i) => {
    const yy = 2 + i * rowH;
    chart.append(svg('text', { x: left - 6, y: yy + 16, 'text-anchor': 'end', 'font-size': 13, fill: '#1b1f23' }, k));
    const r = svg('rect', { x: left, y: yy + 3, width: Math.max(2, (W - left - 30) * n / max), height: rowH - 6, fill: colour[k] || PALETTE[0], class: 'bar' });
    r.append(svg('title', {}, `${k}: ${counted(n, what)}`));
    chart.append(r, svg('text', { x: left + 6 + (W - left - 30) * n / max, y: yy + 16, 'font-size': 13, fill: '#1b1f23' }, n));
  });
  return html('figure', { class: 'chart-box', id, 'data-total': String(all) }, html('figcaption', {}, title),
    items.length ? chart : html('p', { class: 'muted' }, `No ${what}s in this period.`));
}

// One source's story on three lanes: its requests to the PBX, the PBX's answers, and the
// firewall's decisions. `items`: {t, lane: 0|1|2, kind (colour key), text (tooltip)}.
const LANES = ['requests', 'PBX answers', 'decisions'];
export function sourceTimeline(id, title, items, colour) {
  const W = 360, left = 70, pad = 10, lane = 16, H = 3 * lane + 22;
  const t0 = Math.min(...items.map((e) => e.t));
  const t1 = Math.max(...items.map((e) => e.t));
  const x = (t) => (t1 === t0 ? (left + W - pad) / 2 : left + (W - pad - left) * (t - t0) / (t1 - t0));
  const y = (l) => 10 + l * lane;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': `${title}: ${LANES.map((name, l) => `${counted(items.filter((e) => e.lane === l).length, 'item')} ${name}`).join(', ')}` });
  LANES.forEach((name, l) => {
    chart.append(svg('text', { x: 0, y: y(l) + 3, 'font-size': 9, fill: '#5f6368' }, name));
    chart.append(svg('line', { x1: left, y1: y(l), x2: W - pad, y2: y(l), stroke: '#ddd' }));
  });
  chart.append(svg('text', { x: left, y: H - 3, 'font-size': 9, fill: '#5f6368' }, when(Math.floor(t0))));
  // The end of the axis: how long after the start within a minute (a scan takes seconds), its
  // time on the same day, else its date and time.
  const span = t1 - t0;
  const end = span < 60 ? `+${span < 10 ? span.toFixed(2) : span.toFixed(0)} s`
    : when(Math.floor(t1)).slice(0, 10) === when(Math.floor(t0)).slice(0, 10) ? when(Math.floor(t1)).slice(11) : when(Math.floor(t1));
  if (t1 !== t0) chart.append(svg('text', { x: W - pad, y: H - 3, 'font-size': 9, 'text-anchor': 'end', fill: '#5f6368', class: 'axis-end' }, end));
  for (const e of items) {
    const c = svg('circle', { cx: x(e.t), cy: y(e.lane), r: e.lane === 2 ? 5 : 3.5, fill: colour[e.kind] || PALETTE[0],
      'fill-opacity': e.lane === 2 ? 1 : 0.7, class: 'bar' });
    c.append(svg('title', {}, `${when(Math.floor(e.t))} ${e.text}`));
    chart.append(c);
  }
  return html('figure', { class: 'chart-box', id, 'data-total': String(items.length) }, html('figcaption', {}, title), chart,
    legend(colour, [...new Set(items.map((e) => e.kind))].sort()));
}
