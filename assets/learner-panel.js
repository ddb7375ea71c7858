/* The learner panel (layouts/learners.py): Escape closes it (through its Close button, so the URL says so),
   opening it moves focus to its heading, and closing it gives focus back to what opened it: a KPI card, a chart
   or a value in a chart's table (a table is drawn again when the URL changes: its button is found by its id).
   Focus lost to the page body when the panel redraws after a press in it (a learner, Back) goes to the heading.
   Explore's learner grid opens a learner's trainings below it from the keyboard too. */
(function () {
  "use strict";
  var opener = null;
  var refocus = false;  // a button inside the panel was pressed: it is redrawn away, focus goes to the heading

  function panel() { return document.getElementById("section-learners"); }
  function isOpen(p) { return p && !p.hidden; }

  // After closing, focus stays with what opened the panel even if the page redraws it then (the closing changes
  // the URL, and the charts and their tables may be drawn again, late on a busy machine): focus found on the page
  // body goes back to it until the viewer's own next move.
  var returning = null;

  function focusOn(target) {
    if (target.tagName !== "BUTTON") target.tabIndex = -1;  // a chart: focusable by script only
    target.focus();
  }

  function giveBack() {
    var target = document.contains(opener) ? opener : (opener.id && document.getElementById(opener.id));
    if (!target) return;
    focusOn(target);
    returning = target.id || null;
  }

  // the viewer's own next move (a press, a key) ends the moment
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () { returning = null; }, true);
  });

  function keepReturned() {
    if (!returning) return;
    var active = document.activeElement;
    if (active && active !== document.body) return;
    var target = document.getElementById(returning);
    if (target) focusOn(target);
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

  // Explore's learner grid: Enter on a cell opens its row's learner as a click does (AG Grid's cellClicked); the
  // trainings shown take focus, and closing them gives it back to that cell (found again by row and column).
  var cell = null;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var found = event.target.closest && event.target.closest("#grid-learners .ag-cell");
    if (found) { event.preventDefault(); found.click(); }
  });
  document.addEventListener("click", function (event) {
    var found = event.target.closest && event.target.closest("#grid-learners .ag-cell");
    if (found) {
      var row = found.closest(".ag-row");
      cell = {row: row && row.getAttribute("row-id"), col: found.getAttribute("col-id")};
    }
  }, true);

  var trainingsWereShown = false;
  function checkExplore() {
    var region = document.getElementById("div-explore-learner");
    var shown = !!region && !region.hidden;
    if (shown && !trainingsWereShown && cell) {
      region.focus();
    } else if (!shown && trainingsWereShown && cell) {
      var again = document.querySelector('#grid-learners .ag-row[row-id="' + CSS.escape(cell.row || "") +
                                         '"] .ag-cell[col-id="' + CSS.escape(cell.col || "") + '"]');
      if (again) again.focus();
    }
    trainingsWereShown = shown;
  }

  var wasOpen = false;
  function check() {
    checkExplore();
    var p = panel();
    var open = isOpen(p);
    if (open) returning = null; else keepReturned();
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
