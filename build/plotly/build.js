// Builds assets/plotly-dataviz.min.js (see build/plotly/README.md): esbuild with what plotly.js's
// own esbuild-config.js uses. Only the JavaScript is written: plotly.js injects its styles at run
// time, and the CSS esbuild extracts would be a second, unused download.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');

// plotly.js's esbuild-plugin-inline-css, except that each <style> id is the SHA-256 of the CSS file's
// path inside node_modules, not of its absolute path: the bundle is then the same bytes wherever the
// repository is checked out (a clean clone in CI, a worktree, a deploy host).
const InlineCSSPlugin = {
  name: 'inline-css',
  setup(build) {
    build.onLoad({ filter: /\.(css)$/ }, async (args) => {
      const source = path.resolve(args.resolveDir, args.path);
      const id = crypto.createHash('sha256').update(path.relative(__dirname, source)).digest('hex');
      const css = fs.readFileSync(source);
      return {
        loader: 'js',
        contents: `(function(){
        if (!document.getElementById('${id}')) {
            var e = document.createElement('style');
            e.id = '${id}';
            e.textContent = \`${css}\`;
            document.head.appendChild(e);
        }
    })();`,
      };
    });
  },
};

const out = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'assets', 'plotly-dataviz.min.js'));
esbuild.build({
  entryPoints: [path.join(__dirname, 'entry.js')], outfile: out, write: false,
  format: 'iife', globalName: 'Plotly', bundle: true, minify: true, legalComments: 'none', target: 'es2016',
  plugins: [InlineCSSPlugin, environmentPlugin({ NODE_DEBUG: false })],
  define: { global: 'window', 'define.amd': 'false' },
}).then((result) => {
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  fs.writeFileSync(out, js.contents);
}).catch(() => process.exit(1));
