import {readFileSync} from 'node:fs'
import path from 'node:path'
import {loadConfig, type LoadOptions, type LoadedConfig} from '../config/load.js'
import {findConfigFile} from '../config/paths.js'
import {daemonPidPath, readLock} from '../lock.js'

export interface ConfigOrRunningDaemon {
  loaded: LoadedConfig
  /** Set when the file does not load but a daemon still runs its last good version: the first problem, file:line:col. */
  configProblem?: string
}

/**
 * For the views of what runs (`mon status`, `mon alerts list`): a daemon keeps its last good config
 * when a reload fails, so a broken file must not hide it. When the file does not load and a daemon
 * runs on the data dir the file names, this gives that data dir (with defaults for the rest) and the
 * problem to warn about; with no daemon running the config error stands.
 */
export async function loadConfigOrRunningDaemon(opts: LoadOptions = {}): Promise<ConfigOrRunningDaemon> {
  try {
    return {loaded: await loadConfig(opts)}
  } catch (err) {
    // only here: problems.js brings the YAML parser, which a config that loads (or none) never needs
    const {ConfigError, formatProblem} = await import('../config/problems.js')
    if (!(err instanceof ConfigError)) throw err
    const env = opts.env ?? process.env
    const cwd = opts.cwd ?? process.cwd()
    const file = findConfigFile(opts.path, env, cwd)
    if (!file) throw err
    const {defaultConfig, salvageDataDir} = await import('../config/parse.js') // only here, as status.js below
    const dataDir = salvageDataDir(readFileSync(file, 'utf8'), file, env, cwd)
    const holder = readLock(daemonPidPath(dataDir))
    const {readStatusFile} = await import('./status.js') // only here: not on every command's start
    const runsThisFile = readStatusFile(dataDir)?.config
    if (!holder?.alive || (runsThisFile && path.resolve(runsThisFile) !== path.resolve(file))) throw err
    return {
      loaded: {...defaultConfig({env, cwd, dataDir}), file},
      configProblem: `${formatProblem(err.problems[0]!, false)} (the daemon, pid ${holder.pid}, still runs its last good config; it will not start again with this file)`,
    }
  }
}
