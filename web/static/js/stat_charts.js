// SVG charts of the statistics page that charts.js lacks: stacked bars over many days (the
// day labels thinned so that they never overlap) and horizontal bars for long names.

import { esc } from "./ui.js";

const W = 680;
const H = 220;
const PAD = { left: 52, right: 12, top: 16, bottom: 30 };

function grid(maxValue, format) {
  const plotH = H - PAD.top - PAD.bottom;
  let lines = "";
  for (let i = 0; i <= 4; i += 1) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    lines += `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#e3e8ed"/>
      <text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${esc(format((maxValue * i) / 4))}</text>`;
  }
  return lines;
}

/** Stacked bars per day: `labels` one per day, `series` [{name, colour, values}]; at most
 * about 16 day labels are written, the bars of every day are drawn. */
export function stackedDayChart(labels, series, { format = (v) => Math.round(v) } = {}) {
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const maxValue = Math.max(...totals, 1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(labels.length, 1);
  const every = Math.max(1, Math.ceil(labels.length / 16));
  let body = "";
  labels.forEach((label, i) => {
    let base = PAD.top + plotH;
    for (const s of series) {
      const value = s.values[i] || 0;
      if (!value) continue;
      const h = (plotH * value) / maxValue;
      base -= h;
      body += `<rect x="${PAD.left + i * step + step * 0.15}" y="${base}" width="${Math.max(step * 0.7, 1)}" height="${h}" fill="${s.colour}"><title>${esc(label)} · ${esc(s.name)}: ${esc(format(value))}</title></rect>`;
    }
    if (labels.length <= 31 && totals[i]) {
      body += `<text x="${PAD.left + step * (i + 0.5)}" y="${base - 4}" text-anchor="middle" class="value">${esc(format(totals[i]))}</text>`;
    }
    if (i % every === 0) body += `<text x="${PAD.left + step * (i + 0.5)}" y="${H - 10}" text-anchor="middle">${esc(label)}</text>`;
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${grid(maxValue, format)}${body}</svg>`;
}

/** Horizontal bars for [{label, value}] in the order given, names on the left. */
export function hBarChart(data, { colour = "#1e63c4", format = (v) => Math.round(v), max = null } = {}) {
  const row = 26;
  const nameW = 190;
  const height = PAD.top + data.length * row + 8;
  const maxValue = max ?? Math.max(...data.map((d) => d.value), 1e-9);
  const plotW = W - nameW - 70;
  const bars = data.map((d, i) => {
    const y = PAD.top + i * row;
    const w = Math.max((plotW * d.value) / maxValue, d.value > 0 ? 2 : 0);
    return `<text x="${nameW - 8}" y="${y + 15}" text-anchor="end" class="name">${esc(d.label)}</text>
      <rect x="${nameW}" y="${y + 3}" width="${w}" height="${row - 8}" fill="${d.colour || colour}"><title>${esc(d.label)}: ${esc(format(d.value))}</title></rect>
      <text x="${nameW + w + 6}" y="${y + 15}" class="value">${esc(format(d.value))}</text>`;
  }).join("");
  return `<svg class="chart hbar" viewBox="0 0 ${W} ${height}" role="img">${bars}</svg>`;
}
