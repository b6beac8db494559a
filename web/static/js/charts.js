// Small SVG charts (bars and a line) with no library: enough for the planning page.

import { esc } from "./ui.js";

const W = 680;
const H = 220;
const PAD = { left: 48, right: 12, top: 14, bottom: 30 };

function frame(maxValue, ticks, format) {
  const plotH = H - PAD.top - PAD.bottom;
  let grid = "";
  for (let i = 0; i <= ticks; i += 1) {
    const v = (maxValue * i) / ticks;
    const y = PAD.top + plotH - (plotH * i) / ticks;
    grid += `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#e3e8ed"/>
      <text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${esc(format(v))}</text>`;
  }
  return grid;
}

/** Bars for [{label, value}]; `format` turns a value into axis and bar text. */
export function barChart(data, { colour = "#1e63c4", format = (v) => Math.round(v) } = {}) {
  if (!data.length) return `<svg class="chart" viewBox="0 0 ${W} 40"><text x="10" y="24">–</text></svg>`;
  const maxValue = Math.max(...data.map((d) => d.value), 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / data.length;
  const bars = data.map((d, i) => {
    const h = (plotH * d.value) / maxValue;
    const x = PAD.left + i * step + step * 0.15;
    const y = PAD.top + plotH - h;
    return `<rect x="${x}" y="${y}" width="${step * 0.7}" height="${h}" fill="${colour}"><title>${esc(d.label)}: ${esc(format(d.value))}</title></rect>
      <text x="${x + step * 0.35}" y="${H - 10}" text-anchor="middle">${esc(d.label)}</text>`;
  }).join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${frame(maxValue, 4, format)}${bars}</svg>`;
}

/** A line with points for [{label, value}] on a 0..max axis. */
export function lineChart(data, { colour = "#2e7d32", max = null, format = (v) => v } = {}) {
  if (!data.length) return `<svg class="chart" viewBox="0 0 ${W} 40"><text x="10" y="24">–</text></svg>`;
  const maxValue = max ?? Math.max(...data.map((d) => d.value), 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / data.length;
  const pts = data.map((d, i) => [PAD.left + step * (i + 0.5), PAD.top + plotH - (plotH * d.value) / maxValue]);
  const labels = data.map((d, i) => `<circle cx="${pts[i][0]}" cy="${pts[i][1]}" r="4" fill="${colour}"><title>${esc(d.label)}: ${esc(format(d.value))}</title></circle>
    <text x="${pts[i][0]}" y="${H - 10}" text-anchor="middle">${esc(d.label)}</text>`).join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${frame(maxValue, 4, format)}
    <polyline points="${pts.map((p) => p.join(",")).join(" ")}" fill="none" stroke="${colour}" stroke-width="2"/>${labels}</svg>`;
}
