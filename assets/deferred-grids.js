/* Explore's learner grid is below the fold, and AG Grid building it with the page was the page's longest
   task (issue 12): it is mounted when its box comes within 300 px of the viewport (inside the customer's
   iframe, of the host page's viewport). The grid waits in a store beside the box (layouts/explore.py
   learner_grid), its rows in another store that the explore callback keeps current: a filter changed before
   the grid is mounted is in the rows it is mounted with, and once it is, a browser callback copies each new
   list of rows into it (callbacks/learners.py). Mounting asks the server for nothing. */
(function () {
  "use strict";
  var watching = new WeakSet(), RETRIES = 40;

  // True once the box holds its grid (now, or already): false while Dash's renderer is not ready for it.
  function mount(box) {
    var api = window.dash_component_api, clientside = window.dash_clientside;
    if (!api || !api.getLayout || !clientside || !clientside.set_props || !box.id) return false;
    var waiting = api.getLayout(box.id + "-deferred"), rows = api.getLayout(box.getAttribute("data-grid-rows"));
    var current = api.getLayout(box.id);
    if (!waiting || !waiting.props.data || !current) return false;
    if (current.props.children) return true;
    var grid = waiting.props.data;
    clientside.set_props(box.id, {children: Object.assign({}, grid, {
      props: Object.assign({}, grid.props, {rowData: (rows && rows.props.data) || []})})});
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

  var observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) attempt(entry.target, RETRIES); });
  }, {rootMargin: "300px 0px"});

  // A box without its grid (a new page, or the page drawn again) is watched until it nears the viewport.
  function scan() {
    document.querySelectorAll(".grid-deferred[data-grid-rows]").forEach(function (box) {
      if (watching.has(box) || box.firstElementChild) return;
      watching.add(box);
      if (observer) observer.observe(box); else attempt(box, RETRIES);
    });
  }

  new MutationObserver(scan).observe(document.documentElement, {subtree: true, childList: true});
  scan();
})();
