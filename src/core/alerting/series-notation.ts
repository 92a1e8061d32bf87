/**
 * promtool's expanding notation for test input values, so rule tests read the same:
 *
 *   `0+10x5`   0 10 20 30 40 50          (a+bxn: n+1 values from a, step b)
 *   `100-1x3`  100 99 98 97
 *   `7x2`      7 7 7                      (axn = a+0xn)
 *   `_`        no value at this step;  `_x3` three steps without a value
 *   `stale`    the series ends here (no value; see docs/alerting.md for how this differs from Prometheus)
 *
 * Values are separated by spaces; step i is at `i × interval` from time zero.
 */
export type SeriesValue = number | null | 'stale'

/** A problem in a values string, at a 0-based offset. */
export class SeriesNotationError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(reason)
    this.name = 'SeriesNotationError'
  }
}

const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`
const EXPANDING = new RegExp(String.raw`^(${NUM})(?:([-+])(\d+(?:\.\d*)?|\.\d+)(?:[eE]([-+]?\d+))?)?x(\d+)$`)
const NUMBER = new RegExp(`^${NUM}$`)
const MAX_VALUES = 1_000_000

export function expandSeriesValues(text: string): SeriesValue[] {
  const out: SeriesValue[] = []
  for (const m of text.matchAll(/\S+/g)) {
    const tok = m[0]
    const at = m.index
    if (tok === '_') out.push(null)
    else if (tok === 'stale') out.push('stale')
    else if (/^_x\d+$/.test(tok)) push(out, Array<SeriesValue>(Number(tok.slice(2))).fill(null), at)
    else if (NUMBER.test(tok)) out.push(Number(tok))
    else {
      const e = EXPANDING.exec(tok)
      if (!e) {
        const hint = /^(?:inf|\+inf|-inf|nan)$/i.test(tok) ? 'NaN and infinities cannot be stored; use a large number' : "write numbers, a+bxn, a-bxn, axn, _ , _xn or stale, e.g. '0+10x5 _ 100'"
        throw new SeriesNotationError(at, `invalid value '${tok}'`, hint)
      }

      const start = Number(e[1])
      const step = e[3] === undefined ? 0 : Number(e[3] + (e[4] === undefined ? '' : `e${e[4]}`)) * (e[2] === '-' ? -1 : 1)
      const n = Number(e[5])
      const values: number[] = []
      for (let i = 0; i <= Math.min(n, MAX_VALUES); i++) values.push(start + step * i)
      push(out, values, at)
    }

    if (out.length > MAX_VALUES) throw new SeriesNotationError(at, `more than ${MAX_VALUES} values`)
  }

  return out
}

function push(out: SeriesValue[], values: SeriesValue[], at: number): void {
  if (out.length + values.length > MAX_VALUES) throw new SeriesNotationError(at, `more than ${MAX_VALUES} values`)
  for (const v of values) out.push(v)
}
