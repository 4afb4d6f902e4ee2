// Renders every chart container on the page: <div class="chart" data-spec="ID"> takes its vega-lite
// specification from <script type="application/json" id="ID">. Marks each container
// data-rendered="true" or "error" so that tests and people can tell what happened.
// The feature browser's search box: the CSP forbids form submission (form-action 'none'), so the
// query is sent as a plain navigation to the same page.
(function () {
  "use strict";
  document.querySelectorAll("form.search").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      const q = form.querySelector("input[name=q]").value.trim();
      const url = new URL(form.getAttribute("action"), location.href);
      if (q) url.searchParams.set("q", q);
      location.assign(url.pathname + url.search);
    });
  });
})();
(function () {
  "use strict";
  const options = {
    mode: "vega-lite",
    renderer: "svg",
    actions: false,
    ast: true, // the expression interpreter: no eval, so the page keeps a strict CSP
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true, theme: "light" },
  };
  function fail(el, message) {
    el.setAttribute("data-rendered", "error");
    const p = document.createElement("p");
    p.className = "chart-error";
    p.textContent = message;
    el.appendChild(p);
  }
  const charts = document.querySelectorAll("div.chart[data-spec]");
  if (typeof vegaEmbed !== "function") {
    charts.forEach(function (el) {
      fail(el, "Charts are unavailable: the vega scripts were not served.");
    });
    return;
  }
  charts.forEach(function (el) {
    const source = document.getElementById(el.getAttribute("data-spec"));
    let spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (e) {
      fail(el, "Chart specification is not valid JSON.");
      console.error("chart " + el.id + ": " + e);
      return;
    }
    vegaEmbed(el, spec, options).then(function () {
      el.setAttribute("data-rendered", "true");
    }).catch(function (e) {
      fail(el, "Chart failed: " + e.message);
      console.error("chart " + el.id + ": " + e);
    });
  });
})();
