import {errorMessage} from '../errors.js'
import type {Input} from '../collectors/registry.js'
import type {Point} from '../model/point.js'

export interface InputRun {
  input: string
  points: number
  ms: number
  error?: string
}

export interface CollectSummary {
  points: number
  inputs: number
  failed: number
  runs: InputRun[]
}

/**
 * Runs every input once, concurrently, each bounded by `timeout`; hands all points to `sink` in
 * one batch. A failing input is reported, it does not stop the others.
 */
export async function collectOnce(inputs: Input[], sink: (points: Point[]) => Promise<void>, opts: {timeout: number; signal?: AbortSignal}): Promise<CollectSummary> {
  const all: Point[] = []
  const runs = await Promise.all(
    inputs.map(async (input): Promise<InputRun> => {
      const started = performance.now()
      const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeout)]) : AbortSignal.timeout(opts.timeout)
      try {
        const points = await input.collector.collect(signal)
        for (const p of points) all.push(p)
        return {input: input.name, points: points.length, ms: Math.round(performance.now() - started)}
      } catch (error) {
        return {input: input.name, points: 0, ms: Math.round(performance.now() - started), error: errorMessage(error)}
      }
    }),
  )
  await sink(all)
  return {points: all.length, inputs: inputs.length, failed: runs.filter((r) => r.error).length, runs}
}
