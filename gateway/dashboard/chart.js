// The series chart: a min–max band, the average and p95 per bucket, and a
// hollow marker on the bucket still filling (partial).
// uPlot is the global from /vendor/uplot/uPlot.iife.min.js.
/* global uPlot */

export const CHART_AGGS = 'count,min,max,avg,p95';
const HEIGHT = 300;
export const PARTIAL_COLOUR = '#9333ea';

/**
 * The bucket that ends after the time of the query is still filling. The
 * dashboard asks up to now, so the answer's `to` is that time, on the gateway's clock.
 * @param {{to: number, bucketMs: number, points: {bucketStart: number}[]}} series
 */
export function partialBucket(series) {
  const last = series.points.at(-1);
  return last !== undefined && last.bucketStart + series.bucketMs > series.to ? last : undefined;
}

/** @param {HTMLElement} el */
export function createChart(el) {
  /** @type {any} */
  let plot;
  /** The asked-for range in seconds: an hour with three buckets of data still shows as an hour. */
  let range = [0, 0];
  const options = () => ({
    width: el.clientWidth,
    height: HEIGHT,
    scales: { x: { time: true, range: () => range } },
    series: [
      {},
      { label: 'max', stroke: 'rgba(37, 99, 235, 0.45)', width: 1, points: { show: false } },
      { label: 'min', stroke: 'rgba(37, 99, 235, 0.45)', width: 1, points: { show: false } },
      { label: 'avg', stroke: '#2563eb', width: 2 },
      { label: 'p95', stroke: '#c2410c', width: 1.5, dash: [6, 4] },
      // The partial bucket's avg alone: one hollow, dashed ring, no line.
      {
        label: 'partial bucket (avg so far)',
        stroke: PARTIAL_COLOUR,
        width: 0,
        points: { show: true, size: 14, width: 2.5, dash: [3, 2], fill: '#fff' },
      },
    ],
    // uPlot bands fill between two series: [upper, lower].
    bands: [{ series: [1, 2], fill: 'rgba(37, 99, 235, 0.12)' }],
  });
  addEventListener('resize', () => plot?.setSize({ width: el.clientWidth, height: HEIGHT }));

  return {
    /** @param {{from: number, to: number, bucketMs: number, points: {bucketStart: number, values: Record<string, number|null>}[]}} series */
    draw(series) {
      // From the first whole bucket: the answer starts there, not at `from`.
      range = [(Math.floor(series.from / series.bucketMs) * series.bucketMs) / 1000, series.to / 1000];
      const partial = partialBucket(series);
      const columns = [[], [], [], [], [], []];
      for (const p of series.points) {
        columns[0].push(p.bucketStart / 1000); // uPlot's time scale is in seconds
        columns[1].push(p.values.max);
        columns[2].push(p.values.min);
        columns[3].push(p.values.avg);
        columns[4].push(p.values.p95);
        columns[5].push(p === partial ? p.values.avg : null);
      }
      if (plot === undefined) plot = new uPlot(options(), columns, el);
      else plot.setData(columns);
    },
    /** No chart at all: after a failed query an old one would pass for the answer. */
    clear() {
      plot?.destroy();
      plot = undefined;
    },
  };
}
