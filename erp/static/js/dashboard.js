// Bar (or line) charts of net sales, drawn with Chart.js from a canvas's data-labels and
// data-values attributes (JSON; data-type "line" for a line): the dashboard's "sales per
// month" and the sales analysis (drawn again after an htmx swap of its results). Loaded
// as a file: CSP allows no inline script.
(function () {
  "use strict";

  function parse(text) {
    try { return JSON.parse(text || "[]"); } catch (error) { return []; }
  }

  function drawOne(canvas) {
    if (canvas.dataset.drawn === "true" || typeof window.Chart === "undefined") { return; }
    var labels = parse(canvas.dataset.labels);
    var values = parse(canvas.dataset.values).map(Number);
    canvas.chart = new window.Chart(canvas, {
      type: canvas.dataset.type || "bar",
      data: {
        labels: labels,
        datasets: [{ label: (window.erpText ? window.erpText("net_sales", "Net sales") : "Net sales") + (canvas.dataset.currency ? " (" + canvas.dataset.currency + ")" : ""), data: values, backgroundColor: "rgba(13, 110, 253, 0.6)",
                     borderColor: "#0d6efd", borderWidth: 1 }]
      },
      options: {
        locale: document.documentElement.lang || "en",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } }
      }
    });
    canvas.dataset.drawn = "true";
  }

  function draw() {
    document.querySelectorAll("canvas[data-labels]").forEach(drawOne);
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
