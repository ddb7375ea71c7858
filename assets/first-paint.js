/* The first paint (layouts/first_paint.py) is removed once Dash's page is in the document: the stylesheet has
   hidden it in that same frame; removed, nothing finds its copies of the page's texts afterwards. */
(function () {
  "use strict";
  function done() {
    var entry = document.getElementById("react-entry-point");
    if (!entry || !entry.querySelector("main")) return false;
    document.querySelectorAll(".dv-first-paint").forEach(function (picture) { picture.remove(); });
    return true;
  }
  if (done()) return;
  var observer = new MutationObserver(function () { if (done()) observer.disconnect(); });
  observer.observe(document.documentElement, {subtree: true, childList: true});
})();
