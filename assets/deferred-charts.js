/* The overview's charts are drawn after the page, one at a time, as they near the viewport (issue 12):
   their figures arrive with the page, in a store beside each graph (layouts/components.py chart_card,
   defer=True), and each is handed to its graph when its box comes within a screen of the viewport
   (inside the customer's iframe, of the host page's viewport). Until then the graph holds a blank
   placeholder (layouts/figures.py placeholder), so Plotly spends next to nothing on it while the
   page loads. Charts are drawn in turn, the next once the previous one is on screen: drawing them
   all in one task held the main thread for as long as all of them took (total blocking time),
   while in turn each is a short task and the page answers input between them. A graph showing
   another figure (a filter changed meanwhile: the data callback drew it) is left as it is. Setting
   the figure asks the server for nothing. */
(function () {
  "use strict";
  var seen = new WeakSet(), queue = [], busy = false, WAIT_LIMIT = 1000;

  function plotted(graph) {
    var plot = document.querySelector("#" + CSS.escape(graph) + " .js-plotly-plot");
    var layout = plot && plot._fullLayout;
    return !!layout && layout.meta !== "dv-deferred";
  }

  function draw(box) {
    var graph = box.getAttribute("data-deferred");
    var api = window.dash_component_api, clientside = window.dash_clientside;
    if (!graph || !api || !api.getLayout || !clientside || !clientside.set_props) return null;
    var current = api.getLayout(graph), stored = api.getLayout(graph + "-deferred");
    var shown = current && current.props && current.props.figure;
    if (!stored || !stored.props.data || (shown && !(shown.layout && shown.layout.meta === "dv-deferred"))) return null;
    clientside.set_props(graph, {figure: stored.props.data});
    return graph;
  }

  // One chart, then a frame and a task boundary once it is drawn (or after WAIT_LIMIT), then the next.
  function pump() {
    if (busy) return;
    var box = queue.shift();
    if (!box) return;
    busy = true;
    var graph = draw(box), start = performance.now();
    (function wait() {
      if (!graph || plotted(graph) || performance.now() - start > WAIT_LIMIT) {
        setTimeout(function () { busy = false; pump(); }, 0);
      } else {
        requestAnimationFrame(wait);
      }
    })();
  }

  function enqueue(box) {
    queue.push(box);
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

  new MutationObserver(scan).observe(document.documentElement, {subtree: true, childList: true});
  scan();
})();
