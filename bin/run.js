#!/usr/bin/env node
// Production entry point: runs the compiled commands under dist/ (build with `npm run build`).
// User plugins are off: oclif would otherwise look for them under $MON_DATA_DIR, which is ours.
// Start-up time is most of a short command's time (docs/startup.md): `--version` is answered here,
// without oclif; everything else runs from dist/bundle/mon.js, the bundled CLI loaded from a V8 code
// cache (bin/load.cjs), or — without a bundle, or with MON_BUNDLE=0 — from dist/src as oclif loads it.
// bin/ is CommonJS (bin/package.json): starting an ES module would start node's ESM loader too.
'use strict'
require('./lean.js') // first: V8 flags for `mon daemon`, before anything is compiled
const {loadBundle, printVersion, runBundle} = require('./load.cjs')

const root = require('node:path').join(__dirname, '..')
const argv = process.argv.slice(2)
const loadOptions = {root, userPlugins: false, devPlugins: false}

// `mon daemon` and continuous `mon collect` start as before: their start is not what matters, and
// the bundle's source (every command's) would stay in their heap for weeks (docs/daemon.md#memory)
const longRunning = globalThis[Symbol.for('mon.longRunning')]
if (argv[0] !== '--version' || !printVersion(root)) {
  const bundle = process.env.MON_BUNDLE === '0' || longRunning ? undefined : loadBundle(root, argv)
  if (bundle) {
    runBundle(bundle, root, loadOptions, argv)
  } else {
    import('@oclif/core').then(({execute}) => execute({dir: __filename, loadOptions}))
  }
}
