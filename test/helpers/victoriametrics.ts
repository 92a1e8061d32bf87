/**
 * VictoriaMetrics makes ingested samples searchable a moment after the write returns (they sit in
 * in-memory buffers first): tests flush them with /internal/force_flush and poll /api/v1/export
 * until every sample written reads back, instead of sleeping.
 */
import {waitFor} from './servers.js'

/** How many samples VictoriaMetrics at `url` returns for `match` (default: every series). */
export async function exportedSamples(url: string, match = '{__name__!=""}'): Promise<number> {
  const response = await fetch(`${url}/api/v1/export?${new URLSearchParams({'match[]': match, start: '0'})}`)
  if (!response.ok) throw new Error(`VictoriaMetrics /api/v1/export: HTTP ${response.status} ${await response.text()}`)
  let n = 0
  for (const line of (await response.text()).split('\n')) if (line.trim()) n += (JSON.parse(line) as {timestamps: number[]}).timestamps.length
  return n
}

/** Flushes and waits (up to 30 s, failing loudly) until at least `samples` samples of `match` read back. */
export async function waitForVictoriaMetrics(url: string, samples: number, match?: string): Promise<void> {
  let seen = 0
  await waitFor(
    async () => {
      await fetch(`${url}/internal/force_flush`)
      seen = await exportedSamples(url, match)
      return seen >= samples
    },
    `VictoriaMetrics at ${url} showing ${samples} samples`,
    30_000,
    undefined,
    () => `it shows ${seen}`,
  )
}

/** One of VictoriaMetrics' own counters on /metrics, by its exact series (`name{label="v",…}` as printed there). */
export async function victoriaMetricsCounter(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  if (!line) throw new Error(`VictoriaMetrics at ${url} has no ${series} on /metrics`)
  return Number(line.slice(series.length + 1))
}
