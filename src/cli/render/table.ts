import {color} from './color.js'

export interface TableOptions {
  /** colour a cell: (row index, column index, text) → styled text */
  style?: (row: number, col: number, text: string) => string
  /** right-align these columns (numbers) */
  alignRight?: number[]
  stream?: NodeJS.WriteStream
}

/** A plain aligned table (header underlined on a TTY), the way kubectl and docker print them. */
export function renderTable(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const c = color(opts.stream)
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))))
  const right = new Set(opts.alignRight ?? [])
  const pad = (text: string, i: number): string => {
    const gap = ' '.repeat(Math.max(0, widths[i] - displayWidth(text)))
    return right.has(i) ? gap + text : text + gap
  }

  const lines = [c.bold(headers.map((h, i) => pad(h, i)).join('  ').trimEnd())]
  rows.forEach((r, ri) => {
    lines.push(
      r
        .map((cell, ci) => {
          const padded = pad(cell ?? '', ci)
          return opts.style ? padded.replace(cell ?? '', opts.style(ri, ci, cell ?? '')) : padded
        })
        .join('  ')
        .trimEnd(),
    )
  })
  return lines.join('\n')
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g
export function displayWidth(s: string): number {
  return [...s.replace(ANSI, '')].length
}

export function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v)
  if (Number.isInteger(v)) return String(v)
  const abs = Math.abs(v)
  if (abs >= 1e15 || abs < 1e-4) return v.toExponential(4)
  return String(Number(v.toPrecision(10)))
}
