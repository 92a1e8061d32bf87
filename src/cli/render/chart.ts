import {color} from './color.js'

export interface ChartSeries {
  label: string
  points: Array<[number, number]>
}

const PALETTE = ['cyan', 'green', 'yellow', 'magenta', 'blue', 'red', 'white'] as const
/** Without colour, several series are told apart by a marker each (the same in the legend). */
const MARKERS = ['*', '+', 'o', 'x', '#', '@', '%', '='] as const

/**
 * A terminal line chart (asciichart's box-drawing style): series resampled to the width by time,
 * a y axis with labels, a time axis, and a legend. Colours follow color() (NO_COLOR, non-TTY); without
 * them, two or more series are drawn as points with one marker each (`*`, `+`, `o` …) instead of
 * lines that would all look alike.
 */
/** An event drawn on the chart: ▲ on the time axis, ┊ up the plot where it is empty, a legend line. */
export interface ChartMarker {
  ts: number
  title: string
}

const MARKER = '▲'
/** legend lines at most; the rest is counted */
const MAX_MARKER_LINES = 10

export function renderChart(series: ChartSeries[], opts: {width?: number; height?: number; title?: string; markers?: ChartMarker[]} = {}): string {
  const c = color()
  const all = series.flatMap((s) => s.points)
  if (all.length === 0) return '(no data)'
  const height = Math.max(4, opts.height ?? 12)
  let tMin = Number.POSITIVE_INFINITY
  let tMax = Number.NEGATIVE_INFINITY
  let vMin = Number.POSITIVE_INFINITY
  let vMax = Number.NEGATIVE_INFINITY
  for (const [t, v] of all) {
    if (t < tMin) tMin = t
    if (t > tMax) tMax = t
    if (v < vMin) vMin = v
    if (v > vMax) vMax = v
  }

  if (vMin === vMax) {
    vMin -= 1
    vMax += 1
  }

  const labelW = Math.max(fmt(vMin).length, fmt(vMax).length)
  const width = Math.max(10, (opts.width ?? Math.min(process.stdout.columns || 100, 160)) - labelW - 3)
  const grid: string[][] = Array.from({length: height}, () => Array.from({length: width}, () => ' '))
  const row = (v: number) => Math.round(((vMax - v) / (vMax - vMin)) * (height - 1))
  const useMarkers = c.level === 0 && series.length > 1
  series.forEach((s, si) => {
    const paint = (text: string) => c[PALETTE[si % PALETTE.length]](text)
    const cols = resample(s.points, tMin, tMax, width)
    let prev: number | undefined
    for (let x = 0; x < width; x++) {
      const v = cols[x]
      if (v === undefined) {
        prev = undefined
        continue
      }

      if (useMarkers) {
        grid[row(v)][x] = MARKERS[si % MARKERS.length]
        continue
      }

      const y = row(v)
      if (prev === undefined || prev === y) grid[y][x] = paint('─')
      else {
        const [top, bottom] = prev < y ? [prev, y] : [y, prev]
        grid[prev][x] = paint(prev < y ? '╮' : '╯')
        grid[y][x] = paint(prev < y ? '╰' : '╭')
        for (let yy = top + 1; yy < bottom; yy++) grid[yy][x] = paint('│')
      }

      prev = y
    }
  })

  const left = new Date(tMin).toISOString().replace('.000Z', 'Z')
  const rightLabel = new Date(tMax).toISOString().replace('.000Z', 'Z')
  const markers = (opts.markers ?? []).filter((m) => m.ts >= tMin && m.ts <= tMax).sort((a, b) => a.ts - b.ts)
  const axis = Array.from({length: width}, () => '─')
  const span = tMax - tMin || 1
  for (const m of markers) {
    const x = Math.min(width - 1, Math.floor(((m.ts - tMin) / span) * (width - 1) + 0.5))
    axis[x] = c.yellow(MARKER)
    // a dotted line up the plot where nothing is drawn: the time the event happened
    for (let y = 0; y < height; y++) if (grid[y][x] === ' ') grid[y][x] = c.dim('┊')
  }

  const lines: string[] = []
  if (opts.title) lines.push(c.bold(opts.title))
  for (let y = 0; y < height; y++) {
    const v = vMax - (y / (height - 1)) * (vMax - vMin)
    const label = y === 0 || y === height - 1 || y % 3 === 0 ? fmt(v) : ''
    lines.push(`${label.padStart(labelW)} ┤${grid[y].join('')}`)
  }

  lines.push(`${' '.repeat(labelW)} └${axis.join('')}`)
  lines.push(`${' '.repeat(labelW + 2)}${left}${rightLabel.padStart(Math.max(0, width - left.length))}`)
  lines.push(series.map((s, i) => (useMarkers ? `${MARKERS[i % MARKERS.length]} ${s.label}` : c[PALETTE[i % PALETTE.length]](`── ${s.label}`))).join('   '))
  const oneDay = tMax - tMin > 86_400_000
  for (const m of markers.slice(0, MAX_MARKER_LINES)) lines.push(`${c.yellow(MARKER)} ${markerTime(m.ts, oneDay)} ${m.title}`)
  if (markers.length > MAX_MARKER_LINES) lines.push(`${c.yellow(MARKER)} … and ${markers.length - MAX_MARKER_LINES} more events (mon events)`)
  return lines.join('\n')
}

/** HH:MM (UTC, as the time axis), with the date when the chart spans more than a day. */
function markerTime(ts: number, withDate: boolean): string {
  const iso = new Date(ts).toISOString()
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16)
}

function resample(points: Array<[number, number]>, tMin: number, tMax: number, width: number): Array<number | undefined> {
  const sums = new Float64Array(width)
  const counts = new Uint32Array(width)
  const span = tMax - tMin || 1
  for (const [t, v] of points) {
    const x = Math.min(width - 1, Math.floor(((t - tMin) / span) * (width - 1) + 0.5))
    sums[x] += v
    counts[x]++
  }

  // carry the line across columns with no point of their own (sparser series than columns)
  const out: Array<number | undefined> = []
  let last: number | undefined
  let seen = 0
  for (let x = 0; x < width; x++) {
    if (counts[x] > 0) {
      last = sums[x] / counts[x]
      seen++
      out.push(last)
    } else out.push(seen > 0 && seen < points.length ? last : undefined)
  }

  return out
}

function fmt(v: number): string {
  const abs = Math.abs(v)
  if (abs >= 1e9) return (v / 1e9).toFixed(1) + 'G'
  if (abs >= 1e6) return (v / 1e6).toFixed(1) + 'M'
  if (abs >= 1e4) return (v / 1e3).toFixed(1) + 'k'
  if (abs >= 100) return v.toFixed(0)
  if (abs >= 1) return v.toFixed(2)
  return v.toPrecision(3)
}
