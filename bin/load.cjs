'use strict'
// Loads dist/bundle/mon.js (the bundled CLI, scripts/bundle.js) the way require() would, but compiled from
// a V8 code cache: the bytecode of the functions the last run of the same command compiled, so a
// start neither parses nor compiles them again (docs/startup.md). One cache file per command, in
// dist/bundle/.cache/ or, where dist/ is not writable (a global install), $XDG_CACHE_HOME/mon/ (~/.cache/mon);
// named by the bundle's hash, so a rebuild starts afresh. V8 refuses a cache made by another V8
// version or with other V8 flags, and the run then writes a new one.
const {closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {homedir} = require('node:os')
const {dirname, isAbsolute, join} = require('node:path')
const vm = require('node:vm')

/**
 * Prints what oclif prints for --version (its config.userAgent) and returns true; false where it
 * may be WSL, where oclif says "wsl" for the platform: that case is left to oclif.
 */
function printVersion(root) {
  const os = require('node:os')
  if (os.platform() === 'linux' && maybeWsl(os)) return false
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const cpu = os.arch() === 'ia32' ? 'x86' : os.arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${os.platform()}-${cpu} node-${process.version}\n`)
  return true
}

/** Any sign is-wsl (oclif's test) looks for; is-wsl then also rules out containers. */
function maybeWsl(os) {
  if (/microsoft/i.test(os.release())) return true
  try {
    if (/microsoft/i.test(readFileSync('/proc/version', 'utf8'))) return true
  } catch {}

  return existsSync('/proc/sys/fs/binfmt_misc/WSLInterop') || existsSync('/run/WSL')
}

/**
 * The bundle's exports ({oclif, commands}), or undefined when there is no bundle. `argv` picks the
 * bundle — a command with one of its own (dist/bundle/cmd/<id>.js) runs from that one, unless help
 * is asked for — and the cache file: the command it names, or one file for everything else (help,
 * plugins' commands).
 */
function loadBundle(root, argv) {
  const dist = join(root, 'dist')
  const dir = join(dist, 'bundle')
  const main = join(dir, 'mon.js')
  let info
  let file
  let hash
  try {
    // tsc alone (no `npm run build`) leaves a bundle older than dist/src: that one would run old code
    // (the build writes the commands' own bundles after the main one)
    if (statSync(join(dist, '.tsbuildinfo'), {throwIfNoEntry: false})?.mtimeMs > statSync(main).mtimeMs) return undefined
    info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'))
    const own = wantsHelp(argv) ? undefined : info.own?.[commandKey(info.commands, argv).replaceAll('.', ':')]
    file = own ? join(dir, own.file) : main
    hash = own ? own.hash : info.hash
  } catch {
    return undefined
  }

  // (long-running commands do not come here, bin/run.js; were they to, bin/lean.js's V8 flags, which
  // they change while running (src/core/runtime.ts), would make V8 refuse each cache they wrote)
  const useCache = process.env.MON_CODE_CACHE !== '0' && !globalThis[Symbol.for('mon.longRunning')]
  // node's flags (which may set V8's) name the file too: runs with other flags have their own cache
  // instead of each refusing and rewriting the other's
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim()
  const caches = useCache && {
    dirs: [join(dir, '.cache'), join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mon')],
    suffix: flags ? `-${fnv1a(flags)}` : '',
    // the caches of this build: those of other builds are deleted when a cache is written
    live: [info.hash, ...Object.values(info.own ?? {}).map((o) => o.hash), ...Object.values(info.packages ?? {}).map((p) => p.hash)],
  }
  // a run that validated a config file and kept the result (src/core/config/validated.ts) compiled
  // the schema, which the next runs will not: its cache is left to the next run
  const keep = () => !globalThis[Symbol.for('mon.configValidated')]
  let script
  try {
    script = compile(file, caches && `${hash}-${commandKey(info.commands, argv)}${mayUseConfigFile(argv) ? '+config' : ''}`, caches, keep)
  } catch (error) {
    if (error?.code === undefined) throw error // not a file that cannot be read: the bundle's own error
    return undefined // no such file (or not readable): as without a bundle
  }

  // the bundle's import() calls (oclif loading plugins' commands and our unbundled ones) come here:
  // code compiled by vm.Script cannot import() itself (scripts/bundle.js)
  const module = new Module(file, null)
  module.filename = file
  module.paths = Module._nodeModulePaths(dirname(file))
  Module._cache[file] = module
  // the packages bundled on their own (dist/bundle/pkg/), loaded on the bundle's first require() of each
  const packages = packageLoader(dir, info, caches, Module.createRequire(file))
  globalThis[Symbol.for('mon.package')] = packages
  // an import() of one of those gives what node's import() of a CommonJS module would: its exports as
  // named exports, and as `default`
  globalThis[Symbol.for('mon.import')] = (specifier) =>
    Object.hasOwn(info.packages ?? {}, packageName(specifier)) ? Promise.resolve().then(() => ({...packages(specifier), default: packages(specifier)})) : import(specifier)

  // oclif checks at load that node satisfies the engines of its own package.json, which it finds
  // next to its files: in the bundle it would look in dist/ and find none. The check costs a semver
  // load; mon's package.json states its own engines.
  const skip = process.env.OCLIF_DISABLE_ENGINE_WARNING
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
  try {
    script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file))
  } finally {
    if (skip === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
    else process.env.OCLIF_DISABLE_ENGINE_WARNING = skip
  }

  module.loaded = true
  return module.exports
}

/**
 * `file` (a CommonJS file as scripts/bundle.js writes it: latin1, already wrapped in its module
 * function) compiled from the code cache `name` when there is one that V8 takes; without one, a
 * cache is written at exit, so it holds every function this run compiled, not just the top level.
 * Without `caches` (MON_CODE_CACHE=0), compiled as require() would. Throws when `file` cannot be read.
 */
function compile(file, name, caches, keep = () => true) {
  if (caches) name += `${caches.suffix}.v8`
  const {source, cachedData} = readScript(file, caches ? caches.dirs.map((dir) => join(dir, name)) : [])
  const script = new vm.Script(source, {filename: file, cachedData})
  if (caches && (cachedData === undefined || script.cachedDataRejected)) {
    // at exit, so the cache holds every function this command compiled, not just the top level
    process.once('exit', () => keep() && writeCache(caches, name, script))
  }

  return script
}

/**
 * The text of `file` (as latin1: a copy, no UTF-8 decoding) and the first of `cacheFiles` there is,
 * through one buffer: the cache is read into the pages the text went through (the text a string of
 * its own by then), not into fresh ones — ~160 page faults fewer for `mon query`. Each file is read
 * through its own descriptor, so a cache renamed over meanwhile (bin/load.cjs writeCache) is read
 * whole, old or new.
 */
function readScript(file, cacheFiles) {
  const fd = openSync(file, 'r')
  let cacheFd
  try {
    for (const cacheFile of cacheFiles) {
      try {
        cacheFd = openSync(cacheFile, 'r')
        break
      } catch {}
    }

    const size = fstatSync(fd).size
    const cacheSize = cacheFd === undefined ? 0 : fstatSync(cacheFd).size
    const buffer = Buffer.allocUnsafeSlow(Math.max(size, cacheSize))
    const source = buffer.toString('latin1', 0, readAll(fd, buffer, size))
    return {source, cachedData: cacheFd === undefined ? undefined : buffer.subarray(0, readAll(cacheFd, buffer, cacheSize))}
  } finally {
    closeSync(fd)
    if (cacheFd !== undefined) closeSync(cacheFd)
  }
}

/** Reads up to `size` bytes of `fd` into `buffer`; how many it read. */
function readAll(fd, buffer, size) {
  let n = 0
  for (let got; n < size && (got = readSync(fd, buffer, n, size - n, n)) > 0; ) n += got
  return n
}

/**
 * What the bundle's require() of one of the packages bundled on their own gives (scripts/bundle.js):
 * the package's file, dist/bundle/pkg/<name>.js, is loaded on the first require() of the package —
 * the way require() would, from one code cache per package — and its exports hold what require()
 * gives for each specifier the bundle uses. A package the build did not list is required from
 * node_modules.
 */
function packageLoader(dir, info, caches, fallback) {
  const loaded = new Map()
  return (specifier) => {
    const name = packageName(specifier)
    const pkg = info.packages?.[name]
    if (pkg === undefined) return fallback(specifier)
    let exports = loaded.get(name)
    if (exports === undefined) {
      const file = join(dir, pkg.file)
      const module = new Module(file, null)
      module.filename = file
      module.paths = Module._nodeModulePaths(dirname(file))
      Module._cache[file] = module
      const script = compile(file, caches && `${pkg.hash}-pkg-${name.replace('/', '+')}`, caches)
      script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file))
      module.loaded = true
      exports = module.exports
      loaded.set(name, exports)
    }

    return exports[specifier]
  }
}

/** `zod` for `zod/v4/core`, `@scope/name` for `@scope/name/sub`. */
function packageName(specifier) {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]
}

function fnv1a(text) {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16)
}

/** The command id argv names (`alerts silence add` → alerts:silence:add), or '_'. */
/**
 * Whether the command line asks for help: --help or -h (package.json's oclif.additionalHelpFlags)
 * before any `--`, or the help command. Help reads every command's manifest and the plugins' ones.
 */
function wantsHelp(argv) {
  if (argv[0] === 'help') return true
  for (const arg of argv) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }

  return false
}

function commandKey(ids, argv) {
  const known = new Set(ids)
  const words = []
  for (const arg of argv) {
    if (arg.startsWith('-') || words.length === 4) break
    words.push(arg)
  }

  for (let n = words.length; n > 0; n--) {
    const id = words.slice(0, n).join(':')
    if (known.has(id)) return id.replaceAll(':', '.')
  }

  return '_'
}

/**
 * Whether the run will likely validate a config file: where core/config/paths.ts's findConfigFile
 * looks (--config, $MON_CONFIG, ./mon.yaml, $XDG_CONFIG_HOME/mon/config.yaml). Without one a command
 * takes the defaults the build wrote and never builds the config schema (docs/startup.md), so it
 * compiles other functions than with one: each keeps its own cache (a cache written without a file
 * would leave a run with one compiling the whole schema, every time). A wrong guess costs time only.
 */
function mayUseConfigFile(argv) {
  if (argv.some((a) => a === '-c' || a === '--config' || a.startsWith('--config=') || (a.startsWith('-c') && !a.startsWith('--')))) return true
  const env = process.env
  if (env.MON_CONFIG) return true
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config')
  return existsSync(join(process.cwd(), 'mon.yaml')) || existsSync(join(xdg, 'mon', 'config.yaml'))
}

/** At exit: nothing here may throw (an exception in an exit listener would change the exit code). */
function writeCache(caches, name, script) {
  let data
  try {
    data = script.createCachedData()
  } catch {
    return
  }

  for (const dir of caches.dirs) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`)
    try {
      mkdirSync(dir, {recursive: true})
      writeFileSync(tmp, data)
      renameSync(tmp, join(dir, name)) // atomic: a concurrent start reads the old file or the new one
    } catch {
      try {
        rmSync(tmp, {force: true}) // a partly written file (a full disk)
      } catch {}

      continue
    }

    try {
      // caches of earlier builds (of the bundle and of each package file) are dead weight
      for (const old of readdirSync(dir)) if (old.endsWith('.v8') && !caches.live.includes(old.slice(0, old.indexOf('-')))) rmSync(join(dir, old), {force: true})
    } catch {}

    return
  }
}

/**
 * Runs oclif from the bundle: oclif itself is the bundled copy (also for what it still imports from
 * dist/src or node_modules, such as plugin-autocomplete's commands, so there is one oclif), and a
 * command of ours comes from the bundle instead of dist/src. Everything else — argument parsing,
 * help, errors, exit codes — is oclif's own code, as without the bundle.
 */
async function runBundle(bundle, root, loadOptions, argv) {
  const {oclif, commands} = bundle
  // before anything outside the bundle imports @oclif/core (resolving it costs a few ms, so only then)
  const shareOclif = () => {
    const oclifMain = require.resolve('@oclif/core', {paths: [root]})
    if (Module._cache[oclifMain]) return
    const shared = new Module(oclifMain, null)
    shared.filename = oclifMain
    shared.exports = oclif
    shared.loaded = true
    shared.paths = Module._nodeModulePaths(dirname(oclifMain))
    Module._cache[oclifMain] = shared
  }

  const find = oclif.Plugin.prototype.findCommand
  oclif.Plugin.prototype.findCommand = async function (id, opts) {
    const load = this.isRoot && Object.hasOwn(commands, id) ? commands[id] : undefined
    if (load === undefined) {
      shareOclif()
      return find.call(this, id, opts)
    }

    const module = await load()
    const cmd = module.default
    cmd.id = id
    cmd.plugin = this
    cmd.isESM = true
    cmd.relativePath = this.manifest.commands[id]?.relativePath
    return cmd
  }

  // the package.json we read anyway: oclif would look for it and read it again, asynchronously
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const options = {...loadOptions, pjson}
  // A command line that names one of our bundled commands, without --help, needs no other plugin:
  // none has hooks but on install, and only help and "command not found" look at their commands.
  // oclif then loads just ours (plugin-autocomplete's package and manifest are not looked for).
  const id = commandKey(Object.keys(commands), argv).replaceAll('.', ':')
  if (Object.hasOwn(commands, id) && !wantsHelp(argv)) {
    // and reads a manifest of that command only (scripts/bundle.js), not every command's flags and texts
    const own = join(root, 'dist', 'bundle', 'manifest', `${id.replaceAll(':', '.')}.json`)
    if (existsSync(own)) globalThis[Symbol.for('mon.manifest')] = {path: join(root, 'oclif.manifest.json'), file: own}
    const plugin = new oclif.Plugin({isRoot: true, root, pjson})
    await plugin.load()
    options.plugins = new Map([[plugin.name, plugin]])
  }

  return oclif.execute({loadOptions: options})
}

module.exports = {loadBundle, printVersion, runBundle}
