// The monitoring page's chart: reads the last hour from the JSON in the data-history
// attribute that each tile refresh brings (#monitoring-history) and redraws the Chart.js
// chart in place.
// Loaded as a file: CSP allows no inline script.
(function () {
  "use strict";

  var chart = null;

  function readHistory() {
    var block = document.getElementById("monitoring-history");
    if (!block) { return null; }
    try { return JSON.parse(block.dataset.history); } catch (error) { return null; }
  }

  function series(history) {
    return [history.requests, history.p95_ms, history.query_time_ms];
  }

  function draw() {
    var canvas = document.getElementById("monitoring-chart");
    var history = readHistory();
    if (!canvas || !history || typeof window.Chart === "undefined") { return; }
    if (chart) {
      chart.data.labels = history.labels;
      series(history).forEach(function (values, index) { chart.data.datasets[index].data = values; });
      chart.update("none");
      return;
    }
    chart = new window.Chart(canvas, {
      data: {
        labels: history.labels,
        datasets: [
          { type: "bar", label: (window.erpText ? window.erpText("requests_per_minute", "Requests per minute") : "Requests per minute"), data: history.requests, yAxisID: "count",
            backgroundColor: "rgba(13, 110, 253, 0.35)" },
          { type: "line", label: (window.erpText ? window.erpText("p95", "p95 response (ms)") : "p95 response (ms)"), data: history.p95_ms, yAxisID: "ms",
            borderColor: "#dc3545", backgroundColor: "#dc3545", spanGaps: true, pointRadius: 1 },
          { type: "line", label: (window.erpText ? window.erpText("average_query", "Average query (ms)") : "Average query (ms)"), data: history.query_time_ms, yAxisID: "ms",
            borderColor: "#198754", backgroundColor: "#198754", spanGaps: true, pointRadius: 1 }
        ]
      },
      options: {
        locale: document.documentElement.lang || "en",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          count: { type: "linear", position: "right", beginAtZero: true,
                   title: { display: true, text: "requests" }, grid: { drawOnChartArea: false } },
          ms: { type: "linear", position: "left", beginAtZero: true,
                title: { display: true, text: "ms" } }
        }
      }
    });
    canvas.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
