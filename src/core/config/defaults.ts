import {readFileSync, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {finish, type LoadedConfig} from './resolve.js'
import type {ParsedConfig} from './schema.js'

// The config with nothing but defaults is the same on every run but for the host name: `npm run
// build` writes it (scripts/config-defaults.js: monConfigSchema.parse({}), checked to survive JSON
// unchanged) next to this file, and a command run without a config file takes it from there instead
// of building the zod schema of every section, input and channel to parse `{}` (docs/startup.md).
// test/unit/config-defaults.test.ts checks it against the schema.

const FILE = new URL('./defaults.json', import.meta.url)
// dist/.tsbuildinfo: tsc alone (no `npm run build`) leaves the defaults of an older schema, not used then
const BUILD_INFO = new URL('../../../.tsbuildinfo', import.meta.url)

/** `monConfigSchema.parse({})` as the build wrote it, with this machine's host name; undefined without a current one. */
export function builtDefaults(): ParsedConfig | undefined {
  let text: string
  try {
    if (buildStamp() === undefined) return undefined
    text = readFileSync(FILE, 'utf8')
  } catch {
    return undefined
  }
  const parsed = JSON.parse(text) as ParsedConfig
  parsed.host = hostname() // the schema's default, which the build could not know (written as null: the key keeps its place)
  return parsed
}

/** What parse.ts's defaultConfig gives (no file, no data dir given), from the built defaults; undefined without them. */
export function builtDefaultConfig(opts: {env: NodeJS.ProcessEnv; cwd: string}): LoadedConfig | undefined {
  const parsed = builtDefaults()
  return parsed && finish(parsed, {env: opts.env, cwd: opts.cwd, baseDir: opts.cwd, secretPaths: [], secrets: []})
}

/**
 * Which build wrote the defaults (when it did: each `npm run build` rewrites them), as a string that
 * changes with each build; undefined without current defaults. What validated.ts keys its entries by:
 * another build may have another schema.
 */
export function buildStamp(): string | undefined {
  try {
    const written = statSync(FILE).mtimeMs
    if ((statSync(BUILD_INFO, {throwIfNoEntry: false})?.mtimeMs ?? 0) > written) return undefined
    return String(written)
  } catch {
    return undefined
  }
}
