#!/usr/bin/env node
// Production entry point: runs the compiled commands under dist/ (build with `npm run build`).
// User plugins are off: oclif would otherwise look for them under $MON_DATA_DIR, which is ours.
// Start-up time is most of a short command's time (docs/startup.md): `--version` is answered here,
// without oclif; everything else runs from dist/mon.cjs, the bundled CLI loaded from a V8 code
// cache (bin/load.cjs), or — without a bundle, or with MON_BUNDLE=0 — from dist/src as oclif loads it.
import './lean.js' // first: V8 flags for `mon daemon`, before anything is compiled
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {arch, platform, release} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const loadOptions = {root, userPlugins: false, devPlugins: false}

// What oclif prints for --version (its config.userAgent), without loading it. Under WSL oclif says
// "wsl" for the platform: that case is left to oclif.
if (argv[0] === '--version' && !/microsoft/i.test(release())) {
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}\n`)
} else {
  const {loadBundle, runBundle} = createRequire(import.meta.url)('./load.cjs')
  const bundle = process.env.MON_BUNDLE === '0' ? undefined : loadBundle(root, argv)
  if (bundle) {
    await runBundle(bundle, root, loadOptions)
  } else {
    const {execute} = await import('@oclif/core')
    await execute({dir: import.meta.url, loadOptions})
  }
}
