/* Explore's grids come after its chart (issue 12). AG Grid's script (285 KB) is not a script of the page
   (app/factory.py names its URL in <html data-grid>), and each grid waits in a store beside its box
   (layouts/explore.py results_grid and learner_grid): the chart, the page's largest paint, is drawn without
   the grid's download competing with Plotly's nor its first drawing (a long task) before it. Once every graph
   on the page is drawn (or after CHART_LIMIT), the script is loaded and the results grid mounted (its box is
   marked ``data-grid-after-chart``: it holds the chart's data, for every reader); the learner grid, below the
   fold, when its box comes within 300 px of the viewport (inside the customer's iframe, of the host page's
   viewport).

   A grid is mounted from its store's latest content: the results grid's store is rewritten by the explore
   callback for each answer, the learner grid's rows come from another store that callback keeps current
   (``data-grid-rows``), so a filter changed before a grid is mounted is in what it is mounted with; once it
   is, browser callbacks copy each new answer into it (callbacks/explore.py, callbacks/learners.py).
   Mounting asks the server for nothing. */
(function () {
  "use strict";
  var watching = new WeakSet(), RETRIES = 40, CHART_LIMIT = 3000, started = performance.now();
  var script = null, loaded = false, waiting = [], failures = 0, RELOADS = [1000, 3000, 10000];

  // Calls back once AG Grid's component library is defined: its script is added to the page the first time.
  function withGrid(callback) {
    if (loaded || window.dash_ag_grid) {
      loaded = true;
      callback();
      return;
    }
    waiting.push(callback);
    if (!script) load();
  }

  // A failed download (a dropped connection) is tried again after RELOADS' delays, the grids still waiting.
  function load() {
    var url = document.documentElement.getAttribute("data-grid");
    if (!url) return;
    script = document.createElement("script");
    script.src = url;
    script.onload = function () {
      loaded = true;
      waiting.splice(0).forEach(function (f) { f(); });
    };
    script.onerror = function () {
      script.remove();
      if (failures < RELOADS.length) setTimeout(load, RELOADS[failures++]);
      else script = null;  // given up: the next grid to be mounted tries once more
    };
    document.head.appendChild(script);
  }

  // Every graph on the page drawn (a blank placeholder counts: the overview's own code draws those later).
  function chartsDrawn() {
    var graphs = document.querySelectorAll(".dash-graph");
    for (var i = 0; i < graphs.length; i++) {
      var plot = graphs[i].querySelector(".js-plotly-plot");
      if (!plot || !plot._fullLayout) return false;
    }
    return true;
  }

  // Plotly defines a graph's layout as it starts drawing it: two frames later the drawing is on screen.
  function afterCharts(callback) {
    (function wait() {
      if (chartsDrawn() || performance.now() - started > CHART_LIMIT) {
        requestAnimationFrame(function () { requestAnimationFrame(function () { setTimeout(callback, 0); }); });
      } else {
        requestAnimationFrame(wait);
      }
    })();
  }

  // True once the box holds its grid (now, or already): false while Dash's renderer is not ready for it.
  function mount(box) {
    var api = window.dash_component_api, clientside = window.dash_clientside;
    if (!api || !api.getLayout || !clientside || !clientside.set_props || !box.id) return false;
    var stored = api.getLayout(box.id + "-deferred"), current = api.getLayout(box.id);
    var rowsId = box.getAttribute("data-grid-rows"), rows = rowsId && api.getLayout(rowsId);
    if (!stored || !stored.props.data || !current || (rowsId && !rows)) return false;
    if (current.props.children) return true;
    var grid = stored.props.data, props = Object.assign({}, grid.props);
    if (rows) props.rowData = rows.props.data || [];
    clientside.set_props(box.id, {children: Object.assign({}, grid, {props: props})});
    return true;
  }

  function mounted(box) {
    if (observer) observer.unobserve(box);
    watching.delete(box);
  }

  function attempt(box, left) {
    if (mount(box)) mounted(box);
    else if (left > 0) setTimeout(function () { attempt(box, left - 1); }, 50);
  }

  function ready(box) {
    afterCharts(function () { withGrid(function () { attempt(box, RETRIES); }); });
  }

  var observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) ready(entry.target); });
  }, {rootMargin: "300px 0px"});

  // A box without its grid (a new page, or the page drawn again) is watched until it nears the viewport.
  function scan() {
    document.querySelectorAll(".grid-deferred").forEach(function (box) {
      if (watching.has(box) || box.firstElementChild) return;
      watching.add(box);
      if (observer && !box.hasAttribute("data-grid-after-chart")) observer.observe(box); else ready(box);
    });
  }

  new MutationObserver(scan).observe(document.documentElement, {subtree: true, childList: true});
  scan();
})();
