import {mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, hostname} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {isDeepStrictEqual} from 'node:util'
import {buildStamp} from './defaults.js'
import type {ParsedConfig} from './schema.js'

// The validated config of an unchanged file (docs/startup.md). Validating a config file means
// building the zod schema of every section, input and channel and running it over the YAML: most
// of a short command's start with a file. The result depends only on the file's text — once it has
// no `${…}` (environment variables, secret files) — the build (the schema), node (time zones) and
// the host name (the default `host`), so a run that validated a file keeps what the schema gave, and
// the next run of the same text takes it without loading the schema, the YAML parser or zod. Paths
// are still resolved on every run (resolve.ts's finish), against that run's environment and file.
//
// Only a file that validated is kept: a file with a problem is validated, and reported, every time.
// The entry holds the whole text and is used only when the text is the same, character for character.

export interface ValidatedKey {
  /** The config file (absolute). */
  file: string
  text: string
  /** Whether the notification templates were compiled and checked (a command that uses `notify`). */
  templates: boolean
  env: NodeJS.ProcessEnv
}

interface Entry {
  v: 1
  build: string
  node: string
  host: string
  file: string
  templates: boolean
  text: string
  data: ParsedConfig
}

/** Whether a validated `text` may be kept: not with `${…}` (its values come from outside the file), not when turned off. */
export function mayKeepValidated(text: string, env: NodeJS.ProcessEnv): boolean {
  return env.MON_CONFIG_CACHE !== '0' && !text.includes('${')
}

/** What the schema gave for this very text on an earlier run, or undefined. */
export function readValidated(key: ValidatedKey): ParsedConfig | undefined {
  if (!mayKeepValidated(key.text, key.env)) return undefined
  const build = buildStamp()
  if (build === undefined) return undefined
  for (const dir of cacheDirs(key.env)) {
    let entry: Entry
    try {
      entry = JSON.parse(readFileSync(path.join(dir, entryName(key.file)), 'utf8')) as Entry
    } catch {
      continue
    }
    // templates checked before serve a run that needs them and one that does not
    const same = entry.v === 1 && entry.build === build && entry.node === process.version && entry.host === hostname() && entry.file === key.file && entry.text === key.text
    return same && (entry.templates || !key.templates) ? entry.data : undefined
  }
  return undefined
}

/** Keeps what the schema gave for `key.text` (nothing when it would not come back unchanged from JSON). Never throws. */
export function keepValidated(key: ValidatedKey, data: ParsedConfig): void {
  if (!mayKeepValidated(key.text, key.env)) return
  // template files are read from disk when the templates are checked: they may change under the same text
  if (key.templates && (data.notify.templates?.files.length ?? 0) > 0) return
  const build = buildStamp()
  if (build === undefined) return
  let json: string
  try {
    const entry: Entry = {v: 1, build, node: process.version, host: hostname(), file: key.file, templates: key.templates, text: key.text, data}
    json = JSON.stringify(entry)
    // a value JSON cannot hold as it is (a Date, a RegExp, a key set to undefined) would come back different
    if (!isDeepStrictEqual((JSON.parse(json) as Entry).data, data)) return
  } catch {
    return
  }
  const name = entryName(key.file)
  for (const dir of cacheDirs(key.env)) {
    const tmp = path.join(dir, `.${name}.${process.pid}.tmp`)
    try {
      mkdirSync(dir, {recursive: true})
      // the file may hold what the config file does (a store password): readable by its owner only
      writeFileSync(tmp, json, {mode: 0o600})
      renameSync(tmp, path.join(dir, name)) // atomic: a concurrent start reads the old entry or the new one
      // bin/load.cjs: the code cache of this run (schema and all) is not what the next runs need
      ;(globalThis as Record<symbol, unknown>)[Symbol.for('mon.configValidated')] = true
      return
    } catch {
      try {
        rmSync(tmp, {force: true})
      } catch {}
    }
  }
}

/** The files an entry for `file` may be in, the first that can be written first (for tests). */
export function validatedEntryPaths(file: string, env: NodeJS.ProcessEnv): string[] {
  return cacheDirs(env).map((dir) => path.join(dir, entryName(file)))
}

/** Where bin/load.cjs keeps its code caches: dist/bundle/.cache (emptied by each build), else $XDG_CACHE_HOME/mon. */
function cacheDirs(env: NodeJS.ProcessEnv): string[] {
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(env.HOME || homedir(), '.cache')
  return [fileURLToPath(new URL('../../../bundle/.cache/', import.meta.url)), path.join(xdg, 'mon')]
}

/** One entry per config file: a changed file replaces its entry. */
function entryName(file: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < file.length; i++) h = Math.imul(h ^ file.charCodeAt(i), 0x01000193)
  return `config-${(h >>> 0).toString(16)}.json`
}
