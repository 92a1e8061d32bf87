#!/usr/bin/env node
// Production entry point: runs the compiled commands under dist/ (build with `npm run build`).
// User plugins are off: oclif would otherwise look for them under $MON_DATA_DIR, which is ours.
// Start-up time is most of a short command's time (docs/startup.md): `--version` is answered here,
// without oclif; everything else runs from dist/mon.cjs, the bundled CLI loaded from a V8 code
// cache (bin/load.cjs), or — without a bundle, or with MON_BUNDLE=0 — from dist/src as oclif loads it.
// Built-ins come through require(): an ESM import of one builds a facade of all its exports.
import './lean.js' // first: V8 flags for `mon daemon`, before anything is compiled
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
const root = require('node:path').resolve(require('node:url').fileURLToPath(new URL('..', import.meta.url)))
const argv = process.argv.slice(2)
const loadOptions = {root, userPlugins: false, devPlugins: false}

const {loadBundle, printVersion, runBundle} = require('./load.cjs')
if (argv[0] === '--version' && printVersion(root)) {
  // done: what oclif prints for --version, without loading it
} else {
  const bundle = process.env.MON_BUNDLE === '0' ? undefined : loadBundle(root, argv)
  if (bundle) {
    await runBundle(bundle, root, loadOptions)
  } else {
    const {execute} = await import('@oclif/core')
    await execute({dir: import.meta.url, loadOptions})
  }
}
