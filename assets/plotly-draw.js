/* What every figure goes through before Plotly draws it (issue 12): its category labels' room measured
   first, and a graph's first drawing in a task of its own; and Plotly itself loaded only once a graph needs it.

   Labels. Plotly finds the room a bar chart's category labels need by drawing the chart, measuring
   each label, then drawing it again with wider margins (its automatic margin), up to three times: on
   explore, one bar chart of 30 trainings took three drawings, 270 ms in a plain browser and 1.4 to 2 s
   under Lighthouse's tracing. The labels are measured here on a canvas in the chart's font (no layout,
   microseconds), so that Plotly finds the margins wide enough and draws once:
   - horizontal bars: a left margin as wide as the widest label (capped at half the chart's width; a
     longer label is left to Plotly, which keeps some room for the bars);
   - vertical bars on a category axis: the angle Plotly would choose (its autotickangles: level when the
     labels fit side by side, else 30 degrees, else 90) and the bottom and right margins the labels take
     at that angle, unless they would leave the plot less than Plotly's 64 px (its minreducedheight).
   Plotly's automatic margin stays on: where the estimate is short, it still makes the room.

   First drawing. dcc.Graph draws in a promise's callback, so every graph React mounts in one commit was
   drawn in that commit's task: on the overview, the filters, the date picker and seven graphs (six blank
   placeholders, 12 to 30 ms each, and the first chart handed over by assets/deferred-charts.js) made one
   task of 350 to 550 ms. A graph not drawn yet waits for a new task first; a graph already drawn (a
   filter change, a figure handed over) is drawn at once. dcc.Graph queues its drawings, so they keep
   their order. */
(function () {
  "use strict";
  var GAP = 12, PAD = 15, LINE = 1.25, MIN_PLOT = 64, measure = document.createElement("canvas").getContext("2d");

  function labelWidths(labels, font) {
    measure.font = (font.size || 12) + "px " + (font.family || "sans-serif");
    return labels.map(function (label) { return measure.measureText(String(label)).width; });
  }

  function fitRows(trace, layout, width) {
    var font = Object.assign({}, layout.font, (layout.yaxis || {}).tickfont);
    var widest = Math.max.apply(null, labelWidths(trace.y, font));
    var margin = Object.assign({}, layout.margin), wanted = Math.ceil(widest) + GAP;
    if (wanted <= (margin.l || 0) || wanted > width / 2) return null;
    margin.l = wanted;
    return {margin: margin};
  }

  function fitColumns(trace, layout, width) {
    var axis = layout.xaxis || {}, font = Object.assign({}, layout.font, axis.tickfont), size = font.size || 12;
    var labels = labelWidths(trace.x, font), count = labels.length, widest = Math.max.apply(null, labels);
    var margin = Object.assign({l: 80, r: 80, t: 100, b: 80}, layout.margin), right = margin.r;
    var angle = 0, height = layout.height || 450;
    for (var pass = 0; pass < 3; pass++) {  // the labels' spacing depends on the right margin they take
      var spacing = (width - margin.l - margin.r) / count;
      if (spacing <= 0) return null;
      if (widest + 2 <= spacing) {
        angle = 0;
      } else {
        var opposite = size * LINE, cos = spacing / Math.sqrt(spacing * spacing + opposite * opposite);
        angle = Math.cos(Math.PI / 6) <= cos ? 30 : 90;
      }
      // at 30 degrees a label starts below its bar and runs down to the right; level or upright, it is centred
      var reach = angle === 30 ? Math.cos(Math.PI / 6) : 0, past = 0;
      labels.forEach(function (w, i) { past = Math.max(past, w * reach - (count - i - 0.5) * spacing); });
      margin.r = Math.max(right, Math.ceil(past) + PAD);
    }
    var rad = angle * Math.PI / 180;
    var drop = Math.ceil(widest * Math.sin(rad) + size * LINE * Math.cos(rad)) + PAD;
    if (drop > height - margin.t - MIN_PLOT || width - margin.l - margin.r < MIN_PLOT) return null;
    margin.b = Math.max(margin.b, drop);
    return {margin: margin, xaxis: Object.assign({}, axis, {tickangle: angle})};
  }

  function fitted(figure, width) {
    var trace = figure && figure.data && figure.data.length === 1 && figure.data[0], layout = figure && figure.layout;
    if (!trace || !layout || trace.type !== "bar" || !width || !measure) return figure;
    var changes = null;
    if (trace.orientation === "h" && trace.y && trace.y.length) {
      changes = fitRows(trace, layout, width);
    } else if (trace.orientation !== "h" && trace.x && trace.x.length && (layout.xaxis || {}).type === "category" &&
               [undefined, "auto"].indexOf((layout.xaxis || {}).tickangle) >= 0) {
      changes = fitColumns(trace, layout, width);
    }
    return changes ? Object.assign({}, figure, {layout: Object.assign({}, layout, changes)}) : figure;
  }

  function install() {
    var plotly = window.Plotly;
    if (!plotly || !plotly.react || plotly.react.dvDraw) return;
    var react = plotly.react;
    plotly.react = function (gd, figure) {
      var self = this, args = Array.prototype.slice.call(arguments);
      if (args.length === 2 && figure && figure.data && figure.layout) {
        args[1] = fitted(figure, gd && gd.clientWidth);
      }
      if (gd && gd._fullLayout) return react.apply(self, args);
      return new Promise(function (resolve) { setTimeout(resolve, 0); }).then(function () {
        return react.apply(self, args);
      });
    };
    plotly.react.dvDraw = true;
  }

  // Plotly is not a script of the page (app.factory, PLOTLY_SCRIPT): dcc.Graph loads it when a graph first
  // renders, from window._dashPlotlyJSURL, which Dash's renderer sets to Dash's own full bundle (4.8 MB). That
  // URL is held at the page's own bundle, and the wrapper above is installed the moment Plotly is defined.
  var bundle = document.documentElement.getAttribute("data-plotly");
  if (bundle && !window.Plotly) {
    var plotly;
    Object.defineProperty(window, "_dashPlotlyJSURL", {configurable: true, get: function () { return bundle; },
                                                       set: function () {}});
    Object.defineProperty(window, "Plotly", {configurable: true, get: function () { return plotly; },
                                             set: function (value) { plotly = value; install(); }});
  } else {
    install();
  }
})();
