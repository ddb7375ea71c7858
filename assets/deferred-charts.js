/* Charts that may start below the fold are drawn when they near the viewport (issue 12): their
   figure arrives with the page, in a store beside the graph (layouts/components.py chart_card,
   defer=True), and is handed to the graph when its box comes within a screen of the viewport
   (inside the customer's iframe, of the host page's viewport). Until then the graph holds a blank
   placeholder (layouts/figures.py placeholder), so Plotly spends next to nothing on it while the
   page loads. A graph showing another figure (a filter changed meanwhile: the data callback drew
   it) is left as it is. Setting the figure asks the server for nothing. */
(function () {
  "use strict";
  var seen = new WeakSet();

  function draw(box) {
    var graph = box.getAttribute("data-deferred");
    var api = window.dash_component_api, clientside = window.dash_clientside;
    if (!graph || !api || !api.getLayout || !clientside || !clientside.set_props) return;
    var current = api.getLayout(graph), stored = api.getLayout(graph + "-deferred");
    var shown = current && current.props && current.props.figure;
    if (!stored || !stored.props.data || (shown && !(shown.layout && shown.layout.meta === "dv-deferred"))) return;
    clientside.set_props(graph, {figure: stored.props.data});
  }

  var observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) {
        observer.unobserve(entry.target);
        draw(entry.target);
      }
    });
  }, {rootMargin: "100% 0px"});

  function scan() {
    document.querySelectorAll(".graph-box[data-deferred]").forEach(function (box) {
      if (seen.has(box)) return;
      seen.add(box);
      if (observer) observer.observe(box); else draw(box);
    });
  }

  new MutationObserver(scan).observe(document.documentElement, {subtree: true, childList: true});
  scan();
})();
