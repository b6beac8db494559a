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

/** A chart's place when there is nothing to draw: a sentence that says why and what to do. */
export function emptyChart(text) {
  return `<p class="chart-empty">${esc(text)}</p>`;
}

/** A small colour square (or a dashed stroke) as SVG: the pages allow no inline style. */
export function swatch(colour, dashed = false) {
  const mark = dashed
    ? `<line x1="0" y1="6" x2="14" y2="6" stroke="${colour}" stroke-width="2" stroke-dasharray="4 2"/>`
    : `<rect width="12" height="12" rx="2" fill="${colour}"/>`;
  return `<svg class="swatch" width="14" height="12" viewBox="0 0 14 12" aria-hidden="true">${mark}</svg>`;
}

/** The colour key of `series` ([{name, colour, dashed}]) as HTML. */
export function legend(series) {
  return `<div class="chart-legend">${series.map((s) => `<span>${swatch(s.colour, s.dashed)}${esc(s.name)}</span>`).join("")}</div>`;
}

function columns(count) {
  const plotW = W - PAD.left - PAD.right;
  return { step: plotW / Math.max(count, 1), plotH: H - PAD.top - PAD.bottom };
}

function axisLabels(labels, step) {
  return labels.map((label, i) => `<text x="${PAD.left + step * (i + 0.5)}" y="${H - 10}" text-anchor="middle">${esc(label)}</text>`).join("");
}

/** Bars stacked per label: `series` [{name, colour, values}] with one value per label. */
export function stackedBarChart(labels, series, { format = (v) => Math.round(v) } = {}) {
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const maxValue = Math.max(...totals, 1);
  const { step, plotH } = columns(labels.length);
  let bars = "";
  labels.forEach((label, i) => {
    let base = PAD.top + plotH;
    for (const s of series) {
      const value = s.values[i] || 0;
      if (!value) continue;
      const h = (plotH * value) / maxValue;
      base -= h;
      bars += `<rect x="${PAD.left + i * step + step * 0.2}" y="${base}" width="${step * 0.6}" height="${h}" fill="${s.colour}"><title>${esc(label)} · ${esc(s.name)}: ${esc(format(value))}</title></rect>`;
    }
    if (totals[i]) bars += `<text x="${PAD.left + step * (i + 0.5)}" y="${base - 4}" text-anchor="middle" class="value">${esc(format(totals[i]))}</text>`;
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${frame(maxValue, 4, format)}${bars}${axisLabels(labels, step)}</svg>`;
}

/** Bars side by side per label, one per series ([{name, colour, values}]). */
export function groupedBarChart(labels, series, { format = (v) => Math.round(v) } = {}) {
  const maxValue = Math.max(...series.flatMap((s) => s.values.map((v) => v || 0)), 1);
  const { step, plotH } = columns(labels.length);
  const width = (step * 0.8) / Math.max(series.length, 1);
  let bars = "";
  labels.forEach((label, i) => {
    series.forEach((s, k) => {
      const value = s.values[i] || 0;
      const h = (plotH * value) / maxValue;
      const x = PAD.left + i * step + step * 0.1 + k * width;
      bars += `<rect x="${x}" y="${PAD.top + plotH - h}" width="${width * 0.9}" height="${h}" fill="${s.colour}"><title>${esc(label)} · ${esc(s.name)}: ${esc(format(value))}</title></rect>`;
      if (value) bars += `<text x="${x + width * 0.45}" y="${PAD.top + plotH - h - 4}" text-anchor="middle" class="value">${esc(format(value))}</text>`;
    });
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${frame(maxValue, 4, format)}${bars}${axisLabels(labels, step)}</svg>`;
}

/** Lines per series ([{name, colour, values, dashed}]) on a 0..max axis; a null value leaves a gap. */
export function multiLineChart(labels, series, { max = null, format = (v) => v } = {}) {
  const maxValue = max ?? Math.max(...series.flatMap((s) => s.values.map((v) => v || 0)), 1);
  const { step, plotH } = columns(labels.length);
  const y = (v) => PAD.top + plotH - (plotH * v) / maxValue;
  let lines = "";
  for (const s of series) {
    const points = s.values.map((v, i) => (v === null || v === undefined ? null : [PAD.left + step * (i + 0.5), y(v), v, labels[i]]));
    let run = [];
    const flush = () => {
      if (run.length > 1) lines += `<polyline points="${run.map((p) => `${p[0]},${p[1]}`).join(" ")}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`;
      run = [];
    };
    for (const p of points) {
      if (p) run.push(p);
      else flush();
    }
    flush();
    if (!s.dashed) {
      lines += points.filter(Boolean).map((p) => `<circle cx="${p[0]}" cy="${p[1]}" r="4" fill="${s.colour}"><title>${esc(p[3])} · ${esc(s.name)}: ${esc(format(p[2]))}</title></circle>`).join("");
    }
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img">${frame(maxValue, 4, format)}${lines}${axisLabels(labels, step)}</svg>`;
}
