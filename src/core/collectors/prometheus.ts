/**
 * Scrapes Prometheus endpoints (static `urls` and file_sd targets) and stores the samples as
 * Telegraf's prometheus input does (docs/prometheus.md has the naming): with metric_version 1
 * one measurement per metric family (`go_goroutines gauge=12`), with 2 one `prometheus`
 * measurement with a field per metric. Every point gets a `url` tag and the target's labels.
 * Sample config (mon.yaml):
 *
 *   inputs:
 *     prometheus:
 *       - name: node
 *         urls: [http://127.0.0.1:9100/metrics]
 *         file_sd: [/etc/mon/targets/*.json]
 *         interval: 30s
 *         timeout: 10s
 */
import {setMaxListeners} from 'node:events'
import {z} from 'zod'
import {deadline} from '../abort.js'
import {coerceInt, duration, httpUrl, interval, section, stringList} from '../config/common.js'
import {parseDuration} from '../config/duration.js'
import {errorMessage} from '../errors.js'
import {parsePrometheusText, prometheusToPoints} from '../model/prometheus-text.js'
import type {Point} from '../model/point.js'
import {FileDiscovery, type ScrapeTarget} from './file_sd.js'
import {pointsOrPartial} from './partial.js'
import {decorate, defineCollector, ownsTarget, pullInputFields, type Collector, type CollectorContext, type Scheduled} from './types.js'

const ACCEPT = 'text/plain;version=0.0.4;q=1,text/plain;q=0.5,*/*;q=0.1'
/** Largest page read (bytes, after decompression). */
export const MAX_PAGE_BYTES = 64 << 20

export interface ScrapeOptions {
  timeoutMs: number
  bearerToken?: string
  metricVersion: 1 | 2
  now: number
}

/** Fetches and converts one target. Throws with the URL named on HTTP or network failure. */
export async function scrapeTarget(target: ScrapeTarget, opts: ScrapeOptions, signal: AbortSignal): Promise<{points: Point[]; parseErrors: number; firstParseError?: string}> {
  const timeoutMs = target.timeoutMs ?? opts.timeoutMs
  const limit = deadline(signal, timeoutMs)
  const headers: Record<string, string> = {accept: ACCEPT, 'user-agent': 'mon-prometheus-scrape', 'x-prometheus-scrape-timeout-seconds': String(timeoutMs / 1000), 'x-mon-scrape-time': String(opts.now)}
  if (opts.bearerToken) headers.authorization = `Bearer ${opts.bearerToken}`
  let text: string
  try {
    const res = await fetch(target.url, {headers, signal: limit.signal, redirect: 'follow'})
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {})
      throw new Error(`HTTP ${res.status} ${res.statusText}`.trim())
    }
    const length = Number(res.headers.get('content-length') ?? 0)
    if (length > MAX_PAGE_BYTES) throw new Error(`page of ${length} bytes is larger than ${MAX_PAGE_BYTES}`)
    text = await res.text()
    if (text.length > MAX_PAGE_BYTES) throw new Error(`page larger than ${MAX_PAGE_BYTES} bytes`)
  } catch (err) {
    throw new Error(`scrape ${target.url}: ${limit.timedOut ? `no response within ${timeoutMs} ms` : causeMessage(err)}`)
  } finally {
    limit.dispose()
  }
  const {families, errors} = parsePrometheusText(text, {file: target.url})
  const points = prometheusToPoints(families, {now: opts.now, metricVersion: opts.metricVersion})
  for (const p of points) {
    p.tags.url ??= target.url
    for (const [k, v] of Object.entries(target.labels)) p.tags[k] ??= v
  }
  const first = errors[0]
  return {points, parseErrors: errors.length, firstParseError: first ? `${first.file}:${first.line}:${first.col}: ${first.message}` : undefined}
}

function causeMessage(err: unknown): string {
  const cause = (err as {cause?: NodeJS.ErrnoException}).cause
  if (cause?.code) return `${cause.code}: ${cause.message}`
  return errorMessage(err)
}

export function createPrometheusCollector(cfg: PrometheusInputConfig, ctx: CollectorContext, name = 'prometheus'): Collector {
  const staticTargets: ScrapeTarget[] = (cfg.urls ?? []).map((url) => ({url, labels: {}}))
  const discovery = cfg.file_sd?.length ? new FileDiscovery(cfg.file_sd) : undefined
  const timeoutMs = parseDuration(cfg.timeout)
  const lastScrape = new Map<string, number>()
  return {
    name,
    async collect(signal) {
      const errors: string[] = []
      let targets = staticTargets
      if (discovery) {
        const found = await discovery.targets()
        errors.push(...found.errors)
        targets = [...staticTargets, ...found.targets]
      }
      const now = ctx.clock.now()
      // a target with its own __scrape_interval__ is scraped when that much time has passed; with
      // cluster sharding, only the targets this member owns for this interval
      const due = targets.filter(
        (t) => (t.intervalMs === undefined || now - (lastScrape.get(t.url) ?? -Infinity) >= t.intervalMs * 0.9) && ownsTarget(ctx, `prometheus:${t.url}`, cfg.interval, now),
      )
      // one abort listener per target in flight, all removed when it ends: not a leak
      setMaxListeners(Math.max(10, due.length + 10), signal)
      const results = await Promise.allSettled(
        due.map((t) => scrapeTarget(t, {timeoutMs, bearerToken: cfg.bearer_token, metricVersion: cfg.metric_version as 1 | 2, now}, signal)),
      )
      if (signal.aborted) throw signal.reason
      const points: Point[] = []
      results.forEach((r, i) => {
        lastScrape.set(due[i]!.url, now)
        if (r.status === 'rejected') {
          errors.push(errorMessage(r.reason))
          return
        }
        if (r.value.parseErrors > 0) errors.push(`${r.value.parseErrors} malformed line${r.value.parseErrors === 1 ? '' : 's'} skipped, first: ${r.value.firstParseError}`)
        for (const p of r.value.points) points.push(p)
      })
      return pointsOrPartial(decorate(points, ctx, cfg.tags), errors)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// inputs.prometheus: its config schema (defaults included), sample block and factory

export const prometheusInputSchema = section({
  ...pullInputFields,
  urls: z.array(httpUrl()).optional(),
  /** Paths or globs of Prometheus file_sd target files (JSON or YAML). */
  file_sd: stringList.optional(),
  interval: interval().default('30s'),
  timeout: duration({positive: true}).default('10s'),
  metric_version: z.preprocess(coerceInt, z.literal([1, 2])).default(1),
  bearer_token: z.string().optional(),
}).superRefine((v, ctx) => {
  if (!v.urls?.length && !v.file_sd?.length) ctx.addIssue({code: 'custom', message: `needs 'urls' or 'file_sd' (where to scrape)`})
})

export type PrometheusInputConfig = Scheduled<z.output<typeof prometheusInputSchema>>

export const prometheusInput = defineCollector({
  kind: 'prometheus',
  multiple: true,
  schema: prometheusInputSchema,
  sample: `# Prometheus endpoints to scrape.
~prometheus:
~  - name: node
~    # URLs of /metrics endpoints.
~    urls: [http://localhost:9100/metrics]
~    # Prometheus file_sd target files (paths or globs).
~    # file_sd: [/etc/mon/targets/*.json]
~    # Scrape interval.
~    interval: 30s
~    # Scrape timeout.
~    timeout: 10s
~    # 1: one measurement per metric family; 2: one "prometheus" measurement.
~    metric_version: 1
~    # Bearer token sent with each scrape.
~    bearer_token: \${PROMETHEUS_TOKEN:-}`,
  create: createPrometheusCollector,
})
