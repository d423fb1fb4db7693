// The dashboard: polls /api/stats for the live cards, draws /api/series for the
// picked device and metric, and lists /api/anomalies. No framework, no build step.
import { CHART_AGGS, createChart, partialBucket } from './chart.js';

const STATS_EVERY_MS = 2000;
const DATA_EVERY_MS = 15000;
const FLEET = '*';
/** The first pick asks the latest readings of at most this many devices, the most recently seen. */
const PICK_AMONG = 8;

const $ = (id) => document.getElementById(id);
const num = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const precise = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const counted = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const chart = createChart($('chart'));
/** Only the newest chart request may draw: a slow answer for the previous device must not win. */
let chartRequest = 0;
let previousStats;

/** Kept for the tab only: the gateway asks for it when --api-token is set or HTTP is not on loopback. */
const TOKEN_KEY = 'gateway-api-token';

async function getJson(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (res.status === 401) $('token-form').hidden = false;
  const body = await res.json();
  if (!res.ok)
    throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function setStatus(text, down = false) {
  $('status').textContent = text;
  $('status').classList.toggle('down', down);
}

async function refreshStats() {
  try {
    const stats = await getJson('/api/stats');
    if (previousStats !== undefined && stats.at > previousStats.at) {
      const perSecond =
        ((stats.totals.readingsStored - previousStats.totals.readingsStored) * 1000) /
        (stats.at - previousStats.at);
      $('ingest-rate').textContent = num.format(perSecond);
    }
    previousStats = stats;
    $('connected').textContent = num.format(stats.connectedClients);
    $('stored').textContent = num.format(stats.totals.readingsStored);
    $('rejected').textContent = num.format(stats.totals.rejected);
    showForward(stats.forward);
    setStatus(`updated ${new Date(stats.at).toLocaleTimeString()}`);
  } catch (err) {
    setStatus(`gateway unreachable (${err.message})`, true);
  }
}

/** With --forward (docs/edge.md): the backlog still owed upstream, its age and the link. */
function showForward(forward) {
  $('forward-card').hidden = forward === undefined;
  if (forward === undefined) return;
  $('forward-backlog').textContent = num.format(forward.backlogReadings);
  const link = forward.connected ? 'upstream connected' : 'upstream down';
  $('forward-detail').textContent = `readings, oldest ${num.format(forward.backlogAgeS)} s; ${link}`;
}

function fillSelect(select, items, keep) {
  const value = keep ?? select.value;
  select.replaceChildren(...items.map(([v, label]) => new Option(label, v)));
  if (items.some(([v]) => v === value)) select.value = value;
}

async function refreshDevices() {
  const { devices } = await getJson('/api/devices');
  const items = devices.map((d) => [d.deviceId, d.deviceId]);
  if (items.length > 1) items.push([FLEET, 'all devices (fleet)']);
  // Once the user (or the first pick) has chosen, a refresh keeps that choice.
  const keep = $('device').value === '' ? await deviceWithRecentData(devices) : undefined;
  fillSelect($('device'), items, keep);
}

/**
 * The device whose newest reading is the newest. lastSeen is when the gateway
 * last heard from a device, not how old its data is (a device may send only
 * late readings), so the latest readings of the most recently seen decide.
 */
async function deviceWithRecentData(devices) {
  const candidates = [...devices].sort((a, b) => b.lastSeen - a.lastSeen).slice(0, PICK_AMONG);
  const newest = await Promise.all(
    candidates.map(async (d) => {
      try {
        const { readings } = await getJson(`/api/devices/${encodeURIComponent(d.deviceId)}/latest`);
        return Math.max(...readings.map((r) => r.ts));
      } catch {
        return Number.NEGATIVE_INFINITY; // no readings (404): any other device does better
      }
    }),
  );
  let best = 0;
  for (let i = 1; i < candidates.length; i++) if (newest[i] > newest[best]) best = i;
  return candidates[best]?.deviceId;
}

async function refreshMetrics() {
  const device = $('device').value;
  if (!device) return;
  // A glob offers every metric any device has; one device, the metrics it has.
  const metrics =
    device === FLEET
      ? (await getJson('/api/metrics')).metrics.map((m) => m.metric)
      : (await getJson(`/api/devices/${encodeURIComponent(device)}/latest`)).readings.map((r) => r.metric);
  fillSelect(
    $('metric'),
    metrics.map((m) => [m, m]),
  );
}

async function refreshChart() {
  const device = $('device').value;
  const metric = $('metric').value;
  const el = $('chart');
  if (!device || !metric) {
    showChartError(new Error(device ? 'No metrics stored for this device.' : 'Pick a device.'));
    return;
  }
  const [from, bucket] = $('range').value.split('|');
  const request = ++chartRequest;
  el.dataset.state = 'loading';
  const query = new URLSearchParams({ device, metric, from, bucket, agg: CHART_AGGS });
  try {
    const series = await getJson(`/api/series?${query}`);
    if (request !== chartRequest) return;
    chart.draw(series);
    const last = series.points.findLast((p) => p.values.avg !== null);
    const partial = partialBucket(series);
    $('chart-info').textContent =
      `${counted(series.points.length, 'bucket')} of ${series.bucket} from the ${series.tier} tier, ` +
      counted(series.devices, 'device') +
      (last === undefined ? '' : ` · latest avg ${precise.format(last.values.avg)}`) +
      (partial === undefined
        ? ''
        : ` · the last bucket is partial (until ${clock.format(partial.bucketStart + series.bucketMs)})`);
    $('chart-info').classList.remove('error');
    Object.assign(el.dataset, {
      state: 'ready',
      device,
      metric,
      points: String(series.points.length),
      readings: String(series.points.reduce((n, p) => n + (p.values.count ?? 0), 0)),
      partial: partial === undefined ? '' : String(partial.bucketStart),
    });
  } catch (err) {
    if (request !== chartRequest) return;
    showChartError(err);
  }
}

/** A failed query clears the chart: the previous one would pass for its answer. */
function showChartError(err) {
  chartRequest++; // an answer still in flight must not draw over this
  chart.clear();
  const el = $('chart');
  for (const key of ['device', 'metric', 'points', 'readings', 'partial']) delete el.dataset[key];
  el.dataset.state = 'error';
  $('chart-info').textContent = err.message;
  $('chart-info').classList.add('error');
}

async function refreshAnomalies() {
  const { anomalies } = await getJson('/api/anomalies?from=-24h&limit=20');
  const rows = anomalies.map((a) => {
    const tr = document.createElement('tr');
    const cells = [
      new Date(a.ts).toLocaleString(),
      a.deviceId,
      a.metric,
      a.state,
      precise.format(a.value),
      `${precise.format(a.expectedLow)} … ${precise.format(a.expectedHigh)}`,
      precise.format(a.score),
    ];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i >= 4) td.className = 'num';
      if (i === 3) td.className = a.state;
      tr.append(td);
    });
    return tr;
  });
  $('anomalies').tBodies[0].replaceChildren(...rows);
  $('anomalies-empty').hidden = rows.length > 0;
}

function reportAnomalies(err) {
  $('anomalies').tBodies[0].replaceChildren();
  $('anomalies-empty').textContent = err.message;
  $('anomalies-empty').hidden = false;
}

async function refreshData() {
  await Promise.all([
    refreshDevices().then(refreshMetrics).then(refreshChart).catch(showChartError),
    refreshAnomalies().catch(reportAnomalies),
  ]);
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('token-form').hidden = true;
  refreshStats();
  refreshData();
});
$('device').addEventListener('change', () => refreshMetrics().then(refreshChart).catch(showChartError));
$('metric').addEventListener('change', refreshChart);
$('range').addEventListener('change', refreshChart);

refreshStats();
setInterval(refreshStats, STATS_EVERY_MS);
refreshData();
setInterval(refreshData, DATA_EVERY_MS);
