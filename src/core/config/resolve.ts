import path from 'node:path'
import {expandPath, resolveDataDir} from './paths.js'
import type {configShape, MonConfig, ParsedConfig} from './schema.js'

/**
 * What turns a parsed config into the one commands see — paths resolved against the config file's
 * directory — shared by the parser (parse.ts) and the defaults the build wrote (defaults.ts), which
 * a command without a config file uses without building the schema.
 */

/** A top-level key of the config. */
export type ConfigSection = keyof typeof configShape

/** A loaded config (see load.ts's loadConfig). */
export interface LoadedConfig {
  config: MonConfig
  /** The file it came from; undefined when no file was found and the defaults apply. */
  file?: string
  /** Paths (keys, and list indices as decimal strings) of values that came from `${…}` interpolation. */
  secretPaths: string[][]
  /** Resolved data directory (same as config.data_dir). */
  dataDir: string
  /** The substituted env/file values themselves (e.g. the token inside `Bearer ${TOKEN}`). */
  secretFragments?: string[]
  /** Sections left at their defaults because a `${…}` in them did not resolve and the command does not use them. */
  skippedSections?: string[]
}

/** `mon.yaml` for a file under cwd, the absolute path otherwise. */
export function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file)
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}

/** Resolve what depends on where the file is: data_dir, the sqlite path, rule files, file_sd globs. */
export function finish(
  parsed: ParsedConfig,
  ctx: {env: NodeJS.ProcessEnv; cwd: string; baseDir: string; secretPaths: string[][]; secrets: string[]},
): LoadedConfig {
  const {env, cwd, baseDir} = ctx
  const dataDir = resolveDataDir(parsed, env, baseDir, cwd)
  const store =
    parsed.store.type === 'sqlite'
      ? {...parsed.store, path: parsed.store.path ? expandPath(parsed.store.path, baseDir, env) : path.join(dataDir, 'mon.db')}
      : parsed.store
  const config: MonConfig = {
    ...parsed,
    data_dir: dataDir,
    store,
    rules: {...parsed.rules, files: parsed.rules.files.map((f) => expandPath(f, baseDir, env))},
    inputs: {
      ...parsed.inputs,
      prometheus: parsed.inputs.prometheus.map((p) => (p.file_sd ? {...p, file_sd: p.file_sd.map((f) => expandPath(f, baseDir, env))} : p)),
      listener: withTlsPaths(parsed.inputs.listener, (f) => expandPath(f, baseDir, env)),
    },
    api: withTlsPaths(parsed.api, (f) => expandPath(f, baseDir, env)),
    notify: parsed.notify.templates ? {...parsed.notify, templates: {...parsed.notify.templates, files: parsed.notify.templates.files.map((f) => expandPath(f, baseDir, env))}} : parsed.notify,
  }
  return {config, secretPaths: ctx.secretPaths, dataDir, secretFragments: [...new Set(ctx.secrets)]}
}

/** A server section with its TLS files relative to the config file. */
function withTlsPaths<T extends {tls_cert?: string; tls_key?: string; tls_client_ca?: string}>(section: T, expand: (file: string) => string): T {
  const out = {...section}
  for (const key of ['tls_cert', 'tls_key', 'tls_client_ca'] as const) if (out[key]) out[key] = expand(out[key])
  return out
}
