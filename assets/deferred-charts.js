/* The overview's charts and their data tables are handed over after the page has drawn (issue 12):
   both arrive with the page, in a store beside each graph (layouts/components.py chart_card,
   defer=True), as JSON that costs React nothing. A figure is handed to its graph when the graph's box
   comes within a screen of the viewport (inside the customer's iframe, of the host page's viewport),
   one chart at a time, the next once the previous is on screen: drawing them all in one task held the
   main thread for as long as all of them took (total blocking time), while in turn each is a short
   task and the page answers input between them. Until then the graph holds a blank placeholder
   (layouts/figures.py placeholder). A table (its cells were most of the page's components) is handed
   over when its disclosure opens. A graph or table a filter change
   already filled (the data callback) is left as it is. Handing them over asks the server for nothing. */
(function () {
  "use strict";
  var seen = new WeakSet(), charts = [], busy = false, WAIT_LIMIT = 1000;

  function plotted(graph) {
    var plot = document.querySelector("#" + CSS.escape(graph) + " .js-plotly-plot");
    var layout = plot && plot._fullLayout;
    return !!layout && layout.meta !== "dv-deferred";
  }

  function stored(graph) {
    var api = window.dash_component_api, clientside = window.dash_clientside;
    if (!graph || !api || !api.getLayout || !clientside || !clientside.set_props) return null;
    var store = api.getLayout(graph + "-deferred");
    return store && store.props.data ? store.props.data : null;
  }

  function draw(graph) {
    var content = stored(graph), current = content && window.dash_component_api.getLayout(graph);
    var shown = current && current.props && current.props.figure;
    if (!content || !content.figure || (shown && !(shown.layout && shown.layout.meta === "dv-deferred"))) return false;
    window.dash_clientside.set_props(graph, {figure: content.figure});  // its labels fitted by assets/plotly-draw.js
    return true;
  }

  function fill(graph) {
    var content = stored(graph), id = {type: "graph-table", graph: graph};
    var current = content && window.dash_component_api.getLayout(id);
    if (!content || !content.table || !current || current.props.children) return;
    window.dash_clientside.set_props(id, {children: content.table});
  }

  // One chart, then a frame and a task boundary once it is drawn (or after WAIT_LIMIT), then the next.
  function pump() {
    if (busy) return;
    var graph = charts.shift();
    if (!graph) return;
    busy = true;
    var waiting = draw(graph), start = performance.now();
    (function wait() {
      if (!waiting || plotted(graph) || performance.now() - start > WAIT_LIMIT) {
        setTimeout(function () { busy = false; pump(); }, 0);
      } else {
        requestAnimationFrame(wait);
      }
    })();
  }

  function enqueue(box) {
    charts.push(box.getAttribute("data-deferred"));
    pump();
  }

  var observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) {
        observer.unobserve(entry.target);
        enqueue(entry.target);
      }
    });
  }, {rootMargin: "100% 0px"});

  function scan() {
    document.querySelectorAll(".graph-box[data-deferred]").forEach(function (box) {
      if (seen.has(box)) return;
      seen.add(box);
      if (observer) observer.observe(box); else enqueue(box);
    });
  }

  // "toggle" does not bubble: caught on its way down. The table follows the opening within a frame or two.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.classList || !details.classList.contains("chart-data")) return;
    var box = details.closest(".card") && details.closest(".card").querySelector(".graph-box[data-deferred]");
    if (box) fill(box.getAttribute("data-deferred"));
  }, true);

  new MutationObserver(scan).observe(document.documentElement, {subtree: true, childList: true});
  scan();
})();
