/* The learner panel (layouts/learners.py): Escape closes it (through its Close button, so the URL says so),
   opening it moves focus to its heading, and closing it gives focus back to what opened it: a KPI card, a chart
   or a value in a chart's table (a table is drawn again when the URL changes: its button is found by its id).
   Focus lost to the page body when the panel redraws after a press in it (a learner, Back) goes to the heading. */
(function () {
  "use strict";
  var opener = null;
  var refocus = false;  // a button inside the panel was pressed: it is redrawn away, focus goes to the heading

  function panel() { return document.getElementById("section-learners"); }
  function isOpen(p) { return p && !p.hidden; }

  function giveBack() {
    var target = document.contains(opener) ? opener : (opener.id && document.getElementById(opener.id));
    if (!target) return;
    if (target.tagName !== "BUTTON") target.tabIndex = -1;  // a chart: focusable by script only
    target.focus();
  }

  document.addEventListener("click", function (event) {
    var plot = event.target.closest && event.target.closest(".js-plotly-plot");
    var found = plot ? plot.parentElement : event.target.closest && event.target.closest(".kpi-button, .chart-open");
    var p = panel();
    if (found && !(p && p.contains(found))) opener = found;
    if (p && p.contains(event.target) && event.target.closest("button")) refocus = true;
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var p = panel();
    if (!isOpen(p)) return;
    var close = document.getElementById("button-learners-close");
    if (close) { event.preventDefault(); close.click(); }
  });

  var wasOpen = false;
  function check() {
    var p = panel();
    var open = isOpen(p);
    var heading = document.getElementById("h2-learners");
    if (open && !wasOpen && heading && opener) {  // opened by a click, not by a link that arrives open
      heading.focus();
    } else if (!open && wasOpen && opener) {
      giveBack();
    } else if (open && refocus && heading && (document.activeElement === document.body || !document.activeElement)) {
      refocus = false;
      heading.focus();
    }
    wasOpen = open;
  }

  new MutationObserver(check).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["hidden"]
  });
})();
