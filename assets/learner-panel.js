/* The learner panel (layouts/learners.py): Escape closes it (through its Close button, so the URL says so),
   opening it moves focus to its heading, and closing it gives focus back to the KPI card that opened it.
   Focus lost to the page body when the panel redraws after a press in it (a learner, Back) goes to the heading. */
(function () {
  "use strict";
  var opener = null;
  var refocus = false;  // a button inside the panel was pressed: it is redrawn away, focus goes to the heading

  function panel() { return document.getElementById("section-learners"); }
  function isOpen(p) { return p && !p.hidden; }

  document.addEventListener("click", function (event) {
    var card = event.target.closest && event.target.closest(".kpi-button");
    if (card) opener = card;
    var p = panel();
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
    if (open && !wasOpen && heading && opener) {  // opened by a card, not by a link that arrives open
      heading.focus();
    } else if (!open && wasOpen && opener && document.contains(opener)) {
      opener.focus();
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
