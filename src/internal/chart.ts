/**
 * PNG charts for evaluation reports: line charts (with optional labelled reference points, e.g.
 * published results to compare against) and grouped bar charts. Drawn with @napi-rs/canvas
 * and the DejaVu Sans font installed as a dependency, so the same data gives the same bytes on
 * every machine and reports can be regenerated without noisy diffs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SKRSContext2D } from '@napi-rs/canvas';
import { loadCanvas } from './lazy.js';

export interface ChartPoint {
  x: number;
  y: number;
  /** Text drawn next to the point (used for reference results such as published numbers). */
  label?: string;
}

export interface LineSeries {
  name: string;
  points: readonly ChartPoint[];
  /** 'line' (default) and 'dashed' connect the points; 'points' draws markers only. */
  style?: 'line' | 'points' | 'dashed';
  /** CSS colour; defaults to the palette entry for the series' position. */
  color?: string;
}

export type TickFormat = (value: number) => string;

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  width?: number;
  height?: number;
  /** Logarithmic x axis (points with x <= 0 are skipped). */
  logX?: boolean;
  xTickFormat?: TickFormat;
  yTickFormat?: TickFormat;
}

export interface BarSeries {
  name: string;
  /** One value per category; null leaves a gap. */
  values: readonly (number | null)[];
  color?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel?: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  yDomain?: readonly [number, number];
  width?: number;
  height?: number;
  /** Print each bar's value above it. */
  valueLabels?: boolean;
  yTickFormat?: TickFormat;
  /** Format of the value labels; defaults to the y tick format. */
  valueFormat?: TickFormat;
}

// Okabe-Ito colours (readable with colour-blindness), yellow dropped for contrast on white.
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8C564B'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'] as const;
type Marker = (typeof MARKERS)[number];

const FAMILY = 'opticmem-chart';
const TEXT = '#222222';
const MUTED = '#555555';
const GRID = '#e6e6e6';
const PAD = 16;

const require = createRequire(import.meta.url);

function dejavu(file: string): string {
  return join(require.resolve('dejavu-fonts-ttf/package.json'), '..', 'ttf', file);
}

async function canvasModule(): Promise<typeof import('@napi-rs/canvas')> {
  const mod = await loadCanvas();
  // Registering under our own family name means a host font of the same name never wins.
  if (!mod.GlobalFonts.has(FAMILY)) {
    mod.GlobalFonts.registerFromPath(dejavu('DejaVuSans.ttf'), FAMILY);
    mod.GlobalFonts.registerFromPath(dejavu('DejaVuSans-Bold.ttf'), FAMILY);
  }
  return mod;
}

function font(size: number, bold = false): string {
  return `${bold ? 'bold ' : ''}${size}px ${FAMILY}`;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 200 || height < 150) {
    throw new RangeError(`chart size must be whole pixels of at least 200x150, got ${width}x${height}`);
  }
}

function checkPlotHeight(top: number, bottom: number): void {
  if (bottom - top < 40) {
    throw new RangeError('title, legend and labels leave no room for the plot; enlarge the chart or shorten them');
  }
}

async function blankCanvas(width: number, height: number) {
  checkSize(width, height);
  const { createCanvas } = await canvasModule();
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  return { canvas, ctx };
}

// ---------------------------------------------------------------- scales and ticks

/** 1, 2 or 5 times a power of ten, the smallest such step at least `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/** Rounds away binary noise (0.30000000000000004) so labels and positions stay exact. */
function clean(value: number): number {
  return Number.parseFloat(value.toPrecision(12));
}

function linearTicks(min: number, max: number, target: number): number[] {
  const step = niceStep((max - min) / Math.max(1, target));
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(clean(v));
  return ticks;
}

/** Widen [min, max] to whole steps of the tick spacing so the frame ends on gridlines. */
function niceLinearDomain(min: number, max: number, target: number): [number, number] {
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - d, max + d];
  }
  const step = niceStep((max - min) / Math.max(1, target));
  return [clean(Math.floor(min / step + 1e-9) * step), clean(Math.ceil(max / step - 1e-9) * step)];
}

/** 1-2-5 values per decade inside the domain, thinned to powers of ten when crowded. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = clean(m * 10 ** e);
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks.length > 10 ? ticks.filter((v) => Number.isInteger(Math.log10(v))) : ticks;
}

/** The data's extent plus a small margin: rounding out to 1-2-5 values can waste half the width. */
function paddedLogDomain(min: number, max: number): [number, number] {
  if (min === max) return [min / 2, max * 2];
  const margin = (max / min) ** 0.03;
  return [min / margin, max * margin];
}

function defaultTickFormat(ticks: readonly number[]): TickFormat {
  const abs = Math.max(...ticks.map(Math.abs));
  if (abs >= 10_000) {
    return (v) => (Math.abs(v) >= 1e6 ? `${clean(v / 1e6)}M` : Math.abs(v) >= 1e3 ? `${clean(v / 1e3)}k` : String(v));
  }
  // Enough decimals to tell neighbouring ticks apart, and no more.
  const decimals = Math.max(0, ...ticks.map((v) => (String(v).split('.')[1] ?? '').length));
  return (v) => v.toFixed(Math.min(decimals, 6));
}

interface Axis {
  min: number;
  max: number;
  log: boolean;
  ticks: number[];
  format: TickFormat;
}

function makeAxis(
  values: readonly number[],
  fixed: readonly [number, number] | undefined,
  log: boolean,
  target: number,
  format: TickFormat | undefined,
): Axis {
  let min: number;
  let max: number;
  if (fixed) {
    [min, max] = fixed;
    if (!(max > min) || (log && min <= 0)) throw new RangeError(`invalid axis domain [${min}, ${max}]`);
  } else if (values.length === 0) {
    [min, max] = log ? [1, 10] : [0, 1];
  } else if (log) {
    [min, max] = paddedLogDomain(Math.min(...values), Math.max(...values));
  } else {
    [min, max] = niceLinearDomain(Math.min(...values), Math.max(...values), target);
  }
  const ticks = log ? logTicks(min, max) : linearTicks(min, max, target);
  return { min, max, log, ticks, format: format ?? defaultTickFormat(ticks) };
}

/** Position of `v` along an axis as a fraction from its minimum (0) to its maximum (1). */
function fraction(axis: Axis, v: number): number {
  if (axis.log) return (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min));
  return (v - axis.min) / (axis.max - axis.min);
}

// ---------------------------------------------------------------- drawing helpers

interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function drawMarker(ctx: SKRSContext2D, marker: Marker, x: number, y: number, r: number, color: string): void {
  ctx.beginPath();
  switch (marker) {
    case 'circle':
      ctx.arc(x, y, r, 0, Math.PI * 2);
      break;
    case 'square':
      ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
      break;
    case 'triangle':
      ctx.moveTo(x, y - r * 1.15);
      ctx.lineTo(x + r, y + r * 0.75);
      ctx.lineTo(x - r, y + r * 0.75);
      break;
    case 'triangle-down':
      ctx.moveTo(x, y + r * 1.15);
      ctx.lineTo(x + r, y - r * 0.75);
      ctx.lineTo(x - r, y - r * 0.75);
      break;
    case 'diamond':
      ctx.moveTo(x, y - r * 1.2);
      ctx.lineTo(x + r * 1.2, y);
      ctx.lineTo(x, y + r * 1.2);
      ctx.lineTo(x - r * 1.2, y);
      break;
  }
  ctx.closePath();
  ctx.fillStyle = color;
  ctx.fill();
  // A white rim keeps overlapping markers of different series apart.
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 1;
  ctx.stroke();
}

interface LegendEntry {
  name: string;
  color: string;
  kind: 'line' | 'dashed' | 'points' | 'bar';
  marker?: Marker;
}

const SWATCH = 26;
const LEGEND_ROW = 20;

/** Lays the legend out in centred rows no wider than `maxWidth`; returns the rows. */
function legendRows(ctx: SKRSContext2D, entries: readonly LegendEntry[], maxWidth: number) {
  ctx.font = font(12);
  const rows: { entries: { entry: LegendEntry; width: number }[]; width: number }[] = [];
  for (const entry of entries) {
    const width = SWATCH + 6 + ctx.measureText(entry.name).width + 18;
    const row = rows.at(-1);
    if (row && row.width + width <= maxWidth) {
      row.entries.push({ entry, width });
      row.width += width;
    } else {
      rows.push({ entries: [{ entry, width }], width });
    }
  }
  return rows;
}

function drawLegend(ctx: SKRSContext2D, rows: ReturnType<typeof legendRows>, canvasWidth: number, top: number): void {
  ctx.font = font(12);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  rows.forEach((row, i) => {
    let x = (canvasWidth - row.width + 18) / 2;
    const y = top + i * LEGEND_ROW + LEGEND_ROW / 2;
    for (const { entry, width } of row.entries) {
      if (entry.kind === 'bar') {
        ctx.fillStyle = entry.color;
        ctx.fillRect(x + 6, y - 6, SWATCH - 12, 12);
      } else {
        if (entry.kind !== 'points') {
          ctx.strokeStyle = entry.color;
          ctx.lineWidth = 2;
          ctx.setLineDash(entry.kind === 'dashed' ? [6, 4] : []);
          ctx.beginPath();
          ctx.moveTo(x, y);
          ctx.lineTo(x + SWATCH, y);
          ctx.stroke();
          ctx.setLineDash([]);
        }
        if (entry.marker) drawMarker(ctx, entry.marker, x + SWATCH / 2, y, entry.kind === 'points' ? 5 : 4, entry.color);
      }
      ctx.fillStyle = TEXT;
      ctx.fillText(entry.name, x + SWATCH + 6, y);
      x += width;
    }
  });
}

function drawTitle(ctx: SKRSContext2D, title: string, width: number): number {
  ctx.font = font(18, true);
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(title, width / 2, PAD);
  return PAD + 26;
}

function drawYAxis(ctx: SKRSContext2D, axis: Axis, plot: Rect, label: string): void {
  ctx.font = font(12);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of axis.ticks) {
    const y = plot.bottom - fraction(axis, t) * (plot.bottom - plot.top);
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(plot.left, Math.round(y) + 0.5);
    ctx.lineTo(plot.right, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.strokeStyle = MUTED;
    ctx.beginPath();
    ctx.moveTo(plot.left - 5, Math.round(y) + 0.5);
    ctx.lineTo(plot.left, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(axis.format(t), plot.left - 8, y);
  }
  ctx.save();
  ctx.translate(PAD + 8, (plot.top + plot.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.font = font(13);
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(label, 0, 0);
  ctx.restore();
}

function drawFrame(ctx: SKRSContext2D, plot: Rect): void {
  ctx.strokeStyle = '#444444';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(plot.left + 0.5, plot.top);
  ctx.lineTo(plot.left + 0.5, plot.bottom + 0.5);
  ctx.lineTo(plot.right, plot.bottom + 0.5);
  ctx.stroke();
}

function drawXLabel(ctx: SKRSContext2D, label: string, plot: Rect, height: number): void {
  ctx.font = font(13);
  ctx.fillStyle = TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(label, (plot.left + plot.right) / 2, height - PAD + 4);
}

/** `text`, cut short with an ellipsis if it is wider than `maxWidth` in the current font. */
function fitText(ctx: SKRSContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && ctx.measureText(chars.join('') + '…').width > maxWidth) chars.pop();
  return chars.join('') + '…';
}

function maxTextWidth(ctx: SKRSContext2D, texts: readonly string[], size: number): number {
  ctx.font = font(size);
  return Math.max(0, ...texts.map((t) => ctx.measureText(t).width));
}

// ---------------------------------------------------------------- line chart

export async function renderLineChart(options: LineChartOptions): Promise<Uint8Array> {
  const { width = 900, height = 560, logX = false } = options;
  const { canvas, ctx } = await blankCanvas(width, height);

  const series = options.series.map((s, i) => ({
    ...s,
    style: s.style ?? 'line',
    color: s.color ?? PALETTE[i % PALETTE.length]!,
    marker: MARKERS[i % MARKERS.length]!,
    points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!logX || p.x > 0)),
  }));

  const titleBottom = drawTitle(ctx, options.title, width);
  const legend = legendRows(
    ctx,
    series.map((s) => ({ name: s.name, color: s.color, kind: s.style, marker: s.marker })),
    width - 2 * PAD,
  );
  const legendTop = titleBottom + 4;
  const plotTop = legendTop + legend.length * LEGEND_ROW + 12;
  const plotBottom = height - PAD - 18 - 26;

  checkPlotHeight(plotTop, plotBottom);

  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const yAxis = makeAxis(ys, options.yDomain, false, Math.max(2, Math.round((plotBottom - plotTop) / 55)), options.yTickFormat);
  const plotLeft = PAD + 22 + maxTextWidth(ctx, yAxis.ticks.map(yAxis.format), 12) + 10;
  const plotRight = width - PAD - 14;
  const xAxis = makeAxis(xs, options.xDomain, logX, Math.max(2, Math.round((plotRight - plotLeft) / 90)), options.xTickFormat);
  const plot: Rect = { left: Math.round(plotLeft), top: plotTop, right: plotRight, bottom: plotBottom };
  const px = (x: number) => plot.left + fraction(xAxis, x) * (plot.right - plot.left);
  const py = (y: number) => plot.bottom - fraction(yAxis, y) * (plot.bottom - plot.top);

  drawYAxis(ctx, yAxis, plot, options.yLabel);
  ctx.font = font(12);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xAxis.ticks) {
    const x = Math.round(px(t)) + 0.5;
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(x, plot.top);
    ctx.lineTo(x, plot.bottom);
    ctx.stroke();
    ctx.strokeStyle = MUTED;
    ctx.beginPath();
    ctx.moveTo(x, plot.bottom);
    ctx.lineTo(x, plot.bottom + 5);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    ctx.fillText(xAxis.format(t), x, plot.bottom + 8);
  }
  drawFrame(ctx, plot);
  drawXLabel(ctx, options.xLabel, plot, height);

  // Data is clipped to the frame so a fixed domain can zoom in without spilling over the axes.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left - 7, plot.top - 7, plot.right - plot.left + 14, plot.bottom - plot.top + 14);
  ctx.clip();
  for (const s of series) {
    if (s.style === 'points' || s.points.length < 2) continue;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.setLineDash(s.style === 'dashed' ? [7, 5] : []);
    ctx.beginPath();
    s.points.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p.x), py(p.y)) : ctx.lineTo(px(p.x), py(p.y))));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of series) {
    for (const p of s.points) drawMarker(ctx, s.marker, px(p.x), py(p.y), s.style === 'points' ? 5.5 : 4, s.color);
  }
  ctx.restore();

  ctx.font = font(11);
  ctx.textBaseline = 'bottom';
  ctx.lineJoin = 'round';
  for (const s of series) {
    for (const p of s.points) {
      if (!p.label) continue;
      const x = px(p.x);
      const y = py(p.y);
      if (x < plot.left || x > plot.right || y < plot.top || y > plot.bottom) continue;
      // Labels sit up and to the right, flipped left near the right edge to stay on the canvas.
      const flip = x + 8 + ctx.measureText(p.label).width > width - 4;
      ctx.textAlign = flip ? 'right' : 'left';
      const lx = flip ? x - 8 : x + 8;
      const ly = Math.max(plot.top + 12, y - 5);
      // A white halo keeps the label readable where it crosses lines or gridlines.
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 3;
      ctx.strokeText(p.label, lx, ly);
      ctx.fillStyle = s.color;
      ctx.fillText(p.label, lx, ly);
    }
  }

  drawLegend(ctx, legend, width, legendTop);
  return new Uint8Array(canvas.toBuffer('image/png'));
}

// ---------------------------------------------------------------- bar chart

export async function renderBarChart(options: BarChartOptions): Promise<Uint8Array> {
  const { width = 900, height = 560, categories } = options;
  for (const s of options.series) {
    if (s.values.length !== categories.length) {
      throw new RangeError(`bar series '${s.name}' has ${s.values.length} values for ${categories.length} categories`);
    }
  }
  const { canvas, ctx } = await blankCanvas(width, height);
  const series = options.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]! }));

  const titleBottom = drawTitle(ctx, options.title, width);
  const legend = legendRows(
    ctx,
    series.map((s) => ({ name: s.name, color: s.color, kind: 'bar' as const })),
    width - 2 * PAD,
  );
  const legendTop = titleBottom + 4;
  const plotTop = legendTop + legend.length * LEGEND_ROW + 12;

  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  // Bars grow from zero, so zero is always inside the domain.
  const yAxis = makeAxis([0, ...values], options.yDomain, false, Math.max(2, Math.round((height - plotTop - 90) / 55)), options.yTickFormat);
  const n = Math.max(1, categories.length);
  const plotRight = width - PAD - 4;
  let plotLeft = Math.round(PAD + 22 + maxTextWidth(ctx, yAxis.ticks.map(yAxis.format), 12) + 10);

  // Category names that do not fit under their group are drawn slanted (and shortened if they
  // would take more than a third of the height); the frame then moves right far enough that the
  // first name stays on the canvas.
  const angle = Math.PI / 5;
  ctx.font = font(12);
  let names = [...categories];
  let labelWidth = maxTextWidth(ctx, names, 12);
  const slant = labelWidth > (plotRight - plotLeft) / n - 6;
  if (slant) {
    names = names.map((name) => fitText(ctx, name, (height / 3) / Math.sin(angle)));
    labelWidth = maxTextWidth(ctx, names, 12);
    const reach = PAD + labelWidth * Math.cos(angle);
    plotLeft = Math.max(plotLeft, Math.ceil((reach - plotRight / (2 * n)) / (1 - 1 / (2 * n))));
  }
  const band = (plotRight - plotLeft) / n;
  const labelHeight = slant ? labelWidth * Math.sin(angle) + 14 : 16;
  const plotBottom = height - PAD - (options.xLabel ? 22 : 0) - 8 - labelHeight;
  checkPlotHeight(plotTop, plotBottom);

  const plot: Rect = { left: plotLeft, top: plotTop, right: plotRight, bottom: plotBottom };
  const py = (y: number) => plot.bottom - fraction(yAxis, Math.min(yAxis.max, Math.max(yAxis.min, y))) * (plot.bottom - plot.top);

  drawYAxis(ctx, yAxis, plot, options.yLabel);

  const group = band * 0.8;
  const barWidth = group / Math.max(1, series.length);
  const valueFormat = options.valueFormat ?? yAxis.format;
  const zero = py(0);
  names.forEach((category, c) => {
    const groupLeft = plot.left + c * band + (band - group) / 2;
    series.forEach((s, i) => {
      const v = s.values[c];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const x = groupLeft + i * barWidth;
      const y = py(v);
      ctx.fillStyle = s.color;
      ctx.fillRect(x + 1, Math.min(y, zero), barWidth - 2, Math.abs(zero - y));
      if (options.valueLabels) {
        ctx.font = font(10);
        ctx.fillStyle = TEXT;
        ctx.textAlign = 'center';
        ctx.textBaseline = v >= 0 ? 'bottom' : 'top';
        ctx.fillText(valueFormat(v), x + barWidth / 2, v >= 0 ? y - 2 : y + 2);
      }
    });
    const cx = plot.left + (c + 0.5) * band;
    ctx.font = font(12);
    ctx.fillStyle = MUTED;
    if (slant) {
      ctx.save();
      ctx.translate(cx, plot.bottom + 8);
      ctx.rotate(-angle);
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText(category, 0, 0);
      ctx.restore();
    } else {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      ctx.fillText(category, cx, plot.bottom + 8);
    }
  });
  drawFrame(ctx, plot);
  if (yAxis.min < 0) {
    ctx.strokeStyle = '#444444';
    ctx.beginPath();
    ctx.moveTo(plot.left, Math.round(zero) + 0.5);
    ctx.lineTo(plot.right, Math.round(zero) + 0.5);
    ctx.stroke();
  }
  if (options.xLabel) drawXLabel(ctx, options.xLabel, plot, height);
  drawLegend(ctx, legend, width, legendTop);
  return new Uint8Array(canvas.toBuffer('image/png'));
}

/** Write a PNG, creating its folder if needed. */
export async function writeChart(path: string, png: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, png);
}
