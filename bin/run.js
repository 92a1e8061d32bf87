#!/usr/bin/env node
// Production entry point: runs the compiled commands under dist/ (build with `npm run build`).
// User plugins are off: oclif would otherwise look for them under $MON_DATA_DIR, which is ours.
import './lean.js' // first: V8 flags for `mon daemon`, before anything is compiled
import {execute} from '@oclif/core'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
await execute({dir: import.meta.url, loadOptions: {root, userPlugins: false, devPlugins: false}})
