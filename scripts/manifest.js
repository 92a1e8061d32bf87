#!/usr/bin/env node
// Writes oclif.manifest.json (what `oclif manifest` does) so `mon` starts without importing every
// command: cold start stays fast. Run by `npm run build`.
import {Config} from '@oclif/core'
import {rmSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const manifestPath = join(root, 'oclif.manifest.json')
rmSync(manifestPath, {force: true}) // a stale manifest would hide new commands
const config = await Config.load({root, devPlugins: false, userPlugins: false})
const plugin = config.getPluginsList().find((p) => p.root === root)
const manifest = {...plugin.manifest, version: config.version}
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n')
console.log(`wrote ${Object.keys(manifest.commands).length} commands to oclif.manifest.json`)
