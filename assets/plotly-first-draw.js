/* A graph's first drawing runs in a task of its own (issue 12).

   dcc.Graph draws in a promise's callback, so every graph React mounts in one commit is drawn in
   that commit's task: on the overview, the filters, the date picker and seven graphs (six blank
   placeholders, 12 to 30 ms each, and the first chart handed over by assets/deferred-charts.js) made
   one task of 350 to 550 ms. Here Plotly.react, for a graph not drawn yet, waits for a new task
   first; a graph already drawn (a filter change, a figure handed over) is drawn at once, as before.
   dcc.Graph queues its drawings, so they keep their order. */
(function () {
  "use strict";

  function install() {
    var plotly = window.Plotly;
    if (!plotly || !plotly.react || plotly.react.dvFirstDrawDeferred) return;
    var react = plotly.react;
    plotly.react = function (gd) {
      var self = this, args = arguments;
      if (gd && gd._fullLayout) return react.apply(self, args);
      return new Promise(function (resolve) { setTimeout(resolve, 0); }).then(function () {
        return react.apply(self, args);
      });
    };
    plotly.react.dvFirstDrawDeferred = true;
  }

  // Dash adds the assets in the order of their names: Plotly (assets/plotly-dataviz.min.js) is already there.
  // Without it (Dash's own copy, loaded later), graphs are drawn as dcc.Graph draws them.
  install();
})();
