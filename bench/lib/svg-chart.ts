// A dependency-free line chart, enough to show how a cost grows with scale.

export interface ChartSeries {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export function lineChartSvg(opts: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
}): string {
  const width = 640;
  const height = 360;
  const pad = { left: 70, right: 20, top: 40, bottom: 50 };
  const all = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p[0])) * 1.05;
  const yMax = Math.max(...all.map((p) => p[1])) * 1.15;
  const x = (v: number) => pad.left + (v / xMax) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const ticks = (max: number) => Array.from({ length: 5 }, (_, i) => (max / 4) * i);
  const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : v.toFixed(0));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<title>${opts.title}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${opts.title}</text>`,
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${opts.xLabel}</text>`,
    `<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">${opts.yLabel}</text>`,
  ];
  for (const t of ticks(yMax)) {
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${pad.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of ticks(xMax))
    parts.push(`<text x="${x(t)}" y="${height - pad.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  opts.series.forEach((s, i) => {
    const d = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.points)
      parts.push(`<circle cx="${x(p[0])}" cy="${y(p[1])}" r="3.5" fill="${s.color}"/>`);
    parts.push(
      `<text x="${pad.left + 10}" y="${pad.top + 14 + i * 16}" fill="${s.color}">● ${s.name}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
