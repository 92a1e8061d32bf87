import {readFileSync} from 'node:fs'
import path from 'node:path'
import {InputError} from '../errors.js'
import {findConfigFile} from './paths.js'
import {displayName, finish, type ConfigSection, type LoadedConfig} from './resolve.js'
import {builtDefaultConfig} from './defaults.js'
import {keepValidated, mayKeepValidated, readValidated} from './validated.js'

// Finding and reading the config. Validation (parse.ts, and with it the zod schema of every section,
// input and channel) is imported only when there is a file to validate: without one, the defaults
// `npm run build` wrote (defaults.ts) apply, so a command's start never builds the schema
// (docs/startup.md).

export type {ConfigSection, LoadedConfig} from './resolve.js'

/**
 * What reading or writing the store needs. Commands that only touch the store pass these, so an
 * unset `${VAR}` elsewhere (the API token, a channel's webhook) does not stop a query.
 */
export const STORE_SECTIONS: readonly ConfigSection[] = ['host', 'global_tags', 'data_dir', 'store', 'retention', 'log']

/** What `mon collect` uses: the store, the agent, the inputs, the spool and the cluster (not rules, notify or the API). */
export const COLLECT_SECTIONS: readonly ConfigSection[] = [...STORE_SECTIONS, 'agent', 'inputs', 'spool', 'cluster']

/** What `mon alerts eval --once` (cron mode) uses: everything but the daemon's API (its token is the daemon's). */
export const EVAL_ONCE_SECTIONS: readonly ConfigSection[] = [...STORE_SECTIONS, 'agent', 'inputs', 'spool', 'rules', 'notify']

export interface LoadOptions {
  /** An explicit config file (the --config flag). */
  path?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** The sections the command uses: a `${…}` that does not resolve is an error only there (default: every section). */
  sections?: readonly ConfigSection[]
}

/**
 * Find (see {@link findConfigFile}), read, interpolate and validate the config. No file at all
 * gives the defaults. Bad content throws a {@link ConfigError} (a LocatedError, exit 2).
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const file = findConfigFile(opts.path, env, cwd)
  // without a file: the defaults as the build wrote them, else (a tsc-only build) through the schema
  if (!file) return builtDefaultConfig({env, cwd}) ?? (await import('./parse.js')).defaultConfig({env, cwd})
  let text: string
  try {
    text = readFileSync(file, 'utf8') // a few KB: node:fs/promises would cost more to load than to wait for
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new InputError(`cannot read config file ${file}: ${code === 'EACCES' ? 'permission denied' : (err as Error).message}`, {cause: err})
  }
  // a text that validated before gives what it gave then, without the schema (validated.ts)
  const key = {file, text, templates: opts.sections === undefined || opts.sections.includes('notify'), env}
  const validated = readValidated(key)
  if (validated) return {...finish(validated, {env, cwd, baseDir: path.dirname(path.resolve(cwd, file)), secretPaths: [], secrets: []}), file}
  const {parseConfigText} = await import('./parse.js')
  return parseConfigText(text, file, env, {cwd, label: displayName(file, cwd), sections: opts.sections, onValid: mayKeepValidated(text, env) ? (data) => keepValidated(key, data) : undefined})
}
