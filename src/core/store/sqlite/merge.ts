/** Sorted runs of (ts, value); used to merge writes, head rows and chunk contents. */
export interface Run<V = number | string> {
  ts: number[]
  values: V[]
}

/** Sorts a run by time and keeps the last value written for a repeated timestamp. */
export function normalizeRun<V>(run: Run<V>): Run<V> {
  const {ts, values} = run
  let sorted = true
  for (let i = 1; i < ts.length; i++) {
    if (ts[i] <= ts[i - 1]) {
      sorted = false
      break
    }
  }

  if (sorted) return run
  const order = Array.from(ts.keys()).sort((a, b) => ts[a] - ts[b] || a - b)
  const outTs: number[] = []
  const outValues: V[] = []
  for (const i of order) {
    const t = ts[i]
    if (outTs.length > 0 && outTs[outTs.length - 1] === t) {
      outValues[outValues.length - 1] = values[i] // later write wins
    } else {
      outTs.push(t)
      outValues.push(values[i])
    }
  }

  return {ts: outTs, values: outValues}
}

/** Merges two sorted runs; on equal timestamps the value from `newer` wins. */
export function mergeRuns<V>(older: Run<V>, newer: Run<V>): Run<V> {
  if (older.ts.length === 0) return newer
  if (newer.ts.length === 0) return older
  const ts: number[] = []
  const values: V[] = []
  let i = 0
  let j = 0
  while (i < older.ts.length || j < newer.ts.length) {
    if (j >= newer.ts.length || (i < older.ts.length && older.ts[i] < newer.ts[j])) {
      ts.push(older.ts[i])
      values.push(older.values[i++])
    } else {
      if (i < older.ts.length && older.ts[i] === newer.ts[j]) i++
      ts.push(newer.ts[j])
      values.push(newer.values[j++])
    }
  }

  return {ts, values}
}
