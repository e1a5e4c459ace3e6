// How values are written on every page: times in ISO 8601 in the server's time zone (named once,
// under the page), counts with the right plural.
let offsetSeconds = 0;
let zoneName = 'UTC';

export function setTimeZone(tz) {
  if (!tz) return;
  offsetSeconds = Number(tz.utc_offset_seconds) || 0;
  zoneName = tz.name || '';
}

const two = (n) => String(n).padStart(2, '0');

// "UTC", or "UTC+01:00 (CET)".
export function timeZoneText() {
  if (offsetSeconds === 0) return zoneName && zoneName !== 'UTC' && zoneName !== 'GMT' ? `UTC (${zoneName})` : 'UTC';
  const a = Math.abs(offsetSeconds);
  const text = `UTC${offsetSeconds < 0 ? '-' : '+'}${two(Math.floor(a / 3600))}:${two(Math.floor((a % 3600) / 60))}`;
  return zoneName ? `${text} (${zoneName})` : text;
}

// Epoch seconds as "2026-12-02 04:03:22" on the server's clock; '' for none.
export function when(t) {
  if (!t) return '';
  const d = new Date((t + offsetSeconds) * 1000);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

// "HH:MM" or "MM-DD" for a chart's axis, on the server's clock.
export function shortTime(t, withDate) {
  const d = new Date((t + offsetSeconds) * 1000);
  return withDate ? `${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}` : `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

// "1 source", "3 sources".
export function counted(n, one, many = `${one}s`) { return `${n} ${n === 1 ? one : many}`; }
