// A small live line chart on a canvas: a rolling window of points, one
// line per series, y from 0 to a rounded maximum, time along x.

import { h } from './dom.js';
import { num } from './fmt.js';

const COLORS = ['#1f6feb', '#2da44e', '#cf222e', '#bf8700', '#8250df'];

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export class LineChart {
  // series: [{name}], window: how many points are kept.
  constructor(title, series, unit, window = 120) {
    this.series = series;
    this.unit = unit;
    this.window = window;
    this.points = []; // {t: ms, v: [numbers]}
    this.canvas = h('canvas', { class: 'chart', width: 600, height: 180, role: 'img', 'aria-label': title });
    this.latest = h('span', { class: 'chart-latest' });
    const legend = h('div', { class: 'legend' },
      series.map((s, i) => h('span', { class: 'legend-item', dataset: { color: String(i) } },
        h('i', { class: 'swatch c' + i }), s.name)));
    this.el = h('section', { class: 'card chart-card' }, h('h3', null, title, ' ', this.latest), this.canvas, legend);
  }

  push(t, values) {
    this.points.push({ t, v: values });
    if (this.points.length > this.window) this.points.shift();
    this.latest.textContent = values.map((v) => num(Math.round(v * 10) / 10)).join(' / ') + ' ' + this.unit;
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cssW = c.clientWidth || 600, cssH = c.clientHeight || 180;
    if (c.width !== Math.round(cssW * dpr) || c.height !== Math.round(cssH * dpr)) {
      c.width = Math.round(cssW * dpr);
      c.height = Math.round(cssH * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const left = 56, right = 8, top = 8, bottom = 20;
    const w = cssW - left - right, hgt = cssH - top - bottom;
    let max = 0;
    for (const p of this.points) for (const v of p.v) max = Math.max(max, v);
    max = niceMax(max);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#57606a';
    g.strokeStyle = '#d0d7de';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = top + hgt - (hgt * i) / 4;
      g.beginPath();
      g.moveTo(left, Math.round(y) + 0.5);
      g.lineTo(left + w, Math.round(y) + 0.5);
      g.stroke();
      g.fillText(num((max * i) / 4), left - 6, y);
    }
    const n = this.points.length;
    if (n === 0) return;
    const t0 = this.points[0].t, t1 = this.points[n - 1].t;
    const span = Math.max(t1 - t0, 1);
    const x = (t) => left + (n === 1 ? w : ((t - t0) / span) * w);
    g.textAlign = 'left';
    g.textBaseline = 'top';
    g.fillText(new Date(t0).toLocaleTimeString(), left, top + hgt + 4);
    g.textAlign = 'right';
    g.fillText(new Date(t1).toLocaleTimeString(), left + w, top + hgt + 4);
    this.series.forEach((_, si) => {
      g.strokeStyle = COLORS[si % COLORS.length];
      g.lineWidth = 1.5;
      g.beginPath();
      this.points.forEach((p, i) => {
        const y = top + hgt - (Math.max(0, p.v[si]) / max) * hgt;
        if (i === 0) g.moveTo(x(p.t), y); else g.lineTo(x(p.t), y);
      });
      g.stroke();
    });
  }
}
