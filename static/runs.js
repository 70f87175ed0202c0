// Run history charts: tokens, cost and latency of every succeeded result over time, one series per
// model, drawn with the vendored uPlot (static/vendor/uplot.iife.min.js). The data comes from the
// page's <script id="chart-data" type="application/json"> ({models: [...], points: [[model index,
// unix time, run id, tokens, cost, latency], ...]}); the table above the charts has the medians for
// anyone who cannot see them. Redrawn when htmx swaps in filtered results.
(function () {
  "use strict";

  const PALETTE = ["#6246ea", "#17b3a3", "#e4572e", "#f2a541", "#2e86ab", "#a23b72", "#3bb273", "#7768ae", "#c0392b", "#5d6d7e"];
  const METRICS = {
    tokens: { index: 3, unit: "", format: (v) => Math.round(v).toLocaleString() },
    cost: { index: 4, unit: "$", format: (v) => (v === 0 ? "$0" : "$" + (v < 0.01 ? +v.toPrecision(2) : v.toFixed(3))) },
    latency: { index: 5, unit: "ms", format: (v) => Math.round(v).toLocaleString() + " ms" },
  };
  const charts = [];

  function cssVar(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // uPlot wants one sorted x array and every series aligned to it (null where a model has no point).
  function aligned(data, metric) {
    const col = METRICS[metric].index;
    const byX = new Map();
    const taken = data.models.map(() => new Set());
    for (const p of data.points) {
      const [model, t0] = p;
      if (p[col] === null || p[col] === undefined) continue;
      let t = t0;
      while (taken[model].has(t)) t += 1; // two results of one model in the same second
      taken[model].add(t);
      if (!byX.has(t)) byX.set(t, new Array(data.models.length).fill(null));
      byX.get(t)[model] = p[col];
    }
    const xs = [...byX.keys()].sort((a, b) => a - b);
    const series = data.models.map((_, i) => xs.map((x) => byX.get(x)[i]));
    return [xs, ...series];
  }

  function draw(figure, data) {
    const metric = figure.dataset.metric;
    const box = figure.querySelector(".chart-box");
    box.textContent = "";
    const values = aligned(data, metric);
    if (values[0].length === 0) {
      box.innerHTML = '<p class="muted small">No values to plot.</p>';
      return;
    }
    const text = cssVar("--muted", "#5b6472");
    const line = cssVar("--line", "#e2e5ea");
    const fmt = METRICS[metric].format;
    const xs = values[0];
    const pad = Math.max(60, (xs[xs.length - 1] - xs[0]) * 0.05);
    const opts = {
      width: Math.max(240, box.clientWidth),
      height: 200,
      // One run (or several in one second) would stretch the time axis over years: pad it.
      scales: { x: { time: true, auto: false, range: [xs[0] - pad, xs[xs.length - 1] + pad] } },
      legend: { show: true, live: true },
      cursor: { points: { size: 7 } },
      series: [
        { label: "Time" },
        ...data.models.map((name, i) => ({
          label: name,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          spanGaps: true,
          points: { show: true, size: 6, fill: PALETTE[i % PALETTE.length] },
          value: (u, v) => (v === null || v === undefined ? "—" : fmt(v)),
        })),
      ],
      axes: [
        { stroke: text, grid: { stroke: line, width: 1 }, ticks: { stroke: line } },
        { stroke: text, grid: { stroke: line, width: 1 }, ticks: { stroke: line },
          values: (u, splits) => splits.map((v) => (v === null ? "" : fmt(v))),
          // Wide enough for the longest label ("$0.000075", "12,000 ms").
          size: (u, values) => 18 + 7 * Math.max(3, ...(values || []).map((v) => String(v).length)) },
      ],
    };
    charts.push({ figure, plot: new uPlot(opts, values, box) });
  }

  function init() {
    const source = document.getElementById("chart-data");
    if (!source || typeof uPlot === "undefined") return;
    const figures = document.querySelectorAll("[data-charts] figure.chart");
    if (!figures.length || figures[0].dataset.drawn === source.textContent.length + "") return;
    let data;
    try {
      data = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    while (charts.length) charts.pop().plot.destroy();
    figures.forEach((figure) => {
      draw(figure, data);
      figure.dataset.drawn = source.textContent.length + "";
    });
    document.querySelectorAll(".swatch[data-series]").forEach((el) => {
      el.style.background = PALETTE[Number(el.dataset.series) % PALETTE.length];
    });
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const { figure, plot } of charts) {
        const box = figure.querySelector(".chart-box");
        plot.setSize({ width: Math.max(240, box.clientWidth), height: 200 });
      }
    }, 150);
  });

  document.addEventListener("DOMContentLoaded", () => init());
  document.addEventListener("htmx:afterSettle", () => init());
})();
