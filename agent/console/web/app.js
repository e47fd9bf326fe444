/* global document, window, EventSource, setTimeout, clearTimeout, setInterval */
/**
 * The console page: devices (list and map), the live alert feed with filters, per alert the
 * spectrogram, the audio and the review; an offline banner; a login form when the API asks for
 * one. State lives in this module's `state` object; the API is the source of truth and the
 * stream (/api/stream) keeps it current. Every API value reaches the page through dom.js (text
 * nodes and safe attributes only).
 */
import { ApiError, getJson, postJson, whyNot } from './api.js';
import { apiPath, fill, h, s } from './dom.js';
import { drawMap } from './map.js';
import { compareAlerts, formatAgo, formatDuration, formatPercent, healthRows, isNewer, matchesFilter, alertsQuery, sparkline, timeWindow } from './model.js';

/** How many alerts the feed asks for; the filters narrow the rest. */
const LIMIT = 200;
/** A pending clip (device offline) is asked for again this often, and soon after its device returns. */
const PENDING_RETRY_MS = 30_000;
const RETURN_RETRY_MS = 2_000;

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'),
  login: $('login'),
  loginForm: $('login-form'),
  loginError: $('login-error'),
  password: $('password'),
  banner: $('banner'),
  link: $('link'),
  devices: $('device-list'),
  deviceCount: $('device-count'),
  map: $('map'),
  mapNote: $('map-note'),
  alerts: $('alert-list'),
  alertCount: $('alert-count'),
  alertEmpty: $('alert-empty'),
  filterForm: $('filters'),
  label: $('filter-label'),
  device: $('filter-device'),
  range: $('filter-range'),
  custom: $('filter-custom'),
  since: $('filter-since'),
  until: $('filter-until'),
  version: $('version'),
};

const state = {
  status: undefined,
  devices: new Map(),
  alerts: new Map(),
  /** Every label seen, so the label filter can offer labels the current filter hides. */
  labels: new Set(),
  filter: { label: '', device: '', since: undefined, until: undefined },
  brokerConnected: undefined,
  brokerDownAt: undefined,
  /** When the console stopped answering (the stream broke, or a call could not reach it); undefined while it answers. */
  consoleDownAt: undefined,
  stream: undefined,
  /** id -> the alert's elements and media state. */
  rows: new Map(),
  /** Devices whose health history is open, and what /api/devices/<id>/health answered (samples, or {error}). */
  historyOpen: new Set(),
  history: new Map(),
};

const timeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clockFmt = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const fmtTime = (iso) => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? timeFmt.format(t) : '—';
};

// ---------------------------------------------------------------- login and errors

function showLogin(message) {
  closeStream();
  ui.app.hidden = true;
  ui.banner.hidden = true;
  ui.login.hidden = false;
  ui.loginError.textContent = message ?? '';
  ui.password.focus();
}

/** An API failure: 401 means the session is missing or expired. */
function handleApiError(err, what) {
  if (err instanceof ApiError && err.status === 401) {
    showLogin('Your session has ended: enter the console password.');
    return;
  }
  // Not an answer at all: the console is down. The banner says so, the last state stays on
  // screen, and the stream's reconnection fetches everything again.
  if (!(err instanceof ApiError)) setConsoleUp(false);
  console.warn(`earshot console: ${what}: ${err?.message ?? err}`);
}

ui.loginForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  ui.loginError.textContent = '';
  try {
    await postJson('/api/login', { password: ui.password.value });
    ui.password.value = '';
    ui.login.hidden = true;
    void start();
  } catch (err) {
    ui.loginError.textContent = err instanceof ApiError && err.status === 401 ? 'Wrong password.' : `Could not log in: ${err.message}`;
  }
});

// ---------------------------------------------------------------- banner

function renderBanner() {
  const parts = [];
  if (state.consoleDownAt !== undefined) {
    const at = ` since ${clockFmt.format(state.consoleDownAt)}`;
    parts.push(`Offline: no connection to the console${at}; reconnecting. Showing the last state received.`);
  } else if (state.status?.mode === 'hq' && state.brokerConnected === false) {
    const at = state.brokerDownAt ? ` since ${clockFmt.format(state.brokerDownAt)}` : '';
    parts.push(`Offline: the console has lost its broker link${at}. Showing the last state received; devices may have changed since.`);
  }
  ui.banner.hidden = parts.length === 0;
  fill(ui.banner, ...parts);
  const mode = state.status?.mode;
  if (mode === 'device') fill(ui.link, 'this device');
  else if (state.brokerConnected === undefined) fill(ui.link, '');
  else fill(ui.link, h('span', { class: `pill ${state.brokerConnected ? 'online' : 'offline'}` }, state.brokerConnected ? 'broker connected' : 'broker offline'));
}

function setBroker(connected) {
  // "since" only when this page saw the link drop; a page opened during an outage cannot know when it began.
  if (connected === false && state.brokerConnected === true) state.brokerDownAt = Date.now();
  if (connected !== false) state.brokerDownAt = undefined;
  state.brokerConnected = connected;
  renderBanner();
}

function setConsoleUp(up) {
  if (!up) state.consoleDownAt ??= Date.now();
  else state.consoleDownAt = undefined;
  renderBanner();
}

// ---------------------------------------------------------------- devices

function renderDevices() {
  const now = Date.now();
  const rank = { online: 0, offline: 1, unknown: 2 };
  const list = [...state.devices.values()].sort((a, b) => (rank[a.state] ?? 3) - (rank[b.state] ?? 3) || a.device.localeCompare(b.device));
  fill(ui.deviceCount, `${list.filter((d) => d.state === 'online').length} of ${list.length} online`);
  fill(
    ui.devices,
    ...list.map((d) => {
      const rows = healthRows(d);
      return h(
        'li',
        { class: `device ${d.state}`, 'data-device': d.device },
        h(
          'div',
          { class: 'device-head' },
          h('button', { type: 'button', class: 'device-name link', title: 'Show this device’s alerts', 'data-device': d.device }, d.device),
          h('span', { class: `pill ${d.state}` }, d.state),
        ),
        h('p', { class: 'device-seen' }, `last seen ${formatAgo(d.lastSeen, now)}`, d.version ? ` · v${d.version}` : ''),
        rows.length
          ? h('dl', { class: 'health' }, ...rows.map(([k, v, warn]) => [h('dt', undefined, k), h('dd', { class: warn ? 'warn' : undefined }, v)]))
          : h('p', { class: 'muted' }, 'no health report yet'),
        d.health?.at ? h('p', { class: 'muted small' }, `health ${formatAgo(d.health.at, now)}`) : null,
        h('button', { type: 'button', class: 'link history-toggle', 'data-history': d.device, 'aria-expanded': String(state.historyOpen.has(d.device)) }, state.historyOpen.has(d.device) ? 'hide the last 24 h' : 'the last 24 h'),
        state.historyOpen.has(d.device) ? historyView(state.history.get(d.device)) : null,
      );
    }),
  );
  if (list.length === 0) ui.devices.append(h('li', { class: 'muted' }, 'No device has reported yet.'));
  const unplaced = drawMap(ui.map, list, state.filter.device);
  fill(ui.mapNote, unplaced > 0 && list.length > unplaced ? `${unplaced} device(s) without a position are not drawn.` : '');
  renderDeviceOptions();
}

// ---------------------------------------------------------------- health history

const HISTORY_FIELDS = [
  ['soundLevelDbfs', 'sound level', 'dBFS'],
  ['batteryPercent', 'battery', '%'],
  ['cpuTempC', 'temperature', '°C'],
];

/** A device's last 24 h of health as sparklines (what a technician checks: does it hear, does it charge). */
function historyView(history) {
  if (history === undefined) return h('p', { class: 'history muted' }, 'loading …');
  if (history.error) return h('p', { class: 'history warn' }, `history: ${history.error}`);
  const lines = HISTORY_FIELDS.map(([field, label, unit]) => {
    const line = sparkline(history, field, 120, 24);
    if (!line) return null;
    const range = line.min === line.max ? `${line.min.toFixed(0)}` : `${line.min.toFixed(0)} to ${line.max.toFixed(0)}`;
    return h(
      'div',
      { class: 'spark', 'data-field': field },
      h('span', { class: 'spark-label' }, `${label} ${range} ${unit}`),
      s('svg', { class: 'spark-svg', viewBox: '0 0 120 24', width: 120, height: 24, role: 'img', 'aria-label': `${label}, ${history.length} samples` }, s('polyline', { class: 'spark-line', points: line.points })),
    );
  }).filter(Boolean);
  return h('div', { class: 'history' }, lines.length ? lines : h('p', { class: 'muted' }, 'no health samples in the last 24 h'), h('p', { class: 'muted small' }, `${history.length} samples, oldest first`));
}

async function loadHistory(device) {
  try {
    state.history.set(device, (await getJson(apiPath('devices', device, 'health'))).health);
  } catch (err) {
    state.history.set(device, { error: err instanceof ApiError ? err.message : 'the console did not answer' });
  }
  scheduleDevices();
}

/** A fleet sends many device updates: the panel is drawn at most every DEVICES_EVERY_MS. */
const DEVICES_EVERY_MS = 250;
let devicesTimer;
function scheduleDevices() {
  devicesTimer ??= setTimeout(() => {
    devicesTimer = undefined;
    renderDevices();
  }, DEVICES_EVERY_MS);
}

function selectOptions(select, values, anyLabel) {
  const current = select.value;
  fill(select, h('option', { value: '' }, anyLabel), ...values.map((v) => h('option', { value: v }, v)));
  select.value = values.includes(current) ? current : '';
}

function renderDeviceOptions() {
  const names = new Set(state.devices.keys());
  for (const a of state.alerts.values()) names.add(a.device);
  if (state.filter.device) names.add(state.filter.device);
  selectOptions(ui.device, [...names].sort(), 'All devices');
}

function renderLabelOptions() {
  if (state.filter.label) state.labels.add(state.filter.label);
  selectOptions(ui.label, [...state.labels].sort(), 'All labels');
}

function upsertDevice(d) {
  if (!d || typeof d.device !== 'string') return;
  const before = state.devices.get(d.device);
  state.devices.set(d.device, d);
  scheduleDevices();
  // An open history follows new samples.
  if (state.historyOpen.has(d.device) && d.health?.at !== before?.health?.at) void loadHistory(d.device);
  // A device came back: its pending clips can be fetched now (the server retries; ask again soon).
  if (d.state === 'online' && before?.state !== 'online') {
    for (const row of state.rows.values()) if (row.pending && row.alert.device === d.device) scheduleMediaRetry(row, RETURN_RETRY_MS);
  }
}

ui.devices.addEventListener('click', (ev) => {
  const toggle = ev.target.closest('button.history-toggle');
  if (toggle) {
    const device = toggle.dataset.history;
    if (state.historyOpen.delete(device)) state.history.delete(device);
    else {
      state.historyOpen.add(device);
      void loadHistory(device);
    }
    renderDevices();
    return;
  }
  const btn = ev.target.closest('button.device-name');
  if (!btn) return;
  ui.device.value = btn.dataset.device;
  applyFilter();
  document.getElementById('alerts').scrollIntoView({ behavior: 'smooth' });
});
ui.map.addEventListener('click', (ev) => {
  const g = ev.target.closest('.map-device');
  if (!g) return;
  ui.device.value = g.dataset.device;
  applyFilter();
});

// ---------------------------------------------------------------- alerts

function clipNote(alert) {
  if (alert.clip) return undefined;
  return alert.state === 'open' ? 'The clip comes when the event closes.' : 'No clip was kept for this event.';
}

function buildRow(alert) {
  const row = { alert, pending: false, retry: undefined, loaded: false };
  row.label = h('span', { class: 'alert-label' });
  row.confidence = h('span', { class: 'confidence' });
  row.state = h('span', { class: 'alert-state' });
  row.badge = h('span', { class: 'review-badge' });
  row.meta = h('p', { class: 'alert-meta' });
  row.models = h('p', { class: 'model-labels' });
  row.img = h('img', { class: 'spectrogram', alt: 'Spectrogram of the clip (time across, frequency up)', decoding: 'async', width: 800, height: 300 });
  row.audio = h('audio', { class: 'clip', controls: true, preload: 'none' });
  row.mediaNote = h('p', { class: 'media-note', role: 'status' });
  row.summary = h('summary', undefined, 'Spectrogram and audio');
  row.details = h('details', { class: 'media' }, row.summary, h('div', { class: 'media-body' }, row.img, row.audio, row.mediaNote));
  row.confirm = h('button', { type: 'button', class: 'verdict confirm', 'data-verdict': 'confirmed', 'aria-pressed': 'false' }, 'Confirm');
  row.falseAlarm = h('button', { type: 'button', class: 'verdict false-alarm', 'data-verdict': 'false_alarm', 'aria-pressed': 'false' }, 'False alarm');
  row.note = h('textarea', { class: 'note', rows: 1, maxlength: 2000, placeholder: 'Note (what was heard, who went)', 'aria-label': 'Review note' });
  row.saveNote = h('button', { type: 'button', class: 'save-note' }, 'Save note');
  row.reviewStatus = h('span', { class: 'review-status', role: 'status' });
  row.review = h('div', { class: 'review' }, h('div', { class: 'verdicts' }, row.confirm, row.falseAlarm, row.reviewStatus), h('div', { class: 'note-row' }, row.note, row.saveNote));
  // Reviews are kept by the HQ console; a device's own console (--device) only shows them.
  row.review.hidden = state.status?.mode === 'device';
  row.root = h(
    'li',
    { class: 'alert', 'data-id': alert.id },
    h('div', { class: 'alert-head' }, row.label, row.confidence, row.state, row.badge),
    row.meta,
    row.models,
    row.details,
    row.review,
  );

  row.details.addEventListener('toggle', () => {
    if (row.details.open) loadMedia(row);
  });
  row.img.addEventListener('load', () => {
    row.img.hidden = false;
    if (!row.pending) setMediaNote(row, '');
  });
  row.img.addEventListener('error', () => explainMedia(row, apiPath('alerts', row.alert.id, 'spectrogram.png')));
  row.audio.addEventListener('error', () => explainMedia(row, apiPath('alerts', row.alert.id, 'clip')));
  for (const btn of [row.confirm, row.falseAlarm]) {
    btn.addEventListener('click', () => {
      const v = btn.dataset.verdict;
      void review(row, row.alert.review?.verdict === v ? null : v);
    });
  }
  row.saveNote.addEventListener('click', () => void review(row, row.alert.review?.verdict ?? null));
  row.note.addEventListener('input', () => (row.noteDirty = true));
  return row;
}

function updateRow(row, alert) {
  const clipChanged = row.alert.clip?.sha256 !== alert.clip?.sha256;
  row.alert = alert;
  row.root.className = `alert ${alert.category ?? ''}${alert.review ? ` reviewed ${alert.review.verdict}` : ''}`;
  fill(row.label, alert.label);
  fill(row.confidence, formatPercent(alert.confidence));
  fill(row.state, alert.state === 'open' ? 'ongoing' : '');
  row.state.hidden = alert.state !== 'open';
  const verdict = alert.review?.verdict;
  fill(row.badge, verdict === 'confirmed' ? 'confirmed' : verdict === 'false_alarm' ? 'false alarm' : '');
  row.badge.hidden = !verdict;
  const duration = Date.parse(alert.end) - Date.parse(alert.start);
  fill(
    row.meta,
    h('span', { class: 'alert-device' }, alert.device),
    ' · ',
    h('time', { datetime: alert.start }, fmtTime(alert.start)),
    ' · ',
    h('span', { class: 'duration', title: 'duration' }, formatDuration(duration)),
    alert.category ? ` · ${alert.category}` : '',
  );
  const labels = Array.isArray(alert.modelLabels) ? alert.modelLabels : [];
  fill(row.models, labels.length ? 'Model: ' : '', ...labels.map((m, i) => [i ? ' · ' : '', h('span', { class: 'model-label' }, String(m.label)), ` ${formatPercent(m.score)}`]));
  row.confirm.setAttribute('aria-pressed', String(verdict === 'confirmed'));
  row.falseAlarm.setAttribute('aria-pressed', String(verdict === 'false_alarm'));
  // Never overwrite what a ranger is typing.
  if (!row.noteDirty && document.activeElement !== row.note) row.note.value = alert.review?.note ?? '';
  const note = clipNote(alert);
  row.summary.textContent = alert.clip ? `Spectrogram and audio (${formatDuration(alert.clip.durationMs)})` : 'Spectrogram and audio';
  if (note) {
    row.img.hidden = true;
    row.audio.hidden = true;
    setMediaNote(row, note);
  } else if (clipChanged || !row.loaded) {
    // A clip appeared, or a later version kept another: show that one.
    row.loaded = false;
    setMediaNote(row, '');
    if (row.details.open) loadMedia(row);
  }
}

function setMediaNote(row, text) {
  row.mediaNote.textContent = text;
  row.mediaNote.hidden = !text;
}

/** Points the picture and the player at the alert's clip (on demand: when the ranger opens it). */
function loadMedia(row) {
  if (!row.alert.clip || row.loaded) return;
  row.loaded = true;
  row.img.hidden = false;
  row.audio.hidden = false;
  setMediaNote(row, 'Loading the clip…');
  row.img.src = apiPath('alerts', row.alert.id, 'spectrogram.png');
  row.audio.src = apiPath('alerts', row.alert.id, 'clip');
  row.audio.load();
}

/** The picture or the audio failed: ask the API why and say it. */
async function explainMedia(row, path) {
  if (!row.loaded) return;
  const why = await whyNot(path);
  if (why.status === 401) return showLogin('Your session has ended: enter the console password.');
  if (why.status === 503 && why.pending) {
    row.pending = true;
    row.img.hidden = true;
    row.audio.hidden = true;
    setMediaNote(row, 'Device offline — the clip will be fetched when it returns.');
    scheduleMediaRetry(row, PENDING_RETRY_MS);
  } else if (why.status === 404) {
    row.img.hidden = true;
    row.audio.hidden = true;
    setMediaNote(row, `No clip: ${why.error ?? 'not found'}.`);
  } else if (why.status >= 200 && why.status < 300) {
    // Fine now (the clip arrived in between): load again.
    scheduleMediaRetry(row, 0);
  } else {
    setMediaNote(row, `Could not load the clip: ${why.error ?? `HTTP ${why.status}`}. It will be tried again.`);
    scheduleMediaRetry(row, PENDING_RETRY_MS);
  }
}

function scheduleMediaRetry(row, ms) {
  clearTimeout(row.retry);
  row.retry = setTimeout(() => {
    row.retry = undefined;
    if (!state.rows.has(row.alert.id)) return;
    row.pending = false;
    row.loaded = false;
    if (row.details.open) loadMedia(row);
  }, ms);
}

async function review(row, verdict) {
  row.reviewStatus.textContent = 'Saving…';
  try {
    const updated = await postJson(apiPath('alerts', row.alert.id, 'review'), { verdict, note: row.note.value });
    row.noteDirty = false;
    row.reviewStatus.textContent = 'Saved.';
    mergeAlert(updated);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin('Your session has ended: enter the console password.');
    row.reviewStatus.textContent = `Not saved: ${err.message}`;
  }
}

/** Puts the feed's rows in order (threats first, then newest), reusing the elements. */
function renderAlerts() {
  const shown = [...state.alerts.values()].filter((a) => matchesFilter(a, state.filter)).sort(compareAlerts);
  const keep = new Set(shown.map((a) => a.id));
  for (const [id, row] of state.rows) {
    if (!keep.has(id)) {
      clearTimeout(row.retry);
      row.root.remove();
      state.rows.delete(id);
    }
  }
  let prev = null;
  for (const a of shown) {
    let row = state.rows.get(a.id);
    if (!row) {
      row = buildRow(a);
      state.rows.set(a.id, row);
      updateRow(row, a);
    }
    const want = prev ? prev.nextSibling : ui.alerts.firstChild;
    if (want !== row.root) ui.alerts.insertBefore(row.root, want);
    prev = row.root;
  }
  const threats = shown.filter((a) => a.category === 'threat' && !a.review).length;
  fill(ui.alertCount, `${shown.length} shown${threats ? ` · ${threats} threat(s) to review` : ''}`);
  ui.alertEmpty.hidden = shown.length > 0;
  document.title = threats ? `(${threats}) Earshot console` : 'Earshot console';
}

/** A new alert or a new version of one (stream, review answer). */
function mergeAlert(alert, fresh = false) {
  if (!alert || typeof alert.id !== 'string') return;
  const current = state.alerts.get(alert.id);
  if (!isNewer(current, alert)) return;
  state.alerts.set(alert.id, alert);
  if (state.alerts.size > 2 * LIMIT) trimAlerts();
  const row = state.rows.get(alert.id);
  if (row) updateRow(row, alert);
  if (!state.labels.has(alert.label)) {
    state.labels.add(alert.label);
    renderLabelOptions();
  }
  if (!state.devices.has(alert.device) && ![...ui.device.options].some((o) => o.value === alert.device)) renderDeviceOptions();
  renderAlerts();
  if (fresh && !current) {
    const r = state.rows.get(alert.id);
    if (r) {
      r.root.classList.add('new');
      setTimeout(() => r.root.classList.remove('new'), 4000);
    }
  }
}

/**
 * A page left open on a busy fleet keeps the LIMIT first alerts (threats first, newest) that the
 * filter shows, and as many of the others (labels for the filter), not everything it was sent.
 */
function trimAlerts() {
  const all = [...state.alerts.values()].sort(compareAlerts);
  const shown = all.filter((a) => matchesFilter(a, state.filter)).slice(0, LIMIT);
  const others = all.filter((a) => !matchesFilter(a, state.filter)).slice(0, LIMIT);
  state.alerts = new Map([...shown, ...others].map((a) => [a.id, a]));
}

async function loadAlerts() {
  const { alerts } = await getJson(`/api/alerts?${alertsQuery(state.filter, LIMIT)}`);
  const next = new Map();
  for (const a of alerts) {
    const mine = state.alerts.get(a.id);
    next.set(a.id, mine && !isNewer(mine, a) ? mine : a);
    state.labels.add(a.label);
  }
  state.alerts = next;
  for (const [id, row] of state.rows) if (next.has(id)) updateRow(row, next.get(id));
  renderLabelOptions();
  renderDeviceOptions();
  renderAlerts();
}

async function loadDevices() {
  const { devices } = await getJson('/api/devices');
  state.devices = new Map(devices.map((d) => [d.device, d]));
  renderDevices();
}

async function loadStatus() {
  state.status = await getJson('/api/status');
  fill(ui.version, state.status.version ? `Earshot ${state.status.version}` : '');
  setBroker(state.status.broker ? Boolean(state.status.broker.connected) : undefined);
}

// ---------------------------------------------------------------- filters

function applyFilter() {
  const custom = ui.range.value === 'custom';
  ui.custom.hidden = !custom;
  const win = timeWindow(ui.range.value, Date.now(), Date.parse(ui.since.value), Date.parse(ui.until.value));
  state.filter = { label: ui.label.value, device: ui.device.value, ...win };
  renderAlerts();
  renderDevices();
  loadAlerts().catch((err) => handleApiError(err, 'loading alerts'));
}

ui.filterForm.addEventListener('change', applyFilter);
ui.filterForm.addEventListener('submit', (ev) => ev.preventDefault());
ui.filterForm.addEventListener('reset', () => setTimeout(applyFilter, 0));

// ---------------------------------------------------------------- the stream

function parse(ev) {
  try {
    return JSON.parse(ev.data);
  } catch {
    return undefined;
  }
}

function closeStream() {
  state.stream?.close();
  state.stream = undefined;
}

function openStream() {
  closeStream();
  const es = new EventSource('/api/stream');
  state.stream = es;
  let opened = false;
  es.addEventListener('open', () => {
    const again = opened || state.consoleDownAt !== undefined;
    opened = true;
    setConsoleUp(true);
    // After a drop, what happened meanwhile is fetched again (merging keeps the highest rev).
    if (again) void refresh();
  });
  es.addEventListener('alert', (ev) => mergeAlert(parse(ev), true));
  es.addEventListener('device', (ev) => upsertDevice(parse(ev)));
  es.addEventListener('broker', (ev) => setBroker(Boolean(parse(ev)?.connected)));
  es.addEventListener('error', () => {
    if (state.stream !== es) return;
    setConsoleUp(false);
    // EventSource retries by itself unless the answer was not a stream (e.g. 401): then we check.
    if (es.readyState === EventSource.CLOSED) setTimeout(() => void reconnect(es), 3000);
  });
}

async function reconnect(es) {
  if (state.stream !== es) return;
  try {
    await loadStatus();
    openStream();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin('Your session has ended: enter the console password.');
    setTimeout(() => void reconnect(es), 5000);
  }
}

let refreshTimer;
async function refresh() {
  clearTimeout(refreshTimer);
  try {
    await Promise.all([loadStatus(), loadDevices(), loadAlerts()]);
    setConsoleUp(true);
  } catch (err) {
    handleApiError(err, 'loading the console state');
    // Unreachable: try again (the stream, when it comes back, also refreshes).
    if (!(err instanceof ApiError)) refreshTimer = setTimeout(() => void refresh(), 5000);
  }
}

// ---------------------------------------------------------------- start

async function start() {
  try {
    await loadStatus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin();
    ui.app.hidden = false;
    setConsoleUp(false);
    setTimeout(() => void start(), 5000);
    return;
  }
  ui.app.hidden = false;
  openStream();
  await refresh();
}

// "last seen 2 min ago" stays true.
setInterval(() => {
  if (!ui.app.hidden) renderDevices();
}, 15_000);
window.addEventListener('pagehide', closeStream);

void start();
