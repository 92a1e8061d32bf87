import type {Frame} from './types.js'

/** Frames in the order every backend returns them: by their sorted tag pairs (each key computed once). */
export function sortFrames(frames: Frame[]): Frame[] {
  if (frames.length < 2) return frames
  const keyed = frames.map((f) => ({f, key: JSON.stringify(Object.entries(f.tags).sort())}))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return keyed.map((k) => k.f)
}

/** A frame's time and value columns, for a frame made by {@link columnFrame}. */
export interface FrameColumns {
  ts: ArrayLike<number>
  values: ArrayLike<number | string | boolean | null>
}

const columnsOf = new WeakMap<Frame, FrameColumns>()
const NO_POINTS: ArrayLike<never> = []

/**
 * A two-column frame (time, value) held as its columns: `rows` ([t, v] per point) are made on
 * first use, and a reader that only walks the points ({@link eachPoint}: the query evaluator, the
 * pushed-down windows) reads the columns instead of a small array per point (a day of 10 s points
 * in 10 series is 86,400 of them). `rows` is an own, enumerable property, so a copy ({...f}) and
 * JSON see it like any frame's; making or assigning it drops the columns.
 */
export function columnFrame(name: string, tags: Record<string, string>, columns: string[], ts: ArrayLike<number>, values: ArrayLike<number | string | boolean | null>): Frame {
  let rows: Frame['rows'] | undefined
  const frame: Frame = {
    name,
    tags,
    columns,
    get rows() {
      if (!rows) {
        rows = []
        for (let i = 0; i < ts.length; i++) rows.push([ts[i], values[i]])
        // the rows are the frame from now on: not both held (a frame kept by the query cache,
        // which reads rows, held its points twice — ~½ MiB more for an idle daemon's rules)
        columnsOf.delete(frame)
        ts = values = NO_POINTS
      }

      return rows
    },
    set rows(next) {
      rows = next
      columnsOf.delete(frame)
    },
  }
  columnsOf.set(frame, {ts, values})
  return frame
}

/** The columns of a frame made by {@link columnFrame} whose rows were never asked for; undefined for any other. */
export function frameColumns(f: Frame): FrameColumns | undefined {
  return columnsOf.get(f)
}

/** Calls `each` with the time and value (second column) of every row of a frame, in order. */
export function eachPoint(f: Frame, each: (t: number, v: number | string | boolean | null) => void): void {
  const c = columnsOf.get(f)
  if (c) {
    const {ts, values} = c
    for (let i = 0; i < ts.length; i++) each(ts[i], values[i])
    return
  }

  for (const row of f.rows) each(row[0] as number, row[1])
}
