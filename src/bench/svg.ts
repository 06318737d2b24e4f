/** A hand-written SVG chart: panels of grouped bars, each with its own scale, labels on bars. */

export interface Bar {
  series: string;
  /** null: not measured (drawn as a label, no bar). */
  value: number | null;
  label?: string;
}

export interface Panel {
  title: string;
  /** Axis note, e.g. "ms (lower is better)". */
  unit: string;
  groups: { label: string; bars: Bar[] }[];
}

const PALETTE = ['#3b6fb6', '#e07b39', '#59a14f', '#9c6ade', '#b07aa1', '#76b7b2'];
const W = 460;
const H = 260;
const PAD = { top: 44, right: 16, bottom: 56, left: 16 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function panelSvg(p: Panel, x0: number, y0: number, colors: Map<string, string>): string {
  const out: string[] = [];
  const max = Math.max(1e-12, ...p.groups.flatMap((g) => g.bars.map((b) => b.value ?? 0)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const baseY = y0 + PAD.top + plotH;
  out.push(`<rect x="${x0 + 4}" y="${y0 + 4}" width="${W - 8}" height="${H - 8}" fill="#fff" stroke="#ddd"/>`);
  out.push(`<text x="${x0 + W / 2}" y="${y0 + 22}" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<text x="${x0 + W / 2}" y="${y0 + 37}" text-anchor="middle" font-size="10" fill="#666">${esc(p.unit)}</text>`);
  out.push(`<line x1="${x0 + PAD.left}" y1="${baseY}" x2="${x0 + W - PAD.right}" y2="${baseY}" stroke="#333"/>`);
  const gw = plotW / p.groups.length;
  p.groups.forEach((g, gi) => {
    const n = g.bars.length;
    const bw = Math.min(48, (gw * 0.8) / n);
    const gx = x0 + PAD.left + gi * gw + (gw - bw * n) / 2;
    g.bars.forEach((b, bi) => {
      const x = gx + bi * bw;
      const cx = x + bw / 2;
      const color = colors.get(b.series)!;
      if (b.value === null) {
        out.push(`<text x="${cx}" y="${baseY - 6}" text-anchor="start" font-size="9" fill="#999" transform="rotate(-90 ${cx} ${baseY - 6})">${esc(b.label ?? 'not measured')}</text>`);
        return;
      }
      const h = (b.value / max) * (plotH - 14);
      out.push(`<rect x="${x + 1}" y="${baseY - h}" width="${bw - 2}" height="${h}" fill="${color}"><title>${esc(`${b.series}: ${b.label ?? b.value}`)}</title></rect>`);
      out.push(`<text x="${cx}" y="${baseY - h - 3}" text-anchor="middle" font-size="9">${esc(b.label ?? String(b.value))}</text>`);
    });
    out.push(`<text x="${x0 + PAD.left + gi * gw + gw / 2}" y="${baseY + 14}" text-anchor="middle" font-size="10">${esc(g.label)}</text>`);
  });
  // Legend, bottom.
  const series = [...new Set(p.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  let lx = x0 + PAD.left;
  for (const s of series) {
    out.push(`<rect x="${lx}" y="${baseY + 26}" width="10" height="10" fill="${colors.get(s)}"/>`);
    out.push(`<text x="${lx + 14}" y="${baseY + 35}" font-size="10">${esc(s)}</text>`);
    lx += 22 + s.length * 5.6;
  }
  return out.join('\n');
}

/** Panels in a grid of `cols` columns, one SVG document. */
export function chartSvg(title: string, panels: Panel[], cols = 2): string {
  const colors = new Map<string, string>();
  for (const p of panels) for (const g of p.groups) for (const b of g.bars) if (!colors.has(b.series)) colors.set(b.series, PALETTE[colors.size % PALETTE.length]);
  const rows = Math.ceil(panels.length / cols);
  const width = cols * W;
  const height = rows * H + 40;
  const body = panels.map((p, i) => panelSvg(p, (i % cols) * W, 40 + Math.floor(i / cols) * H, colors)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">
<rect width="100%" height="100%" fill="#f7f7f7"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">Folio benchmarks</text>
<text x="${width / 2}" y="35" text-anchor="middle" font-size="8.5" fill="#444">${esc(title)}</text>
${body}
</svg>
`;
}
