/**
 * `npm run bench`: runs every bench/*.bench.js (compiled) and rewrites BENCHMARKS.md with the date,
 * machine facts and each figure beside its baseline from the same run. MON_BENCH_ONLY=name,name runs
 * a subset (BENCHMARKS.md is then only updated for those sections); MON_BENCH_REPS sets repetitions.
 */
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {machineFacts, ratio, type Bench, type BenchResult, type Stats} from './lib.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const only = process.env.MON_BENCH_ONLY?.split(',').filter(Boolean)
const reps = Number(process.env.MON_BENCH_REPS ?? 5)
const tty = Boolean(process.stderr.isTTY)
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
let frame = 0

function progress(name: string): (message: string) => void {
  return (message) => {
    if (tty) process.stderr.write(`\r\u001B[K${frames[frame++ % frames.length]} ${name}: ${message}`)
    else process.stderr.write(`${name}: ${message}\n`)
  }
}

const files = readdirSync(here).filter((f) => f.endsWith('.bench.js')).sort()
const sections = new Map<string, string>()
const started = Date.now()
for (const file of files) {
  const bench = (await import(pathToFileURL(join(here, file)).href)).default as Bench
  if (only && !only.includes(bench.name)) continue
  const tmp = mkdtempSync(join(tmpdir(), `mon-bench-${bench.name}-`))
  const t0 = Date.now()
  let results: BenchResult[]
  try {
    results = await bench.run({reps, progress: progress(bench.name), tmp})
  } catch (error) {
    results = []
    sections.set(bench.name, `## ${bench.name}${bench.issue ? ` (${bench.issue})` : ''}\n\n**Failed to run:** ${(error as Error).message}\n`)
    process.stderr.write(`\n${bench.name} failed: ${(error as Error).stack}\n`)
    continue
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }

  if (tty) process.stderr.write('\r\u001B[K')
  process.stderr.write(`${bench.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  sections.set(bench.name, renderSection(bench, results))
}

const facts = machineFacts()
const header = [
  '# Benchmarks',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench\` on ${facts.cpu}, ${facts.cores} cores, Node ${facts.node} (${facts.platform}).`,
  `Each figure is the median of ${reps} repetitions with the range [min – max]; each baseline was measured in the same run on the same machine.`,
  'Goals come from the issues that set them; a missed goal says what limits it.',
  '',
].join('\n')
const path = join(root, 'BENCHMARKS.md')
const previous = only ? readSections(path) : new Map<string, string>()
for (const [k, v] of sections) previous.set(k, v)
writeFileSync(path, `${header}\n${[...previous.values()].map((v) => v.trim()).join('\n\n')}\n`)
process.stderr.write(`wrote ${path} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)

function readSections(file: string): Map<string, string> {
  const out = new Map<string, string>()
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return out
  }

  for (const part of text.split(/^(?=## )/m).slice(1)) out.set(/^## (\S+)/.exec(part)![1], part)
  return out
}

function fmt(v: number, unit: string): string {
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3
  return `${v.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: 0})} ${unit}`
}

function cell(s: Stats, unit: string): string {
  return `${fmt(s.median, unit)} [${fmt(s.min, '').trim()} – ${fmt(s.max, '').trim()}]`
}

function renderSection(bench: Bench, results: BenchResult[]): string {
  const lines = [`## ${bench.name}${bench.issue ? ` (${bench.issue})` : ''}`, '', '| measurement | mon | baseline | ratio | goal | met |', '| --- | --- | --- | --- | --- | --- |']
  for (const r of results) {
    const q = ratio(r)
    lines.push(
      `| ${r.name} | ${cell(r.value, r.unit)} | ${r.baseline ? `${r.baseline.name}: ${cell(r.baseline.value, r.unit)}` : '—'} | ${q === undefined ? '—' : `${q < 1 ? q.toFixed(3) : q.toFixed(2)}×`} | ${r.goal ?? '—'} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`,
    )
  }

  const notes = results.filter((r) => r.notes).map((r) => `- **${r.name}:** ${r.notes}`)
  return [...lines, '', ...(notes.length > 0 ? [...notes, ''] : [])].join('\n')
}
