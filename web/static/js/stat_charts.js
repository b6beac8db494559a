// SVG charts of the statistics page that charts.js lacks: horizontal bars for long names
// (alert kinds, plates), one row each.

import { esc } from "./ui.js";

const W = 680;
const TOP = 16; // px above the first bar

/** Horizontal bars for [{label, value}] in the order given, names on the left. */
export function hBarChart(data, { colour = "#1e63c4", format = (v) => Math.round(v), max = null } = {}) {
  const row = 26;
  const nameW = 190;
  const height = TOP + data.length * row + 8;
  const maxValue = max ?? Math.max(...data.map((d) => d.value), 1e-9);
  const plotW = W - nameW - 70;
  const bars = data.map((d, i) => {
    const y = TOP + i * row;
    const w = Math.max((plotW * d.value) / maxValue, d.value > 0 ? 2 : 0);
    return `<text x="${nameW - 8}" y="${y + 15}" text-anchor="end" class="name">${esc(d.label)}</text>
      <rect x="${nameW}" y="${y + 3}" width="${w}" height="${row - 8}" fill="${d.colour || colour}"><title>${esc(d.label)}: ${esc(format(d.value))}</title></rect>
      <text x="${nameW + w + 6}" y="${y + 15}" class="value">${esc(format(d.value))}</text>`;
  }).join("");
  return `<svg class="chart hbar" viewBox="0 0 ${W} ${height}" role="img">${bars}</svg>`;
}
