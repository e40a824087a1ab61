/** A small SVG of the benchmark's figures: no charting dependency for a handful of bars. */
export interface ChartSection {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number }>;
}

const WIDTH = 760;
const LABEL = 260;
const BAR_HEIGHT = 18;
const GAP = 6;

export function renderChart(title: string, sections: ChartSection[]): string {
  const parts: string[] = [];
  let y = 40;
  parts.push(`<text x="10" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  for (const section of sections) {
    const max = Math.max(...section.bars.map((bar) => bar.value), 1);
    parts.push(
      `<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${escapeXml(section.title)} (${escapeXml(section.unit)})</text>`,
    );
    y += 24;
    for (const bar of section.bars) {
      const width = Math.max(1, Math.round(((WIDTH - LABEL - 90) * bar.value) / max));
      parts.push(
        `<text x="10" y="${y + 13}" font-size="12">${escapeXml(bar.label)}</text>`,
        `<rect x="${LABEL}" y="${y}" width="${width}" height="${BAR_HEIGHT}" fill="#4a7fb5"/>`,
        `<text x="${LABEL + width + 6}" y="${y + 13}" font-size="12">${bar.value.toLocaleString('en-US')}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    }
    y += 12;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
