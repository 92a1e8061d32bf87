/**
 * inputs.tail (issue #22): lines/s through the tail collector with one named-capture regex (RE2)
 * over an access log — read, split, match, tags/fields, one point per line — beside `grep -cE`
 * with the same regex (without the capture names) over the same file, in the same run. The
 * collector runs in-process (no spool, no store): the figure is the input's own cost.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {systemClock} from '../src/core/clock.js'
import {createTailCollector, type TailInputConfig} from '../src/core/collectors/tail.js'
import {silentLogger} from '../src/core/log.js'
import {repeat, type Bench} from './lib.js'

const LINES = Number(process.env.MON_BENCH_TAIL_LINES ?? 500_000)
const PATTERN = '^(?P<client>\\S+) \\S+ \\S+ \\[[^\\]]+\\] "(?P<method>[A-Z]+) (?P<path>\\S+) [^"]*" (?P<status>\\d{3}) (?P<bytes>\\d+)'
const GREP = '^[^ ]+ [^ ]+ [^ ]+ \\[[^]]+\\] "[A-Z]+ [^ ]+ [^"]*" [0-9]{3} [0-9]+'

function accessLog(n: number): string {
  const methods = ['GET', 'GET', 'GET', 'POST', 'PUT']
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    const status = i % 50 === 0 ? 502 : i % 7 === 0 ? 404 : 200
    parts.push(`10.0.${(i >> 8) & 255}.${i & 255} - - [14/Nov/2023:22:13:${String(i % 60).padStart(2, '0')} +0000] "${methods[i % 5]} /api/items/${i % 1000}?page=${i % 7} HTTP/1.1" ${status} ${(i * 37) % 20000} "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64) bench/${i % 3}"\n`)
  }
  return parts.join('')
}

const bench: Bench = {
  name: 'tail',
  issue: '#22',
  async run(ctx) {
    const file = join(ctx.tmp, 'access.log')
    ctx.progress(`writing ${LINES} lines`)
    writeFileSync(file, accessLog(LINES))
    let run = 0
    const tail = await repeat(
      ctx.reps,
      async () => {
        const stateDir = join(ctx.tmp, `state-${run++}`)
        mkdirSync(stateDir, {recursive: true})
        const cfg = {files: [file], from_beginning: true, pattern: PATTERN, measurement: 'nginx', tags: ['method', 'status'], fields: {bytes: 'int'}, max_read: 1 << 30, interval: '1s', jitter: '0s'} as unknown as TailInputConfig
        const c = createTailCollector(cfg, {host: 'bench', globalTags: {}, stateDir, clock: systemClock, log: silentLogger}, 'tail:bench')
        ctx.progress(`tail run ${run}`)
        const t0 = performance.now()
        const points = await c.collect(new AbortController().signal)
        const s = (performance.now() - t0) / 1000
        if (points.length !== LINES + 1) throw new Error(`expected ${LINES} points (+ counters), got ${points.length}`)
        c.spooled(true)
        return LINES / s
      },
      1,
    )
    const grep = await repeat(ctx.reps, () => {
      ctx.progress('grep -cE')
      const t0 = performance.now()
      const out = execFileSync('grep', ['-cE', GREP, file], {encoding: 'utf8'})
      const s = (performance.now() - t0) / 1000
      if (Number(out.trim()) !== LINES) throw new Error(`grep counted ${out.trim()} of ${LINES}`)
      return LINES / s
    })
    return [
      {
        name: `tail: ${LINES.toLocaleString('en')} access-log lines, one named-capture regex (RE2) → points`,
        unit: 'lines/s',
        higherIsBetter: true,
        value: tail,
        baseline: {name: '`grep -cE` with the same regex on the same file', value: grep},
        notes: 'In-process collect() of a file read from its beginning (page cache warm): read, split, RE2 match with 5 captures, tags, an int field, one point per line. grep only counts matching lines.',
      },
    ]
  },
}

export default bench
