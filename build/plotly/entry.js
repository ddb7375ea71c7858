// The trace types layouts/figures.py draws (scatter comes with the core) and the French locale.
var Plotly = require('plotly.js/lib/core');
Plotly.register([
  require('plotly.js/lib/bar'),
  require('plotly.js/lib/pie'),
  require('plotly.js/lib/funnel'),
  require('plotly.js/lib/heatmap'),
  require('plotly.js/lib/locales/fr'),
]);
module.exports = Plotly;
