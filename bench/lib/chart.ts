/** One bar of the chart: how many times the limit's cost a measure is (1 = as good as the limit). */
export interface Bar {
  readonly label: string;
  readonly factor: number;
}

/** One line of the memory panel: RSS in MiB, one sample a second. */
export interface Series {
  readonly label: string;
  readonly colour: string;
  readonly values: readonly number[];
}

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * A self-contained SVG: horizontal bars of each measure's cost relative to the limit (log scale,
 * the limit at 1), and beneath them the dashboard run's RSS over time for each target.
 */
export function renderChart(title: string, bars: readonly Bar[], memory: readonly Series[]) {
  const width = 760;
  const left = 300;
  const barHeight = 22;
  const top = 48;
  const plotWidth = width - left - 60;
  const finite = bars.filter((bar) => Number.isFinite(bar.factor) && bar.factor > 0);
  const maxFactor = Math.max(2, ...finite.map((bar) => bar.factor));
  const maxLog = Math.log10(maxFactor) * 1.05;
  const minLog = Math.log10(0.5);
  const x = (factor: number) =>
    left + ((Math.log10(Math.max(0.5, factor)) - minLog) / (maxLog - minLog)) * plotWidth;
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" font-size="11" fill="#555">times the limit's cost (latency, memory) or the limit's throughput over ours; 1 = as good as the limit; log scale</text>`,
  );
  bars.forEach((bar, index) => {
    const y = top + index * (barHeight + 6);
    const ok = Number.isFinite(bar.factor) && bar.factor > 0;
    const end = ok ? x(bar.factor) : left;
    const colour = !ok
      ? '#999'
      : bar.factor <= 2
        ? '#2e7d32'
        : bar.factor <= 5
          ? '#f9a825'
          : '#c62828';
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(bar.label)}</text>`,
      `<rect x="${x(0.5)}" y="${y}" width="${Math.max(1, end - x(0.5))}" height="${barHeight}" fill="${colour}"/>`,
      `<text x="${end + 4}" y="${y + 15}" font-size="12">${ok ? `x${bar.factor.toFixed(2)}` : 'n/a'}</text>`,
    );
  });
  const barsBottom = top + bars.length * (barHeight + 6);
  parts.push(
    `<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${barsBottom}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${x(1)}" y="${barsBottom + 14}" text-anchor="middle" font-size="11">limit</text>`,
  );
  let height = barsBottom + 30;
  const samples = memory.filter((series) => series.values.length > 1);
  if (samples.length > 0) {
    const panelTop = height + 24;
    const panelHeight = 160;
    const maxMiB = Math.max(...samples.flatMap((series) => series.values)) * 1.1;
    const count = Math.max(...samples.map((series) => series.values.length));
    const px = (i: number) => left + (i / Math.max(1, count - 1)) * plotWidth;
    const py = (mib: number) => panelTop + panelHeight - (mib / maxMiB) * panelHeight;
    parts.push(
      `<text x="${left - 8}" y="${panelTop + 12}" text-anchor="end" font-size="12">dashboard: server RSS (MiB)</text>`,
      `<text x="${left - 8}" y="${panelTop + 28}" text-anchor="end" font-size="11" fill="#555">one sample a second</text>`,
      `<line x1="${left}" y1="${panelTop + panelHeight}" x2="${left + plotWidth}" y2="${panelTop + panelHeight}" stroke="#000"/>`,
      `<line x1="${left}" y1="${panelTop}" x2="${left}" y2="${panelTop + panelHeight}" stroke="#000"/>`,
      `<text x="${left - 4}" y="${panelTop + 4}" text-anchor="end" font-size="10">${maxMiB.toFixed(0)}</text>`,
      `<text x="${left - 4}" y="${panelTop + panelHeight}" text-anchor="end" font-size="10">0</text>`,
    );
    samples.forEach((series, index) => {
      const points = series.values.map((mib, i) => `${px(i).toFixed(1)},${py(mib).toFixed(1)}`);
      parts.push(
        `<polyline fill="none" stroke="${series.colour}" stroke-width="2" points="${points.join(' ')}"/>`,
        `<text x="${left + 8}" y="${panelTop + panelHeight + 18 + index * 14}" font-size="11" fill="${series.colour}">${escapeXml(series.label)}</text>`,
      );
    });
    height = panelTop + panelHeight + 24 + samples.length * 14;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}
