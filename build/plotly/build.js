// Builds assets/plotly-dataviz.min.js (see build/plotly/README.md): esbuild with the plugins
// plotly.js's own esbuild-config.js uses. Only the JavaScript is written: plotly.js injects its
// styles at run time, and the CSS esbuild extracts would be a second, unused download.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const { environmentPlugin } = require('esbuild-plugin-environment');

const out = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'assets', 'plotly-dataviz.min.js'));
esbuild.build({
  entryPoints: [path.join(__dirname, 'entry.js')], outfile: out, write: false,
  format: 'iife', globalName: 'Plotly', bundle: true, minify: true, legalComments: 'none', target: 'es2016',
  plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
  define: { global: 'window', 'define.amd': 'false' },
}).then((result) => {
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  fs.writeFileSync(out, js.contents);
}).catch(() => process.exit(1));
