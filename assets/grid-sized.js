/* The explore grid is shown once AG Grid has shared the width between its columns (flex): it first
   draws them at their default width and moves them a frame or two later (or slides them there), a
   layout shift. Until then its box keeps its place and the grid is laid out but not painted
   (visibility: hidden, assets/dataviz.css): it is shown once its columns' places and widths have held
   for three frames (or after two seconds whatever they do). A grid drawn again later (new rows) is shown at once. */
(function () {
  "use strict";
  var FRAMES = 3, LIMIT = 2000;

  // Each column's place and width: AG Grid may slide a column to its flex place after giving its width.
  function widths(box) {
    return Array.prototype.map.call(box.querySelectorAll(".ag-header-cell"), function (cell) {
      var rect = cell.getBoundingClientRect();
      return Math.round(rect.left) + ":" + Math.round(rect.width);
    }).join(",");
  }

  function watch(box) {
    if (box.hasAttribute("data-sized") || box.dvWatched) return;
    box.dvWatched = true;
    var start = performance.now(), last = null, still = 0;
    (function frame() {
      var now = widths(box);
      still = now && now === last ? still + 1 : 0;
      last = now;
      if (still >= FRAMES || performance.now() - start > LIMIT) {
        box.setAttribute("data-sized", "true");
      } else {
        requestAnimationFrame(frame);
      }
    })();
  }

  function scan() {
    document.querySelectorAll(".grid-box:not([data-sized])").forEach(function (box) {
      if (box.querySelector(".ag-header-cell")) watch(box);
    });
  }

  new MutationObserver(scan).observe(document.documentElement, {subtree: true, childList: true});
  scan();
})();
