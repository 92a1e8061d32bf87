import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {it} from 'node:test'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'

// The architecture's import rules, checked on the sources (not dist/) so a cycle fails here before it
// is ever built into something that half-works at load time. Every kind of import counts: static
// imports, `export … from`, dynamic `import('…')`, and `import type` too — a cycle held together only
// by types is still two modules that cannot be understood (or moved) one without the other.

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json with a src/ folder above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
  return dir
}

const root = repoRoot()
const srcDir = join(root, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Every module specifier a file names, as TypeScript's own pre-processor sees it (comments and strings excluded). */
function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((imported) => imported.fileName)
}

/** A relative specifier resolved to the .ts/.tsx source it names (NodeNext: `./x.js` is `./x.ts`). */
function resolveLocal(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier)
  const stem = base.replace(/\.(js|jsx|mjs|cjs)$/, '')
  return [`${stem}.ts`, `${stem}.tsx`, join(base, 'index.ts')].find((candidate) => existsSync(candidate))
}

type Graph = Map<string, {local: string[]; packages: string[]}>

function importGraph(): Graph {
  const graph: Graph = new Map()
  for (const file of sourceFiles(srcDir)) {
    const local: string[] = []
    const packages: string[] = []
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith('.')) {
        const target = resolveLocal(file, specifier)
        assert.ok(target, `${relative(root, file)} imports '${specifier}', which names no source file`)
        local.push(target)
      } else packages.push(specifier)
    }
    graph.set(file, {local, packages})
  }
  return graph
}

/** Tarjan's strongly connected components; every component of more than one file (or a file importing itself) is a cycle. */
function cycles(graph: Graph): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const lowLink = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (file: string): void => {
    index.set(file, counter)
    lowLink.set(file, counter)
    counter++
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file)?.local ?? []) {
      if (!index.has(next)) {
        visit(next)
        lowLink.set(file, Math.min(lowLink.get(file)!, lowLink.get(next)!))
      } else if (onStack.has(next)) lowLink.set(file, Math.min(lowLink.get(file)!, index.get(next)!))
    }
    if (lowLink.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || graph.get(file)?.local.includes(file)) found.push(component.sort())
  }
  for (const file of graph.keys()) if (!index.has(file)) visit(file)
  return found
}

/** One path through a cycle's files, so the message shows which imports to cut, not only who is involved. */
function describeCycle(graph: Graph, component: string[]): string {
  const members = new Set(component)
  const start = component[0]
  const path = [start]
  const seen = new Set([start])
  let current = start
  for (;;) {
    const next = graph.get(current)!.local.find((target) => members.has(target) && (target === start || !seen.has(target)))
    if (!next || next === start) break
    path.push(next)
    seen.add(next)
    current = next
  }
  const rel = (file: string) => relative(srcDir, file).split(sep).join('/')
  const rest = component.filter((file) => !seen.has(file))
  return `${[...path, start].map(rel).join(' → ')}${rest.length > 0 ? ` (also in the cycle: ${rest.map(rel).join(', ')})` : ''}`
}

const graph = importGraph()
const under = (folder: string) => (file: string) => relative(srcDir, file).split(sep).join('/').startsWith(`${folder}/`)

it('the checker sees every kind of import (it is only as good as its parser)', () => {
  assert.deepEqual(
    ts.preProcessFile(
      "import type {A} from './a.js'\nimport {\n  b,\n} from './b.js'\nexport * from './c.js'\nexport type {D} from './d.js'\nconst e = await import('./e.js')\n// import './not-this.js'\nconst s = \"import('./nor-this.js')\"",
      true,
      true,
    ).importedFiles.map((imported) => imported.fileName),
    ['./a.js', './b.js', './c.js', './d.js', './e.js'],
  )
  assert.deepEqual(
    cycles(new Map([
      ['a', {local: ['b'], packages: []}],
      ['b', {local: ['c'], packages: []}],
      ['c', {local: ['a'], packages: []}],
      ['d', {local: ['a'], packages: []}],
    ])),
    [['a', 'b', 'c']],
  )
})

it('no import cycles under src/', () => {
  assert.ok(graph.size > 100, `expected the whole source tree, found ${graph.size} files under ${srcDir}`)
  const found = cycles(graph).map((component) => describeCycle(graph, component))
  assert.deepEqual(found, [], `import cycles under src/:\n  ${found.join('\n  ')}`)
})

it('core never imports commands, cli, tui, oclif, chalk or ink', () => {
  const edgeFolders = ['commands', 'cli', 'tui'].map((folder) => join(srcDir, folder) + sep)
  const edgePackages = /^(@oclif\/|oclif$|chalk$|ink$|ink-)/
  const violations: string[] = []
  for (const [file, {local, packages}] of graph) {
    if (!under('core')(file)) continue
    for (const target of local) if (edgeFolders.some((folder) => target.startsWith(folder))) violations.push(`${relative(srcDir, file)} → ${relative(srcDir, target)}`)
    for (const name of packages) if (edgePackages.test(name)) violations.push(`${relative(srcDir, file)} → ${name}`)
  }
  assert.deepEqual(violations, [])
})

it('the store executes plans, it does not parse: core/store never imports core/query', () => {
  const violations: string[] = []
  for (const [file, {local}] of graph) {
    if (!under('core/store')(file)) continue
    for (const target of local) if (under('core/query')(target)) violations.push(`${relative(srcDir, file)} → ${relative(srcDir, target)}`)
  }
  assert.deepEqual(violations, [])
})

it('config/common.ts (the shared field helpers) stays a leaf: it reaches no schema, channel or higher layer', () => {
  // What it may reach, directly or through these: wording and parsing helpers that import nothing of the app's config.
  const allowed = ['core/config/common.ts', 'core/config/duration.ts', 'core/config/problems.ts', 'core/config/redact.ts', 'core/did-you-mean.ts', 'core/errors.ts', 'core/re2.ts', 'core/scheduler/cron.ts']
  const reached = new Set<string>()
  const visit = (file: string): void => {
    const rel = relative(srcDir, file).split(sep).join('/')
    if (reached.has(rel)) return
    reached.add(rel)
    for (const next of graph.get(file)?.local ?? []) visit(next)
  }
  visit(join(srcDir, 'core', 'config', 'common.ts'))
  assert.deepEqual([...reached].filter((rel) => !allowed.includes(rel)).sort(), [])
})

it('notify/ folders import one way: deliver → route → mute, and channels → deliver, never back', () => {
  // A folder may import only the folders after it here (and the top of notify/: index, config, notifier, types).
  const order = ['core/notify/channels', 'core/notify/deliver', 'core/notify/route', 'core/notify/mute']
  const rank = (file: string) => order.findIndex((folder) => under(folder)(file))
  const violations: string[] = []
  for (const [file, {local}] of graph) {
    const from = rank(file)
    if (from < 0) continue
    for (const target of local) {
      const to = rank(target)
      if (to >= 0 && to < from) violations.push(`${relative(srcDir, file)} → ${relative(srcDir, target)}`)
    }
  }
  assert.ok([...graph.keys()].some(under('core/notify/mute')), 'expected files under core/notify/mute')
  assert.deepEqual(violations, [])
})
