#!/usr/bin/env node
// Writes dist/src/core/config/defaults.json: the config with nothing but defaults
// (monConfigSchema.parse({})), which a command run without a config file uses instead of building
// the zod schema of every section, input and channel (src/core/config/defaults.ts, docs/startup.md).
// Run by `npm run build` after tsc. The host name, the one default that depends on the machine, is
// written as null and filled in at run time.
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {isDeepStrictEqual} from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'dist', 'src', 'core', 'config')
const {monConfigSchema} = await import(pathToFileURL(join(dir, 'schema.js')).href)
const parsed = monConfigSchema.parse({})
if (typeof parsed.host !== 'string') throw new Error('expected the host name as the default host')
const written = JSON.stringify({...parsed, host: null})
// a default JSON cannot hold as it is (a Date, a RegExp, a key set to undefined) would come back different
if (!isDeepStrictEqual(JSON.parse(written), {...parsed, host: null})) throw new Error('the default config does not survive JSON unchanged: src/core/config/defaults.ts cannot serve it')
writeFileSync(join(dir, 'defaults.json'), written + '\n')
