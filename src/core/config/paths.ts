import {statSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {InputError} from '../errors.js'

/**
 * Where the config file and the data directory live (XDG base directories). Every function takes
 * the environment explicitly (defaulting to process.env) so discovery is testable.
 */

export const CONFIG_FILE_NAME = 'mon.yaml'

function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir()
}

/** An XDG variable counts only when set to an absolute path (the spec says to ignore relative ones). */
function xdgDir(env: NodeJS.ProcessEnv, name: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME', fallback: string): string {
  const value = env[name]
  return value && path.isAbsolute(value) ? value : path.join(homeDir(env), fallback)
}

/** `~` and `~/x` → the home directory; relative paths resolve against `baseDir`. */
export function expandPath(p: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return homeDir(env)
  if (p.startsWith('~/')) return path.join(homeDir(env), p.slice(2))
  return path.resolve(baseDir, p)
}

/** `$XDG_CONFIG_HOME/mon/config.yaml` (XDG_CONFIG_HOME defaults to ~/.config). */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(xdgDir(env, 'XDG_CONFIG_HOME', '.config'), 'mon', 'config.yaml')
}

/** `$XDG_DATA_HOME/mon` (XDG_DATA_HOME defaults to ~/.local/share). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(xdgDir(env, 'XDG_DATA_HOME', path.join('.local', 'share')), 'mon')
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

function requireFile(p: string, origin: string): string {
  let stat
  try {
    stat = statSync(p)
  } catch {
    throw new InputError(`config file not found: ${p}`, {hint: `check the path given by ${origin}, or run 'mon config init' to create one`})
  }
  if (!stat.isFile()) throw new InputError(`config path is not a file: ${p}`, {hint: `${origin} must name a YAML file`})
  return p
}

/**
 * The config file to load, in order: `explicit` (the --config flag), `$MON_CONFIG`, `./mon.yaml`,
 * `$XDG_CONFIG_HOME/mon/config.yaml`. An explicit path or MON_CONFIG that does not exist is an
 * {@link InputError}; when nothing is found the result is undefined and the defaults apply.
 */
export function findConfigFile(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  if (explicit) return requireFile(expandPath(explicit, cwd, env), '--config')
  if (env.MON_CONFIG) return requireFile(expandPath(env.MON_CONFIG, cwd, env), '$MON_CONFIG')
  const local = path.join(cwd, CONFIG_FILE_NAME)
  if (isFile(local)) return local
  const user = defaultConfigPath(env)
  if (isFile(user)) return user
  return undefined
}

/**
 * The data directory: config `data_dir`, else `$MON_DATA_DIR`, else `$XDG_DATA_HOME/mon`.
 * A relative `data_dir` is relative to `baseDir` (the config file's directory); a relative
 * MON_DATA_DIR to `cwd`.
 */
export function resolveDataDir(
  cfg: {data_dir?: string | undefined},
  env: NodeJS.ProcessEnv = process.env,
  baseDir: string = process.cwd(),
  cwd: string = process.cwd(),
): string {
  if (cfg.data_dir) return expandPath(cfg.data_dir, baseDir, env)
  if (env.MON_DATA_DIR) return expandPath(env.MON_DATA_DIR, cwd, env)
  return defaultDataDir(env)
}
