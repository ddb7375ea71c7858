/* Tell the host page (an LMS framing /embed/...) how tall the dashboard is, on grow and on shrink.
   The host listens for {type: "dataviz:height", height} and sizes the iframe (docs/embedding.md). */
(function () {
  if (window.parent === window || typeof ResizeObserver === "undefined") return;
  var last = -1;
  function report() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({type: "dataviz:height", height: height}, "*");
    }
  }
  new ResizeObserver(report).observe(document.body);
  report();
})();
