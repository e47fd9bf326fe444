/* global URLSearchParams */
/**
 * The page's pure logic: which alert version wins, in what order the feed is shown, which alerts a
 * filter keeps, and how values are worded. No DOM and no network here, so Node can test it
 * (test/console/page-model.test.ts) and app.js stays wiring.
 */

/** Alerts sort threats first, then newest first — the order GET /api/alerts answers in. */
export function compareAlerts(a, b) {
  const ta = a.category === 'threat' ? 0 : 1;
  const tb = b.category === 'threat' ? 0 : 1;
  if (ta !== tb) return ta - tb;
  const sa = Date.parse(a.start) || 0;
  const sb = Date.parse(b.start) || 0;
  if (sa !== sb) return sb - sa;
  // Ids are UUIDv7 (time-ordered): a stable tie-break.
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Whether `incoming` should replace `current` (same id): a higher rev wins; at the same rev the
 * incoming copy wins too, because the console re-sends an alert when only its review changed.
 */
export function isNewer(current, incoming) {
  if (!current) return true;
  return (incoming.rev ?? 0) >= (current.rev ?? 0);
}

/**
 * The filter the page shows: label and device ('' = any) and a time window (ms since the epoch,
 * undefined = open). An alert is kept when its start lies in [since, until].
 */
export function matchesFilter(alert, filter) {
  if (filter.label && alert.label !== filter.label) return false;
  if (filter.device && alert.device !== filter.device) return false;
  const t = Date.parse(alert.start);
  if (filter.since !== undefined && !(t >= filter.since)) return false;
  if (filter.until !== undefined && !(t <= filter.until)) return false;
  return true;
}

/** The query string of GET /api/alerts for a filter. */
export function alertsQuery(filter, limit) {
  const q = new URLSearchParams();
  if (filter.label) q.set('label', filter.label);
  if (filter.device) q.set('device', filter.device);
  if (filter.since !== undefined) q.set('since', new Date(filter.since).toISOString());
  if (filter.until !== undefined) q.set('until', new Date(filter.until).toISOString());
  q.set('limit', String(limit));
  return q.toString();
}

/** Named time ranges of the filter: how far back from now, in ms. */
export const RANGES = { any: undefined, '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3 };

/** The filter's time window from the range select (and the custom inputs' values, ms or NaN). */
export function timeWindow(range, now, customSince, customUntil) {
  if (range === 'custom') {
    return {
      since: Number.isFinite(customSince) ? customSince : undefined,
      until: Number.isFinite(customUntil) ? customUntil : undefined,
    };
  }
  const back = RANGES[range];
  return { since: back === undefined ? undefined : now - back, until: undefined };
}

/** "1.5 s", "850 ms", "2 min 5 s". */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60e3) return `${(ms / 1000).toFixed(ms < 10e3 ? 1 : 0)} s`;
  const m = Math.floor(ms / 60e3);
  const s = Math.round((ms - m * 60e3) / 1000);
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago" — for last seen and health age. */
export function formatAgo(iso, now) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'never';
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** "12.3 GB" (decimal units, as disk makers and `df -H` count). */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** "93 %" for a 0–1 score. */
export function formatPercent(score) {
  return Number.isFinite(score) ? `${Math.round(score * 100)} %` : '—';
}

/**
 * The rows of a device's health as [name, value, warn] — only the fields the device reported;
 * `warn` marks a value a technician should look at (thresholds are rough field rules of thumb).
 */
export function healthRows(device) {
  const h = device.health;
  if (!h) return [];
  const rows = [];
  if (Number.isFinite(h.batteryPercent)) rows.push(['battery', `${Math.round(h.batteryPercent)} %`, h.batteryPercent < 20]);
  if (Number.isFinite(h.cpuTempC)) rows.push(['temperature', `${h.cpuTempC.toFixed(1)} °C`, h.cpuTempC >= 75]);
  if (h.disk && Number.isFinite(h.disk.freeBytes) && Number.isFinite(h.disk.totalBytes) && h.disk.totalBytes > 0) {
    const pct = Math.round((h.disk.freeBytes / h.disk.totalBytes) * 100);
    rows.push(['disk', `${formatBytes(h.disk.freeBytes)} free of ${formatBytes(h.disk.totalBytes)} (${pct} %)`, pct < 10]);
  }
  if (h.queue && Number.isFinite(h.queue.depth)) rows.push(['outbox', `${h.queue.depth} waiting`, h.queue.depth > 100]);
  if (typeof h.clockSynced === 'boolean') rows.push(['clock', h.clockSynced ? 'synced' : 'not synced', !h.clockSynced]);
  if (Number.isFinite(h.soundLevelDbfs)) rows.push(['sound level', `${h.soundLevelDbfs.toFixed(0)} dBFS`, false]);
  return rows;
}

/**
 * Positions of devices in an SVG box: an equirectangular projection (longitude scaled by the
 * cosine of the mean latitude, so a few km look right) fitted with a margin, north up. Returns
 * `{points: [{device, x, y}], kmPerUnit}`; kmPerUnit is undefined when there is nothing to scale
 * (no device, or every device at one spot).
 */
export function projectDevices(devices, width, height, margin) {
  const placed = devices.filter((d) => d.location && Number.isFinite(d.location.lat) && Number.isFinite(d.location.lon));
  if (placed.length === 0) return { points: [], kmPerUnit: undefined };
  const lat0 = placed.reduce((s, d) => s + d.location.lat, 0) / placed.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = placed.map((d) => d.location.lon * k);
  const ys = placed.map((d) => d.location.lat);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const spanX = x1 - x0;
  const spanY = y1 - y0;
  const inner = [width - 2 * margin, height - 2 * margin];
  // Degrees (of latitude) per SVG unit; at least ~100 m over the box so one device is centred.
  const scale = Math.max(spanX / inner[0], spanY / inner[1], 0.001 / Math.min(inner[0], inner[1]));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const points = placed.map((d, i) => ({
    device: d,
    x: width / 2 + (xs[i] - cx) / scale,
    y: height / 2 - (ys[i] - cy) / scale,
  }));
  // One degree of latitude is about 111.2 km.
  return { points, kmPerUnit: spanX > 0 || spanY > 0 ? scale * 111.2 : undefined };
}

/** A round scale-bar length (1, 2 or 5 × 10^n km) at most `maxKm`, and its label. */
export function scaleBar(maxKm) {
  if (!(maxKm > 0)) return undefined;
  const p = 10 ** Math.floor(Math.log10(maxKm));
  const km = [5, 2, 1].map((m) => m * p).find((v) => v <= maxKm);
  return { km, label: km >= 1 ? `${km} km` : `${Math.round(km * 1000)} m` };
}

/**
 * A sparkline of one numeric health field over time, for an SVG polyline in a `width` × `height`
 * box (time across, value up): `{points, min, max, last}`; undefined when no sample has the
 * field. One sample is a level line across the box.
 */
export function sparkline(samples, field, width, height) {
  const pts = samples.map((x) => [Date.parse(x.at), x[field]]).filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v));
  if (pts.length === 0) return undefined;
  const values = pts.map(([, v]) => v);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const t0 = pts[0][0];
  const t1 = pts[pts.length - 1][0];
  const y = (v) => (max > min ? height - ((v - min) / (max - min)) * height : height / 2).toFixed(1);
  const xy = pts.length === 1 ? [[0, pts[0][1]], [width, pts[0][1]]].map(([x, v]) => `${x},${y(v)}`) : pts.map(([t, v]) => `${(t1 > t0 ? ((t - t0) / (t1 - t0)) * width : 0).toFixed(1)},${y(v)}`);
  return { points: xy.join(' '), min, max, last: values[values.length - 1] };
}
