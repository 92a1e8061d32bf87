#!/usr/bin/env node
// Bundles the compiled CLI (dist/src, @oclif/core and the pure-JS dependencies) into one CommonJS
// file, dist/bundle/mon.js, which bin/run.js loads with a V8 code cache (bin/load.cjs): one file read and
// no per-module resolution or compilation on each start (docs/startup.md). Run by `npm run build`
// after tsc and scripts/manifest.js; reads oclif.manifest.json for the command list.
//
// Every command is reached through a lazy import(), so esbuild wraps each module in an init
// function and a run evaluates only the modules its command imports. A command whose static
// imports reach an ESM-only package kept outside the bundle (ink: top-level await in yoga-layout)
// is left out and loaded by oclif from dist/src as before.
import {build} from 'esbuild'
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
// dist/bundle/mon.js, CommonJS by dist/bundle/package.json (dist/src is ESM by the root one)
const outdir = join(dist, 'bundle')
const outfile = join(outdir, 'mon.js')
const infoFile = join(outdir, 'info.json')

// Kept outside: files read next to the package's own code (blessed's terminfo, blessed-contrib),
// packages that are ESM-only with top-level await (ink and its renderer) and oclif's
// development-time TypeScript support. Native addons (better-sqlite3's) are required at run time.
const external = ['better-sqlite3/package.json', 'blessed', 'blessed-contrib', 'ink', 'react', 'react/*', 'yoga-layout', 'typescript', 'ts-node', 'tsx']
// Of those, the ones `require()` cannot load: a command that imports them statically stays unbundled.
const esmOnly = new Set(['ink', 'yoga-layout'])
// Big packages only some runs need: each is bundled into a file of its own, dist/bundle/pkg/<name>.js,
// which bin/load.cjs loads (with its own code cache) when the main bundle first requires it. Every
// start reads the whole main bundle and V8 keeps a stub of each of its functions, used or not: with
// these in it, `mon query` read 3.3 MB and deserialized a 1.2 MB code cache, half of it the stubs.
// zod (the config schema: only when a config file is validated), yaml (config and rule files), nats
// (cluster mode), nodemailer (email), the InfluxDB client; and what oclif requires only for help,
// for finding command files without a manifest, for its spinner or under DEBUG (OCLIF_LAZY below):
// ejs, minimatch, tinyglobby (with fdir and picomatch), cli-spinners and debug (~150 KB).
const PACKAGES = ['zod', 'yaml', 'nats', 'nodemailer', '@influxdata/influxdb-client', 'semver', 'ejs', 'minimatch', 'tinyglobby', 'cli-spinners', 'debug']
const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])
const pkgdir = join(outdir, 'pkg')

// The commands most often run on their own, and briefly: each also gets a bundle of just oclif and
// that command, dist/bundle/cmd/<id>.js, which bin/load.cjs loads instead of the main one for a
// command line naming it (without --help). Every start reads its whole bundle, and V8's code cache
// holds a stub of each of the bundle's functions, run or not: `mon query` read 1.8 MB with every
// command's code in it; its own bundle is about half that.
const OWN = ['query', 'status']
const owndir = join(outdir, 'cmd')

const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
const commandFile = (id) => join(root, ...manifest.commands[id].relativePath)

// import.meta.url has no CommonJS equivalent: each compiled file gets its own original URL, built
// from the bundle's directory at run time, so paths computed from it stay what they were.
const importMetaUrl = (dir) => ({
  name: 'import-meta-url',
  setup(b) {
    const ours = new RegExp(`^${join(dist, 'src').replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}[/\\\\].*\\.js$`)
    b.onLoad({filter: ours}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('import.meta.url')) return undefined
      const rel = JSON.stringify(relative(dir, args.path).split('\\').join('/'))
      const url = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${rel})).href`
      return {contents: source.replaceAll('import.meta.url', url), loader: 'js'}
    })
  },
})

// The helpers of the rewrites below (after the build).
const BANNER = `var __monLong = globalThis[Symbol.for("mon.longRunning")];
var __mimp = (specifier) => globalThis[Symbol.for("mon.import")](specifier);
var __mpkg_ = (specifier) => globalThis[Symbol.for("mon.package")](specifier);
var __monLoads = new WeakMap();
function __monProxy(load, esm) {
  const own = (k) => esm && k === "default";
  return new Proxy({}, {
    get: (_, k) => own(k) ? load() : Reflect.get(load(), k),
    set: (_, k, v) => Reflect.set(load(), k, v),
    has: (_, k) => own(k) || k in load(),
    ownKeys: () => [...new Set([...Reflect.ownKeys(load()), ...(esm ? ["default"] : [])])],
    getOwnPropertyDescriptor: (_, k) => {
      const d = own(k) ? {value: load(), writable: false, enumerable: true} : Reflect.getOwnPropertyDescriptor(load(), k);
      if (d) d.configurable = true;
      return d;
    },
    defineProperty: (_, k, d) => Reflect.defineProperty(load(), k, d),
    deleteProperty: (_, k) => Reflect.deleteProperty(load(), k),
    getPrototypeOf: () => Reflect.getPrototypeOf(load()),
  });
}
var __monPlainCollation = /^(|C|POSIX|(C|en)([._@-].*)?)$/.test(process.env.LC_ALL || process.env.LC_COLLATE || process.env.LANG || "");
function __monCompareIds(a, b) {
  if (__monPlainCollation && /^[a-z:-]*$/.test(a) && /^[a-z:-]*$/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}
function __monLazy(load) {
  let m;
  return __monProxy(() => m ??= load(), false);
}
function __mlz__(id) {
  if (__monLong) return require(id);
  let m;
  const load = () => m ??= require(id);
  const proxy = __monProxy(load, false);
  __monLoads.set(proxy, load);
  return proxy;
}
function __mlzE_(mod, isNodeMode) {
  const load = __monLoads.get(mod);
  return load ? __monProxy(load, true) : __toESM(mod, isNodeMode);
}`

// oclif imports wsl-utils for its isWsl (every start) and powerShellPath (Windows only); the package
// itself loads child_process at once. The bundle gives oclif isWsl from is-wsl, as wsl-utils does,
// and the rest of wsl-utils when asked.
const wslUtils = {
  name: 'wsl-utils-is-wsl',
  setup(b) {
    b.onResolve({filter: /^wsl-utils$/}, async (args) => {
      if (args.namespace !== 'file' || !/[/\\]@oclif[/\\]core[/\\]/.test(args.importer)) return undefined
      const real = await b.resolve('wsl-utils', {kind: args.kind, resolveDir: args.resolveDir})
      return {path: real.path, namespace: 'oclif-wsl-utils'}
    })
    b.onLoad({filter: /.*/, namespace: 'oclif-wsl-utils'}, (args) => ({
      contents: "export {default as isWsl} from 'is-wsl'\nexport const powerShellPath = async () => (await import('wsl-utils')).powerShellPath()\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }))
  },
}

// oclif logs through `debug`, which costs a few ms to set up (tty checks, colors, env parsing) on
// every start and prints only when DEBUG is set: without DEBUG, oclif gets a no-op in its place.
const oclifDebug = {
  name: 'oclif-debug',
  setup(b) {
    b.onResolve({filter: /^debug$/}, (args) => {
      if (args.namespace !== 'file' || !/[/\\]@oclif[/\\]core[/\\]/.test(args.importer)) return undefined
      return {path: args.resolveDir, namespace: 'oclif-debug'}
    })
    b.onLoad({filter: /.*/, namespace: 'oclif-debug'}, (args) => ({
      contents: `function off(namespace) {
  const debug = () => {}
  debug.enabled = false
  debug.namespace = namespace
  debug.extend = (sub, delimiter = ':') => off(namespace + delimiter + sub)
  return debug
}
module.exports = process.env.DEBUG ? require('debug') : off
`,
      resolveDir: args.path,
      loader: 'js',
    }))
  },
}

/**
 * An esbuild onLoad answer: the file at `path` with each `[from, to]` of `edits` made — each `from`
 * must occur exactly once, so a package update that moves the code fails the build instead of
 * bundling it unpatched.
 */
function patched(path, edits) {
  let source = readFileSync(path, 'utf8')
  for (const [from, to] of edits) {
    if (source.split(from).length !== 2) throw new Error(`${path}: expected one ${from}`)
    source = source.replace(from, () => to)
  }
  return {contents: source, loader: 'js'}
}

// oclif sorts each plugin's command ids with localeCompare on every start, and the first
// localeCompare of a process sets up ICU's collator: ~6 ms. Under the C, POSIX and English locales
// (what the collator then follows: LC_ALL, LC_COLLATE, LANG) the order of ids made of lowercase
// letters, ':' and '-' is plain code-unit order; other ids and locales keep localeCompare.
const oclifSort = {
  name: 'oclif-id-sort',
  setup(b) {
    b.onLoad({filter: /[/\\]@oclif[/\\]core[/\\]lib[/\\]config[/\\]plugin\.js$/}, (args) => {
      return patched(args.path, [
        ['.sort((a, b) => a.id.localeCompare(b.id))', '.sort((a, b) => __monCompareIds(a.id, b.id))'],
        // and tinyglobby (with fdir and picomatch), which finds command files when a plugin has no
        // manifest, is loaded when it does that, not with oclif on every start
        ['const tinyglobby_1 = require("tinyglobby");', 'const tinyglobby_1 = {glob: (...a) => require("tinyglobby").glob(...a)};'],
      ])
    })
  },
}

// oclif's index loads all of oclif, and with it help (and with help its spinner, ejs and their
// dependencies) and minimatch, which a command run without --help never uses: those requires are
// made when what they give is first used. Each replacement gives the members its module uses.
const OCLIF_LAZY = {
  'lib/index.js': [['var help_1 = require("./help");', 'var help_1 = __monLazy(() => require("./help"));']],
  'lib/main.js': [
    [
      'const help_1 = require("./help");',
      'const help_1 = {getHelpFlagAdditions: (...a) => require("./help/util").getHelpFlagAdditions(...a), normalizeArgv: (...a) => require("./help/util").normalizeArgv(...a), loadHelpClass: (...a) => require("./help").loadHelpClass(...a)};',
    ],
  ],
  'lib/flags.js': [['const help_1 = require("./help");', 'const help_1 = {loadHelpClass: (...a) => require("./help").loadHelpClass(...a)};']],
  'lib/errors/handle.js': [['const index_1 = require("../help/index");', 'const index_1 = {get Help() { return require("../help/index").Help; }};']],
  'lib/help/util.js': [['const ejs_1 = __importDefault(require("ejs"));', 'const ejs_1 = {get default() { return __importDefault(require("ejs")).default; }};']],
  'lib/config/config.js': [['const ejs_1 = __importDefault(require("ejs"));', 'const ejs_1 = {get default() { return __importDefault(require("ejs")).default; }};']],
  'lib/ux/action/spinner.js': [['const cli_spinners_1 = __importDefault(require("cli-spinners"));', 'const cli_spinners_1 = {get default() { return __importDefault(require("cli-spinners")).default; }};']],
  'lib/config/plugin-loader.js': [['const minimatch_1 = require("minimatch");', 'const minimatch_1 = {minimatch: (...a) => require("minimatch").minimatch(...a)};']],
}
const oclifLazy = {
  name: 'oclif-lazy-requires',
  setup(b) {
    b.onLoad({filter: /[/\\]@oclif[/\\]core[/\\]lib[/\\].*\.js$/}, (args) => {
      const rel = args.path.split('\\').join('/').replace(/^.*\/@oclif\/core\//, '')
      const edits = OCLIF_LAZY[rel]
      return edits ? patched(args.path, edits) : undefined
    })
  },
}

// better-sqlite3's JavaScript is bundled (a dozen files fewer to resolve and compile at each start);
// its native addon is required from the package as before. The package finds the addon through
// `bindings`, which would look next to the bundle: it gets the package's own directory instead.
const sqliteBindings = {
  name: 'better-sqlite3-bindings',
  setup(b) {
    b.onResolve({filter: /^bindings$/}, (args) => {
      if (args.namespace !== 'file' || !/[/\\]better-sqlite3[/\\]lib[/\\]/.test(args.importer)) return undefined
      return {path: args.resolveDir, namespace: 'better-sqlite3-bindings'}
    })
    b.onLoad({filter: /.*/, namespace: 'better-sqlite3-bindings'}, (args) => ({
      contents: `const {dirname, join} = require('node:path')
module.exports = function bindings(name) {
  const root = dirname(require.resolve('better-sqlite3/package.json'))
  try {
    return require(join(root, 'build', 'Release', name))
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error
  }

  return require('bindings')({bindings: name, module_root: root}) // its other build layouts
}
`,
      resolveDir: args.path,
      loader: 'js',
    }))
  },
}

// oclif reads its manifest (and stats files) through fs/promises, and node's fs/promises loads a
// dozen modules of its own (readline's Interface for FileHandle.readLines, streams, …): oclif's
// util/fs.js gets the same calls from node:fs, which every start has loaded already — the manifest
// read at once (a local file, read as the command starts: nothing else would run meanwhile).
// (fs/promises itself is among the built-ins loaded on first use, below.) A run of one bundled
// command has oclif read a manifest of that command only (bin/load.cjs), which the build writes:
// dist/bundle/manifest/<id>.json, ~3 KB instead of every command's ~130 KB to read and parse.
const oclifFs = {
  name: 'oclif-fs-callbacks',
  setup(b) {
    b.onLoad({filter: /[/\\]@oclif[/\\]core[/\\]lib[/\\]util[/\\]fs\.js$/}, (args) => {
      const to = `const promises_1 = {
    stat: (p) => new Promise((resolve, reject) => node_fs_1.stat(p, (e, s) => (e ? reject(e) : resolve(s)))),
    readFile: async (p, o) => {
        const own = globalThis[Symbol.for("mon.manifest")];
        return node_fs_1.readFileSync(own && p === own.path ? own.file : p, o);
    },
};`
      return patched(args.path, [['const promises_1 = require("node:fs/promises");', to]])
    })
  },
}

// lilconfig (oclif's read-pjson imports it) takes fs.promises.readFile when loaded, which loads node's
// fs/promises: it gets a function that takes it when called (oclif calls it only without a pjson).
const lilconfigFs = {
  name: 'lilconfig-lazy-fs-promises',
  setup(b) {
    b.onLoad({filter: /[/\\]lilconfig[/\\]src[/\\]index\.js$/}, (args) => {
      return patched(args.path, [['const fsReadFileAsync = fs.promises.readFile;', 'const fsReadFileAsync = (...a) => fs.promises.readFile(...a);']])
    })
  },
}

/**
 * What every bundle the build writes (the main one, the commands' own, the packages' files) is
 * built with: CommonJS for node 20, no comments and no indentation — a smaller file to read and hash
 * at each start; names are kept (oclif and our error rendering look at class names), and the linked
 * .map maps stack traces back to dist/src with node --enable-source-maps.
 */
const COMMON_OPTIONS = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  banner: {js: BANNER},
  legalComments: 'none',
  minifyWhitespace: true,
  sourcemap: 'linked',
  charset: 'ascii',
  logLevel: 'warning',
}

/** The commands `ids` (with oclif) into `file`. */
async function bundle(ids, file = outfile) {
  const lines = [
    "import oclif from '@oclif/core'", // the module's own exports object (it is CommonJS)
    // zod compiles each object schema's parser with new Function on its first use: ~10 ms of a
    // short command's start for one config parse (long-running commands, which would keep it, do
    // not run the bundle). zod keeps its settings in globalThis.__zod_globalConfig, created if absent
    // (zod/v4/core/core.js): set there, the setting needs no import of zod, which a command run
    // without a config file may never load.
    "if (!globalThis[Symbol.for('mon.longRunning')]) globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig ?? {}, {jitless: true})",
    'export {oclif}',
    'export const commands = {',
    ...ids.map((id) => `  ${JSON.stringify(id)}: () => import(${JSON.stringify(pathToFileURL(commandFile(id)).pathname)}),`),
    '}',
  ]
  return build({
    stdin: {contents: lines.join('\n'), resolveDir: outdir, sourcefile: 'mon-entry.mjs', loader: 'js'},
    ...COMMON_OPTIONS,
    outfile: file,
    external: [...external, ...PACKAGES.flatMap((p) => [p, `${p}/*`])],
    plugins: [importMetaUrl(dirname(file)), wslUtils, oclifDebug, oclifSort, oclifFs, oclifLazy, lilconfigFs, sqliteBindings],
    metafile: true,
  })
}

/** Command ids whose static import graph reaches an ESM-only external. */
function reachesEsmOnly(metafile, ids) {
  const inputs = metafile.inputs
  const bad = new Map() // input path → boolean
  const visit = (path, seen) => {
    if (bad.has(path)) return bad.get(path)
    if (seen.has(path)) return false
    seen.add(path)
    let result = false
    for (const imp of inputs[path]?.imports ?? []) {
      if (imp.kind === 'dynamic-import') continue
      if (imp.external) {
        const pkg = imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0]
        if (esmOnly.has(pkg)) result = true
      } else if (visit(imp.path, seen)) result = true
    }

    bad.set(path, result)
    return result
  }

  return ids.filter((id) => visit(relative(root, commandFile(id)).split('\\').join('/'), new Set()))
}

rmSync(outdir, {recursive: true, force: true}) // with the code caches of the old bundle
mkdirSync(outdir, {recursive: true})
writeFileSync(join(outdir, 'package.json'), '{"type": "commonjs"}\n')
// sorted: the manifest lists the commands in the order oclif happened to load them, which varied
// from build to build (and with it the bundle's bytes, its hash and every code cache)
let ids = Object.keys(manifest.commands).filter((id) => manifest.commands[id].relativePath).sort()
const first = await bundle(ids)
const left = reachesEsmOnly(first.metafile, ids)
let last = first
if (left.length > 0) {
  ids = ids.filter((id) => !left.includes(id))
  last = await bundle(ids)
}

/** Each package of PACKAGES the bundles import → the specifiers they import (`zod`, `zod/v4/core`). */
function packageImports(metafiles) {
  const specs = new Map()
  for (const input of metafiles.flatMap((m) => Object.values(m.inputs))) {
    for (const imp of input.imports ?? []) {
      if (!imp.external || !PACKAGES.includes(packageOf(imp.path))) continue
      if (!['require-call', 'import-statement', 'dynamic-import'].includes(imp.kind)) throw new Error(`${imp.path} is imported by ${imp.kind}: bin/load.cjs serves require() and import() only`)
      const name = packageOf(imp.path)
      specs.set(name, new Set([...(specs.get(name) ?? []), imp.path]))
    }
  }
  return specs
}

/**
 * One package of PACKAGES into dist/bundle/pkg/<file>.js: its exports are an object of what
 * require() gives for each specifier the main bundle uses, all from one copy of the package. The
 * other packages it imports are left to bin/load.cjs as well, so each exists once.
 */
async function bundlePackage(name, specs) {
  const file = join(pkgdir, `${name.replace('/', '+')}.js`)
  const lines = ['module.exports = {', ...[...specs].sort().map((spec) => `  ${JSON.stringify(spec)}: require(${JSON.stringify(spec)}),`), '}']
  await build({
    stdin: {contents: lines.join('\n'), resolveDir: root, sourcefile: `${name}-entry.cjs`, loader: 'js'},
    ...COMMON_OPTIONS,
    outfile: file,
    external: [...external, ...PACKAGES.filter((p) => p !== name).flatMap((p) => [p, `${p}/*`])],
  })
  return file
}

// Rewrites of esbuild's output, each the same length as what it replaces so dist/bundle/mon.js.map stays
// exact (the helpers they call are the banner, which esbuild accounts for):
// - A vm.Script cannot import() without an experimental node flag: the bundle's remaining import()
//   calls (oclif loading plugins' and unbundled commands' files) go to bin/load.cjs's import().
// - Node's heavier built-ins load on first use, not when a module importing them is evaluated: the
//   config schema imports every input and channel, so `mon query` used to load http, https, tls,
//   crypto, dgram, net, child_process and readline without calling any of them. A stand-in forwards
//   everything to the module, loaded on the first property access; a default import (esbuild's
//   __toESM, which copies every export at once) gets one that answers `default` with the module.
//   (Long-running commands do not run the bundle, bin/run.js; were they to, they would get the
//   modules themselves: no indirection on hot paths.)
// - A require() of one of PACKAGES goes to bin/load.cjs, which loads the package's own file (as does
//   an import() of one, through bin/load.cjs's import()).
// - The file is written wrapped as node wraps a CommonJS module — a function of (exports, require,
//   module, __filename, __dirname), the head on a line of its own (the source map gets an empty line
//   first) — so bin/load.cjs compiles it as read. Wrapped at run time (Module.wrap), the source was a
//   string of three pieces that V8 copied into one (0.9 MB for `mon query`, ~250 page faults).
/** Rewrites `file` (see above) and writes it as latin1; its hash. */
function rewrite(file) {
  let text = readFileSync(file, 'utf8')
  for (const name of ['__mimp', '__mlz__', '__mlzE_', '__mpkg_']) if (text.split(name).length > 2) throw new Error(`${file} already uses ${name}`)
  text = text.replaceAll('await import(', 'await __mimp(')
  const stray = [...text.matchAll(/(?<![\w$.`'"])import\(\s*[^)\s]/g)]
  if (stray.length > 0) {
    const line = text.slice(0, stray[0].index).split('\n').length
    throw new Error(`${file}:${line}: an import() not preceded by await; bin/load.cjs cannot serve it`)
  }

  const LAZY = ['http', 'https', 'tls', 'net', 'crypto', 'zlib', 'dgram', 'child_process', 'readline', 'readline/promises', 'dns', 'worker_threads', 'perf_hooks', 'fs/promises', 'v8']
  const lazyRe = new RegExp(`(?<![\\w$.])require\\("((?:node:)?(?:${LAZY.join('|').replaceAll('/', '\\/')}))"\\)`, 'g')
  text = text.replace(lazyRe, (_, id) => `__mlz__("${id}")`).replaceAll('__toESM(__mlz__(', '__mlzE_(__mlz__(')
  text = text.replace(pkgRe, (_, spec) => `__mpkg_(${spec})`)

  // Characters above U+00FF are escaped (esbuild leaves some in regular expressions, where \u means
  // the same); the file is written as latin1, so bin/load.cjs reads it as latin1: a copy, not a decode
  text = text.replace(/[^\x00-\xff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
  text = `(function (exports, require, module, __filename, __dirname) {\n${text}\n});\n`
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8'))
  writeFileSync(`${file}.map`, JSON.stringify({...map, mappings: `;${map.mappings}`}))
  writeFileSync(file, text, 'latin1')
  return {hash: createHash('sha256').update(text, 'latin1').digest('hex').slice(0, 16), bytes: text.length}
}

const pkgRe = new RegExp(`(?<![\\w$.])require\\(("(?:${PACKAGES.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(?:\\/[^"]*)?")\\)`, 'g')
const main = rewrite(outfile)
// the commands with a bundle of their own (OWN): each built as the main one, with that command only
const own = {}
const metafiles = [last.metafile]
for (const id of OWN.filter((id) => ids.includes(id))) {
  const file = join(owndir, `${id.replaceAll(':', '.')}.js`)
  metafiles.push((await bundle([id], file)).metafile)
  own[id] = {file: relative(outdir, file).split('\\').join('/'), ...rewrite(file)}
}

const packages = {}
mkdirSync(pkgdir, {recursive: true})
for (const [name, specs] of packageImports(metafiles)) {
  const file = await bundlePackage(name, specs)
  packages[name] = {file: relative(outdir, file).split('\\').join('/'), ...rewrite(file)}
}
mkdirSync(join(outdir, 'manifest'))
for (const id of ids) writeFileSync(join(outdir, 'manifest', `${id.replaceAll(':', '.')}.json`), JSON.stringify({...manifest, commands: {[id]: manifest.commands[id]}}))
writeFileSync(infoFile, JSON.stringify({hash: main.hash, commands: ids, unbundled: left, own, packages}, null, 2) + '\n')
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`
const owned = Object.entries(own).map(([id, o]) => `${id} ${mb(o.bytes)}`)
console.log(`bundled ${ids.length} commands into dist/bundle/mon.js (${mb(main.bytes)}), ${owned.length ? `${owned.join(', ')} into dist/bundle/cmd/, ` : ''}and ${Object.keys(packages).length} packages into dist/bundle/pkg/ (${mb(Object.values(packages).reduce((n, p) => n + p.bytes, 0))})${left.length ? `; left to oclif: ${left.join(', ')}` : ''}`)
