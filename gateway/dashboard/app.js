// The dashboard: polls /api/stats for the live cards, draws /api/series for the
// picked device and metric, and lists /api/anomalies. No framework, no build step.
import { CHART_AGGS, createChart } from './chart.js';

const STATS_EVERY_MS = 2000;
const DATA_EVERY_MS = 15000;
const FLEET = '*';

const $ = (id) => document.getElementById(id);
const num = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const precise = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
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
    setStatus(`updated ${new Date(stats.at).toLocaleTimeString()}`);
  } catch (err) {
    setStatus(`gateway unreachable (${err.message})`, true);
  }
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
  fillSelect($('device'), items);
}

async function refreshMetrics() {
  const device = $('device').value;
  // A glob has no latest readings of its own; the first device's metrics stand in.
  const id = device === FLEET ? $('device').options[0]?.value : device;
  if (!id) return;
  const { readings } = await getJson(`/api/devices/${encodeURIComponent(id)}/latest`);
  fillSelect(
    $('metric'),
    readings.map((r) => [r.metric, r.metric]),
  );
}

async function refreshChart() {
  const device = $('device').value;
  const metric = $('metric').value;
  const el = $('chart');
  if (!device || !metric) return;
  const [from, bucket] = $('range').value.split('|');
  const request = ++chartRequest;
  el.dataset.state = 'loading';
  const query = new URLSearchParams({ device, metric, from, bucket, agg: CHART_AGGS });
  try {
    const series = await getJson(`/api/series?${query}`);
    if (request !== chartRequest) return;
    chart.draw(series);
    const last = series.points.findLast((p) => p.values.avg !== null);
    const devices = series.devices === 1 ? '1 device' : `${series.devices} devices`;
    $('chart-info').textContent =
      `${series.points.length} buckets of ${series.bucket} from the ${series.tier} tier, ${devices}` +
      (last === undefined ? '' : ` · latest avg ${precise.format(last.values.avg)}`);
    $('chart-info').classList.remove('error');
    Object.assign(el.dataset, { state: 'ready', device, metric, points: String(series.points.length) });
  } catch (err) {
    if (request !== chartRequest) return;
    el.dataset.state = 'error';
    $('chart-info').textContent = err.message;
    $('chart-info').classList.add('error');
  }
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

function report(err) {
  $('chart-info').textContent = err.message;
  $('chart-info').classList.add('error');
}

async function refreshData() {
  await refreshDevices();
  await refreshMetrics();
  await Promise.all([refreshChart(), refreshAnomalies()]);
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('token-form').hidden = true;
  refreshStats();
  refreshData().catch(report);
});
$('device').addEventListener('change', () => refreshMetrics().then(refreshChart).catch(report));
$('metric').addEventListener('change', () => refreshChart().catch(report));
$('range').addEventListener('change', () => refreshChart().catch(report));

refreshStats();
setInterval(refreshStats, STATS_EVERY_MS);
refreshData().catch(report);
setInterval(() => refreshData().catch(report), DATA_EVERY_MS);
