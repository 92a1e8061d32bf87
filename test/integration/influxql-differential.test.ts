/**
 * InfluxQL differential: one Telegraf-shaped fixture written to a real influxd (1.x, the judge) and
 * to mon's stores; the same statements, in the shapes Grafana's InfluxDB data source generates, sent
 * to influxd's /query and through runInfluxQL on the embedded store (pushdown on and off) and on
 * mon's InfluxDB store backend pointed at that influxd. The JSON must be the same value by value
 * (floats within 1e-9 relative: summation order), except the differences docs/influxql.md lists,
 * which are asserted as documented below.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {influxStoreSchema, victoriaMetricsStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import {runInfluxQL, type Epoch, type InfluxQLTarget, type InfluxQueryResponse} from '../../src/core/query/influxql/index.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {VictoriaMetricsStore} from '../../src/core/store/prom/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {QueryPlan} from '../../src/core/store/types.js'
import {startInfluxd, startVictoriaMetrics, tempDir, type RunningServer} from '../helpers/servers.js'
import {waitForVictoriaMetrics} from '../helpers/victoriametrics.js'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)
const STEP = 10_000
const HOUR = 3_600_000
const DB = 'telegraf'

function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

/**
 * Telegraf's schema, one hour: cpu (hosts a, b, c; cpu0, cpu1, cpu-total; b has a gap at minutes
 * 20–25), mem (integer and float fields), disk (path/device tags, every minute), net (integer
 * counters, one resets), system (a string field). Points sit on 10 s edges, shared across series
 * as Telegraf's are, plus a few off-edge points. And `dst`, every 20 minutes around 2026's two
 * European DST changes, for tz().
 */
function fixture(): Point[] {
  const rnd = lcg(7)
  const r2 = (x: number) => Math.round(x * 100) / 100
  const points: Point[] = []
  const cpus: Array<Record<string, string>> = [
    {host: 'a', cpu: 'cpu0'},
    {host: 'a', cpu: 'cpu1'},
    {host: 'a', cpu: 'cpu-total'},
    {host: 'b', cpu: 'cpu0'},
    {host: 'b', cpu: 'cpu-total'},
    {host: 'c', cpu: 'cpu-total'},
  ]
  for (let i = 0; i < 360; i++) {
    const ts = T0 + i * STEP
    const minute = (i * STEP) / 60_000
    for (const tags of cpus) {
      if (tags.host === 'b' && minute >= 20 && minute < 25) continue
      if (tags.host === 'c' && i % 3 !== 0) continue
      const user = r2(rnd() * 40 + (tags.host === 'a' ? 20 : 0))
      const system = r2(rnd() * 10)
      points.push({measurement: 'cpu', tags, fields: {usage_user: user, usage_system: system, usage_idle: r2(100 - user - system)}, ts})
    }

    for (const host of ['a', 'b']) {
      const total = 8_000_000_000n
      const used = BigInt(Math.floor(2e9 + rnd() * 4e9))
      points.push({
        measurement: 'mem',
        tags: {host},
        fields: {used, available: total - used, total, used_percent: (Number(used) / Number(total)) * 100},
        ts: ts + (host === 'b' ? 3_000 : 0),
      })
    }
  }

  for (const host of ['a', 'b']) {
    let recv = 1_000_000n
    let sent = 50_000n
    for (let i = 0; i < 360; i++) {
      if (host === 'b' && i === 200) recv = 10n // counter reset
      recv += BigInt(Math.floor(rnd() * 100_000))
      sent += BigInt(Math.floor(rnd() * 5_000))
      points.push({measurement: 'net', tags: {host, interface: 'eth0'}, fields: {bytes_recv: recv, bytes_sent: sent, err_in: 0n}, ts: T0 + i * STEP})
    }

    for (let i = 0; i < 60; i++) {
      for (const [path, device] of [
        ['/', 'sda1'],
        ['/data', 'sdb1'],
      ]) {
        points.push({
          measurement: 'disk',
          tags: {host, path, device, fstype: 'ext4'},
          fields: {used_percent: r2(40 + rnd() * 20 + (path === '/data' ? 30 : 0)), free: BigInt(Math.floor(1e10 + rnd() * 1e9)), inodes_used: BigInt(10_000 + i * 7)},
          ts: T0 + i * 60_000,
        })
      }

      points.push({
        measurement: 'system',
        tags: {host},
        fields: {load1: r2(rnd() * 4), n_cpus: host === 'a' ? 2n : 1n, uptime: BigInt(1000 + i * 60), uptime_format: `${i} min`},
        ts: T0 + i * 60_000 + 500,
      })
    }
  }

  // around Europe's two DST changes of 2026 (29 March, 25 October, 01:00 UTC): every 20 minutes
  for (const [from, to] of [
    [Date.UTC(2026, 2, 26), Date.UTC(2026, 3, 2)],
    [Date.UTC(2026, 9, 22), Date.UTC(2026, 9, 29)],
  ]) {
    for (let t = from, i = 0; t < to; t += 1_200_000, i++) points.push({measurement: 'dst', tags: {host: 'a'}, fields: {v: (i % 37) + 0.5, n: BigInt(i)}, ts: t})
  }

  return points
}

function lineProtocol(points: Point[]): string {
  const esc = (s: string) => s.replace(/[,= ]/g, (c) => `\\${c}`)
  return points
    .map((p) => {
      const tags = Object.entries(p.tags)
        .sort()
        .map(([k, v]) => `,${esc(k)}=${esc(v)}`)
        .join('')
      const fields = Object.entries(p.fields)
        .map(([k, v]) => `${esc(k)}=${typeof v === 'bigint' ? `${v}i` : typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
        .join(',')
      return `${esc(p.measurement)}${tags} ${fields} ${p.ts}`
    })
    .join('\n')
}

const ms = (t: number) => `${t}ms`
/** Grafana's $timeFilter for a range */
const tf = (from: number, to: number) => `time >= ${ms(from)} and time <= ${ms(to)}`
const R = tf(T0, T0 + HOUR - 1)
const R15 = tf(T0 + 15 * 60_000, T0 + 30 * 60_000)
/** a range whose start is not on a bucket edge */
const ROFF = tf(T0 + 95_000, T0 + 25 * 60_000 + 3_000)

/** integral(): influxd splits its series (mergeSplitSeries) */
const INTEGRALS = [
  `SELECT integral("bytes_sent") FROM "net" WHERE ${R} GROUP BY "host"`,
  `SELECT integral("bytes_sent", 1m) FROM "net" WHERE ${R} GROUP BY time(10m), "host" fill(null)`,
  `SELECT integral("usage_user") FROM "cpu" WHERE "cpu" = 'cpu-total' AND ${ROFF} GROUP BY time(7m), "host"`,
  `SELECT integral("load1", 1h) FROM "system" WHERE ${R} GROUP BY time(15m), "host"`,
]

/** Grafana-shaped statements (influx_query_model.ts / query_builder.ts and their specs). */
const STATEMENTS: string[] = [
  // the query editor's default and its variations
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" = 'a') AND ${R} GROUP BY time(1m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" =~ /^(a|b)$/) AND ${R} GROUP BY time(1m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" =~ /^(a|b)$/ AND "cpu" = 'cpu-total') AND ${R15} GROUP BY time(10s), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" != 'a') AND ${R} GROUP BY time(5m), "host", "cpu" fill(none)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" !~ /^a$/) AND ${R} GROUP BY time(5m), * fill(none)`,
  `SELECT mean("usage_idle") FROM "autogen"."cpu" WHERE ${R} GROUP BY time(2m), "host" fill(0)`,
  `SELECT mean("usage_idle") FROM "telegraf"."autogen"."cpu" WHERE ("cpu" = 'cpu-total') AND ${R} GROUP BY time(1m), "host" fill(previous)`,
  `SELECT mean("usage_idle") FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${R} GROUP BY time(1m), "host" fill(linear)`,
  `SELECT mean("usage_idle") FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${R} GROUP BY time(1m), "host" fill(-1)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${ROFF} GROUP BY time(1m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(7m, 2m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1h) fill(null)`,
  `SELECT sum("usage_user"), count("usage_user"), min("usage_user"), max("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT count("usage_user") FROM "cpu" WHERE ("host" = 'b') AND ${R} GROUP BY time(1m) fill(null)`,
  `SELECT count("usage_user") FROM "cpu" WHERE ("host" = 'b') AND ${R} GROUP BY time(1m) fill(none)`,
  `SELECT last("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT first("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT median("usage_user"), spread("usage_user"), stddev("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" fill(null)`,
  `SELECT mode("n_cpus") FROM "system" WHERE ${R} GROUP BY time(10m) fill(null)`,
  `SELECT percentile("usage_user", 95) FROM "cpu" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT percentile("usage_user", 50) FROM "cpu" WHERE ${R} GROUP BY "host"`,
  `SELECT percentile("usage_user", 1) FROM "cpu" WHERE ("host" = 'c') AND ${R} GROUP BY time(1m)`,
  `SELECT mean("usage_user") * 2 + 1 FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" fill(null)`,
  `SELECT mean("used") / 1024 / 1024 AS "used_mb" FROM "mem" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT mean("used") / mean("total") * 100 FROM "mem" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT mean("usage_user") AS "user", mean("usage_system") AS "system", mean("usage_idle") FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${R} GROUP BY time(10m), "host" fill(null)`,
  `SELECT mean("usage_user"), mean("usage_system") FROM "cpu" WHERE ${R} GROUP BY time(30m)`,
  // transformations over aggregates (Grafana's "Transformations" menu)
  `SELECT non_negative_derivative(mean("bytes_recv"), 1s) FROM "net" WHERE ${R} GROUP BY time(1m), "host" fill(null)`,
  `SELECT non_negative_derivative(mean("bytes_recv"), 1s) * 8 FROM "net" WHERE ${R15} GROUP BY time(1m), "host", "interface" fill(null)`,
  `SELECT derivative(mean("bytes_sent"), 10s) FROM "net" WHERE ${R15} GROUP BY time(1m), "host" fill(null)`,
  `SELECT derivative(mean("usage_user")) FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${R15} GROUP BY time(1m), "host" fill(null)`,
  `SELECT difference(mean("bytes_recv")) FROM "net" WHERE ${R15} GROUP BY time(1m), "host" fill(null)`,
  `SELECT non_negative_difference(max("bytes_recv")) FROM "net" WHERE ${R} GROUP BY time(5m), "host" fill(null)`,
  `SELECT moving_average(mean("usage_user"), 3) FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${R15} GROUP BY time(1m), "host" fill(null)`,
  `SELECT moving_average(mean("usage_user"), 5) FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${R15} GROUP BY time(1m), "host" fill(null)`,
  `SELECT cumulative_sum(sum("err_in")) FROM "net" WHERE ${R15} GROUP BY time(1m), "host" fill(null)`,
  `SELECT cumulative_sum(count("usage_user")) FROM "cpu" WHERE ${R15} GROUP BY time(5m) fill(null)`,
  `SELECT derivative(mean("usage_user"), 1s) FROM "cpu" WHERE ("host" = 'b') AND ${R} GROUP BY time(1m) fill(none)`,
  `SELECT derivative(mean("usage_user")) FROM "cpu" WHERE "cpu" = 'cpu-total' AND ${ROFF} GROUP BY time(5m), "host"`,
  `SELECT difference(max("bytes_recv")) FROM "net" WHERE ${tf(T0 + 7 * 60_000 + 20_000, T0 + 40 * 60_000)} GROUP BY time(10m), "host"`,
  // selectors and aggregates without GROUP BY time (singlestat, gauge, table panels)
  `SELECT last("usage_user") FROM "cpu" WHERE ("host" = 'a' AND "cpu" = 'cpu-total') AND ${R}`,
  `SELECT last("usage_idle") FROM "cpu" WHERE ${R} GROUP BY "host", "cpu"`,
  `SELECT max("usage_user") FROM "cpu" WHERE ${R} GROUP BY "host"`,
  `SELECT min("usage_user") FROM "cpu" WHERE ${R}`,
  `SELECT first("load1") FROM "system" WHERE ${R} GROUP BY "host"`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R}`,
  `SELECT mean("usage_user"), max("usage_user") FROM "cpu" WHERE ${R} GROUP BY "host"`,
  `SELECT count("uptime_format") FROM "system" WHERE ${R} GROUP BY "host"`,
  `SELECT sum("free") FROM "disk" WHERE ${R} GROUP BY "path"`,
  `SELECT mean("used_percent") FROM "disk" WHERE ("path" = '/') AND ${R} GROUP BY time(10m), "host", "path" fill(null)`,
  `SELECT last("used_percent") FROM "disk" WHERE ${R} GROUP BY "host", "path", "device"`,
  // raw fields (Grafana's raw / table mode)
  `SELECT "usage_user" FROM "cpu" WHERE ("host" = 'a' AND "cpu" = 'cpu0') AND ${tf(T0, T0 + 120_000)}`,
  `SELECT "usage_user", "usage_system" FROM "cpu" WHERE ("host" = 'c') AND ${tf(T0, T0 + 300_000)}`,
  `SELECT "usage_user" + "usage_system" AS "busy" FROM "cpu" WHERE ("cpu" = 'cpu-total') AND ${tf(T0, T0 + 60_000)} GROUP BY "host"`,
  `SELECT "load1", "uptime_format" FROM "system" WHERE ${tf(T0, T0 + 600_000)} GROUP BY "host"`,
  `SELECT * FROM "system" WHERE ("host" = 'a') AND ${tf(T0, T0 + 300_000)}`,
  `SELECT "used_percent" FROM "disk" WHERE "used_percent" > 85 AND ${R}`,
  `SELECT "usage_user" FROM "cpu" WHERE ("host" = 'a') AND ${R} ORDER BY time DESC LIMIT 3`,
  `SELECT "usage_user" FROM "cpu" WHERE ${R} GROUP BY "host" LIMIT 2 OFFSET 1`,
  `SELECT derivative("bytes_recv", 1s) FROM "net" WHERE ("host" = 'a') AND ${tf(T0, T0 + 60_000)}`,
  // limits, ordering, series limits
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" fill(null) ORDER BY time DESC`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" fill(null) LIMIT 2`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host", "cpu" fill(null) SLIMIT 2`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host", "cpu" fill(null) SLIMIT 2 SOFFSET 2`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m) fill(null) tz('UTC')`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" ORDER BY time DESC LIMIT 1`,
  // sources: regex, several measurements
  `SELECT mean("used_percent") FROM /^(mem|disk)$/ WHERE ${R} GROUP BY time(20m), "host" fill(null)`,
  `SELECT mean("used_percent") FROM "mem", "disk" WHERE ${R} GROUP BY time(30m) fill(null)`,
  // conditions
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" = 'a' OR "host" = 'c') AND ${R} GROUP BY time(10m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "cpu" =~ /total/ AND ${R} GROUP BY time(15m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "usage_user" > 30 AND ${R} GROUP BY time(15m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE time >= '2026-01-05T12:10:00Z' AND time < '2026-01-05T12:40:00Z' GROUP BY time(10m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} AND "host" = 'nope' GROUP BY time(10m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "host" = 'a' AND "host" = 'b' AND ${R} GROUP BY time(10m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "host"::tag = 'a' AND ${R} GROUP BY time(10m), "cpu"::tag fill(null)`,
  `SELECT "usage_user"::field FROM "cpu" WHERE "host" = 'c' AND ${tf(T0, T0 + 120_000)}`,
  `SELECT max("usage_user") FROM "cpu" WHERE time > ${ms(T0)} and time < ${ms(T0 + HOUR)} GROUP BY "host"`,
  `SELECT mean("usage_user") FROM "cpu" WHERE time > ${ms(T0)} and time < ${ms(T0 + HOUR)} GROUP BY time(10m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" GROUP BY "host"`,
  `SELECT last("usage_user") FROM "cpu"`,
  `SELECT "usage_user" FROM "cpu" WHERE "host" = 'c' LIMIT 3`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m) fill(none) LIMIT 5 OFFSET 10`,
  `SELECT sum("bytes_recv"), spread("bytes_recv") FROM "net" WHERE ${R} GROUP BY time(10m), "host" fill(null)`,
  `SELECT round(mean("usage_user")), abs(min("usage_user") - 50) FROM "cpu" WHERE ${R} GROUP BY time(10m) fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" fill(null) SLIMIT 1`,
  `SELECT last("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m), "host" fill(previous)`,
  `SELECT derivative("usage_user", 1s) FROM "cpu" WHERE "host" = 'b' AND ${tf(T0, T0 + 60_000)} GROUP BY "cpu"`,
  `SELECT difference("bytes_recv") FROM "net" WHERE ${tf(T0, T0 + 60_000)} GROUP BY "host"`,
  `SELECT non_negative_derivative("bytes_recv", 1s) FROM "net" WHERE "host" = 'b' AND ${tf(T0 + 1_990_000, T0 + 2_030_000)}`,
  `SELECT cumulative_sum("n_cpus") FROM "system" WHERE ${tf(T0, T0 + 300_000)} GROUP BY "host"`,
  `SELECT * FROM /^(mem|system)$/ WHERE "host" = 'a' AND ${tf(T0, T0 + 60_000)}`,
  `SELECT last("uptime_format") FROM "system" WHERE ${R} GROUP BY "host"`,
  `SELECT first("uptime_format"), count("uptime_format") FROM "system" WHERE ${R} GROUP BY time(20m), "host"`,
  `SELECT mean("uptime_format") FROM "system" WHERE ${R}`,
  `SELECT max("uptime_format") FROM "system" WHERE ${R}`,
  `SELECT "uptime_format" FROM "system" WHERE "uptime_format" = '3 min' AND ${R}`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "cpu" != 'cpu-total' AND "host" !~ /c/ AND ${R} GROUP BY time(15m), "host" fill(null)`,
  `SELECT median("used") FROM "mem" WHERE ${R} GROUP BY time(15m), "host" fill(null)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE (("host" = 'a' AND "cpu" = 'cpu0') OR ("host" = 'b' AND "cpu" = 'cpu-total')) AND ${R} GROUP BY time(30m), "host", "cpu"`,
  `SELECT "load1" / 0, "load1" % 0, -"load1", sqrt(-"load1") FROM "system" WHERE "host" = 'b' AND ${tf(T0, T0 + 180_000)}`,
  `SELECT mean("load1") / 0 FROM "system" WHERE ${R}`,
  `SELECT count(*) FROM "system" WHERE ${R} GROUP BY "host"`,
  `SELECT mean(*) FROM "mem" WHERE ${R} GROUP BY time(30m)`,
  `SELECT max(*), min(*) FROM "net" WHERE ${R}`,
  `SELECT mean("usage_user") FROM "autogen"."cpu" WHERE ("usage_user" > 50) AND ${R}`,
  `SELECT mean("load1") FROM "autogen"."system" WHERE ("n_cpus" = 2) AND ${R} GROUP BY time(20m)`,
  `SELECT "load1" FROM "system" WHERE ("load1" >= 3.5) AND ("host" = 'a' OR "host" = 'b') AND ${R}`,
  `SELECT mean("usage_user") /100 AS "text" FROM "autogen"."cpu" WHERE ("host" = 'a' AND "cpu" = 'cpu0') AND ${R} GROUP BY time(5m)`,
  `SELECT max("usage_user"), "host", "cpu" FROM "cpu" WHERE ${R}`,
  `SELECT last("usage_user"), "usage_idle" FROM "cpu" WHERE ${R} GROUP BY "host"`,
  `SELECT max("used_percent"), "path" FROM "disk" WHERE ${R} GROUP BY time(20m), "host"`,
  `SELECT count(distinct("n_cpus")) FROM "system" WHERE ${R} GROUP BY time(30m)`,
  `SELECT count(distinct("uptime_format")) FROM "system" WHERE ${R} GROUP BY "host"`,
  `SELECT mean(abs("load1")) FROM "system" WHERE ${R}`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "host" = 'a' AND ${tf(T0, T0 + 1_200_000)} GROUP BY time(100ms), "cpu"`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "host" = 'a' AND ${tf(T0, T0 + 999_900)} GROUP BY time(100ms)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m) fill(null) LIMIT 0`,
  `SELECT "usage_user" FROM "cpu" WHERE "host" = 'a' AND "cpu" = 'cpu0' AND ${R} LIMIT 3 OFFSET 2 SLIMIT 1`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY "host", time(10m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE time >= '2026-01-05 12:10:00' AND time <= '2026-01-05 12:30:00.5' GROUP BY time(10m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE time >= ${ms(T0)} + 10m AND time <= ${ms(T0 + HOUR)} - 5m GROUP BY time(5m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE time = ${ms(T0 + 60_000)}`,
  `SELECT * FROM "cpu" WHERE time = ${ms(T0 + 60_000)} AND "host" = 'a'`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "host" =~ /^$/ AND ${R} GROUP BY time(10m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "zone" = '' AND ${R} GROUP BY time(20m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "zone" != '' AND ${R} GROUP BY time(20m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(20m), "zone"`,
  `SELECT last("usage_user") FROM "cpu" WHERE ${R} GROUP BY *`,
  `SELECT "usage_user" * 2 + "usage_system" / 3, 2 * "usage_idle" FROM "cpu" WHERE "host" = 'c' AND ${tf(T0, T0 + 60_000)}`,
  `SELECT 2 * mean("usage_user"), mean("usage_user") - mean("usage_system") FROM "cpu" WHERE ${R} GROUP BY time(20m) fill(null) ORDER BY time ASC`,
  `SELECT top("usage_user", 3) FROM "cpu" WHERE ${R}`,
  `SELECT top("usage_user", 2) FROM "cpu" WHERE ${R} GROUP BY time(10m), "host"`,
  `SELECT bottom("usage_idle", "host", 2) FROM "cpu" WHERE "cpu" = 'cpu-total' AND ${R}`,
  `SELECT top("used_percent", "host", "path", 3), "device" FROM "disk" WHERE ${R}`,
  `SELECT top("bytes_recv", 2) / 1024 FROM "net" WHERE ${R} GROUP BY "host"`,
  `SELECT distinct("n_cpus") FROM "system" WHERE ${R} GROUP BY "host"`,
  `SELECT distinct("uptime_format") FROM "system" WHERE "host" = 'a' AND ${tf(T0, T0 + 300_000)} GROUP BY time(2m)`,
  `SELECT top("usage_user", 2), mean("usage_user") FROM "cpu" WHERE ${R}`,
  `SELECT distinct("n_cpus"), "load1" FROM "system" WHERE ${R}`,
  ...INTEGRALS,
  `SELECT elapsed("load1", 1s) FROM "system" WHERE "host" = 'a' AND ${tf(T0, T0 + 300_000)}`,
  `SELECT elapsed(mean("usage_user"), 1m) FROM "cpu" WHERE "host" = 'b' AND ${R} GROUP BY time(1m) fill(none)`,
  `SELECT elapsed("uptime_format") FROM "system" WHERE "host" = 'b' AND ${tf(T0, T0 + 180_000)}`,
  `SELECT count("usage_user") FROM "cpu", /^cp/ WHERE ${R} GROUP BY time(20m), "host"`,
  `SELECT mean("usage_user") FROM "cpu" WHERE "host" = 'a' OR time >= ${ms(T0 + 30 * 60_000)} GROUP BY "cpu"`,
  // subquery, in the shape Grafana's raw editor sees
  `SELECT mean("busy") FROM (SELECT "usage_user" + "usage_system" AS "busy" FROM "cpu" WHERE ${R}) WHERE ${R} GROUP BY time(10m) fill(null)`,
  `SELECT max("m") FROM (SELECT mean("usage_user") AS "m" FROM "cpu" WHERE ${R} GROUP BY time(1m), "host") WHERE ${R} GROUP BY "host"`,
  `SELECT sum("rate") FROM (SELECT non_negative_derivative(last("bytes_recv"), 1s) AS "rate" FROM "net" WHERE ${R} GROUP BY time(1m), "host") WHERE ${R} GROUP BY time(5m) fill(null)`,
  `SELECT mean("rate") FROM (SELECT non_negative_derivative(last("bytes_recv"), 1s) AS "rate" FROM "net" WHERE ${R15} GROUP BY time(1m), "host") WHERE ${R15} GROUP BY time(5m), "host"`,
  `SELECT max("total") FROM (SELECT sum("usage_user") AS "total" FROM "cpu" WHERE "cpu" != 'cpu-total' AND ${R} GROUP BY time(1m), "host") WHERE ${R} GROUP BY "host"`,
  `SELECT "busy" FROM (SELECT "usage_user" + "usage_system" AS "busy" FROM "cpu" WHERE "host" = 'c' AND ${tf(T0, T0 + 60_000)}) WHERE "busy" > 20`,
  // template-variable queries
  'SHOW DATABASES',
  'SHOW MEASUREMENTS',
  'SHOW MEASUREMENTS WITH MEASUREMENT =~ /cp/ LIMIT 100',
  'SHOW MEASUREMENTS LIMIT 2',
  `SHOW MEASUREMENTS WHERE "host" = 'b'`,
  'SHOW TAG KEYS',
  'SHOW TAG KEYS FROM "cpu"',
  'SHOW TAG VALUES FROM "cpu" WITH KEY = "host"',
  'SHOW TAG VALUES WITH KEY = "host"',
  'SHOW TAG VALUES FROM "cpu" WITH KEY IN ("host", "cpu")',
  `SHOW TAG VALUES FROM "cpu" WITH KEY = "cpu" WHERE "host" =~ /^(a|c)$/`,
  `SHOW TAG VALUES FROM "disk" WITH KEY =~ /path|device/ WHERE "host" = 'a'`,
  'SHOW FIELD KEYS',
  'SHOW MEASUREMENTS ON "telegraf"',
  'SHOW TAG VALUES FROM "cpu" WITH KEY = "cpu" LIMIT 2 OFFSET 1',
  `SHOW TAG KEYS FROM "disk" WHERE "path" = '/data'`,
  'SHOW TAG VALUES FROM /^(cpu|disk)$/ WITH KEY != "host"',
  'SHOW FIELD KEYS FROM /^(net|system)$/',
  `SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE time >= ${ms(T0 + 20 * 60_000)} AND time < ${ms(T0 + 25 * 60_000)}`,
  `SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE time > ${ms(T0 + 2 * HOUR)}`,
  `SHOW TAG KEYS FROM "cpu" WHERE time > ${ms(T0 + 2 * HOUR)}`,
  `SHOW SERIES FROM "cpu" WHERE "cpu" = 'cpu-total' AND time >= ${ms(T0 + 20 * 60_000)} AND time < ${ms(T0 + 25 * 60_000)}`,
  `SHOW MEASUREMENTS WHERE time > ${ms(T0)}`,
  `SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE time > ${ms(T0 + 8 * 86_400_000)}`,
  `SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE time < ${ms(T0 - 2 * 86_400_000)}`,
  `SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE time < ${ms(T0 - 5 * 86_400_000)}`,
  `SHOW TAG KEYS WHERE "host" = 'c'`,
  'SHOW TAG VALUES WITH KEY !~ /.*o.*/',
  'SHOW TAG VALUES FROM "autogen"."cpu" WITH KEY = "host"',
  'SHOW FIELD KEYS FROM "autogen"."cpu"',
  `SHOW TAG VALUES FROM "cpu" WITH KEY IN ("cpu", "host") WHERE "host" = 'b'`,
  'SHOW FIELD KEYS FROM "mem"',
  'SHOW RETENTION POLICIES ON "telegraf"',
  'SHOW SERIES FROM "disk"',
  `SHOW SERIES FROM "cpu" WHERE "host" = 'a'`,
  // several statements in one request
  `SELECT last("usage_user") FROM "cpu" WHERE ${R}; SHOW MEASUREMENTS; SELECT mean("load1") FROM "system" WHERE ${R} GROUP BY time(30m)`,
  `SHOW DATABASES; SELECT mean("usage_user"), "usage_user" FROM "cpu" WHERE ${R}`,
  `SHOW DATABASES; SELECT mean("usage_user"), "usage_user" FROM "cpu" WHERE ${R}; SHOW MEASUREMENTS`,
  `SELECT mean("usage_user") FROM "nope"."autogen"."cpu" WHERE ${R}; SHOW DATABASES`,
  `SELECT mean("usage_user") FROM "nope" WHERE ${R}; SHOW DATABASES`,
  // errors InfluxDB answers per statement or for the request
  `SELECT mean("usage_user") FROM "nope" WHERE ${R} GROUP BY time(1m)`,
  `SELECT mean("nope") FROM "cpu" WHERE ${R} GROUP BY time(1m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY`,
  `SELECT mean("usage_user") FROM WHERE ${R}`,
  'SELEC * FROM cpu',
  `SELECT mean("usage_user"), "usage_user" FROM "cpu" WHERE ${R}`,
  `SELECT "usage_user" FROM "cpu" WHERE ${R} GROUP BY time(1m)`,
  `SELECT derivative("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m)`,
  `SELECT percentile("usage_user") FROM "cpu" WHERE ${R}`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} ORDER BY "host"`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m) fill(bogus)`,
  `SELECT mean("usage_user") FROM "nope"."autogen"."cpu" WHERE ${R}`,
  `SELECT mean("usage_user") FROM "telegraf"."nope"."cpu" WHERE ${R}`,
  'SHOW RETENTION POLICIES ON "nope"',
  'SHOW FOO',
  `SELECT bogus("usage_user") FROM "cpu" WHERE ${R}`,
  'SELECT',
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(10m) fill(null); SELEC`,
  // tz() across DST changes: InfluxDB's windows in the zone
  ...['1d', '12h', '2h', '1h', '1d, 6h', '3d'].flatMap((every) => [
    `SELECT count("v"), sum("v") FROM "dst" WHERE time >= '2026-03-27T00:00:00Z' AND time < '2026-04-01T00:00:00Z' GROUP BY time(${every}) tz('Europe/Paris')`,
    `SELECT mean("v") FROM "dst" WHERE time >= '2026-10-23T00:00:00Z' AND time < '2026-10-28T00:00:00Z' GROUP BY time(${every}) fill(0) tz('Europe/Paris')`,
  ]),
  `SELECT derivative(mean("v")) FROM "dst" WHERE time >= '2026-03-27T06:00:00Z' AND time < '2026-04-01T00:00:00Z' GROUP BY time(1d) tz('Europe/Paris')`,
  `SELECT max("v") FROM "dst" WHERE time >= '2026-10-24T00:00:00Z' AND time < '2026-10-27T00:00:00Z' GROUP BY time(1d) fill(none) tz('Europe/Paris')`,
  `SELECT integral("v", 1h) FROM "dst" WHERE time >= '2026-03-28T00:00:00Z' AND time < '2026-03-31T00:00:00Z' GROUP BY time(1d) tz('Europe/Paris')`,
  `SELECT count("v") FROM "dst" WHERE time >= '2026-03-27T00:00:00Z' AND time < '2026-04-01T00:00:00Z' GROUP BY time(1d) tz('America/New_York')`,
  `SELECT "v" FROM "dst" WHERE time >= '2026-03-29T00:00:00Z' AND time < '2026-03-29T02:00:00Z' tz('Europe/Paris')`,
  // documented differences
  `SELECT mean("usage_user") FROM "cpu" WHERE time > ${ms(T0)} and time < ${ms(T0 + HOUR)}`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(30m) fill(null) tz('Europe/Paris')`,
  `SELECT holt_winters(mean("usage_user"), 10, 4) FROM "cpu" WHERE ${R} GROUP BY time(1m)`,
  'KILL QUERY 123456',
]

/**
 * influxd 1.6 emits integral()'s last bucket of each series as another series after all the others
 * (and orders whole-range integrals as they finish): merged back into one series per tag set,
 * series in order, as mon answers (docs/influxql.md).
 */
function mergeSplitSeries(body: InfluxQueryResponse): InfluxQueryResponse {
  const copy = structuredClone(body)
  for (const r of copy.results ?? []) {
    if (!r.series) continue
    const merged = new Map<string, NonNullable<typeof r.series>[number]>()
    for (const s of r.series) {
      const key = `${s.name}\u0000${JSON.stringify(Object.entries(s.tags ?? {}).sort())}`
      const known = merged.get(key)
      if (known) known.values = [...known.values!, ...s.values!].sort((a, b) => Date.parse(a[0] as string) - Date.parse(b[0] as string))
      else merged.set(key, s)
    }

    r.series = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s)
  }

  return copy
}


/** Statements whose answer differs from InfluxDB's on purpose (docs/influxql.md, "Differences from InfluxDB"). */
const DOCUMENTED: Record<string, (influx: InfluxQueryResponse, mon: InfluxQueryResponse) => void> = {
  ...Object.fromEntries(INTEGRALS.map((q) => [q, (influx: InfluxQueryResponse, mon: InfluxQueryResponse) => assertSameJSON(mon, mergeSplitSeries(influx), 'integral')])),
  // mon's times are milliseconds: `time > T` starts at T + 1 ms, InfluxDB's at T + 1 ns (shown as an aggregate's time)
  [`SELECT mean("usage_user") FROM "cpu" WHERE time > ${ms(T0)} and time < ${ms(T0 + HOUR)}`]: (influx, mon) => {
    assert.equal(influx.results![0].series![0].values![0][0], '2026-01-05T12:00:00.000000001Z')
    assert.equal(mon.results![0].series![0].values![0][0], '2026-01-05T12:00:00.001Z')
    assertSameJSON(mon.results![0].series![0].values![0][1], influx.results![0].series![0].values![0][1], 'mean')
  },
  // functions outside the subset are refused by name
  [`SELECT holt_winters(mean("usage_user"), 10, 4) FROM "cpu" WHERE ${R} GROUP BY time(1m)`]: (_influx, mon) => {
    assert.deepEqual(mon, {results: [{statement_id: 0, error: 'holt_winters() is not supported by mon (see docs/influxql.md)'}]})
  },
  // mon only reads: statements that write or administer are refused
  'KILL QUERY 123456': (_influx, mon) => {
    assert.deepEqual(mon, {results: [{statement_id: 0, error: "not supported by mon: KILL QUERY 123456 (mon's InfluxQL answers SELECT and SHOW statements; see docs/influxql.md)"}]})
  },
}

/**
 * Rows of several series that share a timestamp in one result series (a raw SELECT without GROUP BY
 * the tags that tell them apart): InfluxDB's merge heap orders them arbitrarily, mon by series key
 * (documented); both are compared sorted within each timestamp.
 */
function normalizeTies(body: InfluxQueryResponse): InfluxQueryResponse {
  for (const r of body.results ?? []) {
    for (const s of r.series ?? []) {
      const values = s.values ?? []
      for (let i = 0; i < values.length; ) {
        let j = i
        while (j < values.length && values[j][0] === values[i][0]) j++
        const run = values.slice(i, j).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
        values.splice(i, j - i, ...run)
        i = j
      }
    }
  }

  return body
}

/**
 * VictoriaMetrics stores numbers only (docs/influxql.md): the fixture's string field (system
 * uptime_format) is not written there, and every field reads back as a float. What influxd answers,
 * turned into what mon on VictoriaMetrics must answer.
 */
const VICTORIA_DIFFERENCES: Record<string, (expected: InfluxQueryResponse) => InfluxQueryResponse> = {
  [`SELECT count("uptime_format") FROM "system" WHERE ${R} GROUP BY "host"`]: () => ({results: [{statement_id: 0}]}),
  [`SELECT "load1", "uptime_format" FROM "system" WHERE ${tf(T0, T0 + 600_000)} GROUP BY "host"`]: (e) => mapSeries(e, (s) => ({...s, values: s.values!.map((r) => [r[0], r[1], null])})),
}

function victoriaExpected(q: string, expected: InfluxQueryResponse): InfluxQueryResponse {
  if (VICTORIA_DIFFERENCES[q]) return VICTORIA_DIFFERENCES[q](expected)
  if (q.startsWith('SELECT * ') || q.includes('(*)'))
    return mapSeries(expected, (s) => {
      const keep = s.columns.map((c) => !c.endsWith('uptime_format'))
      return {...s, columns: s.columns.filter((_, i) => keep[i]), values: s.values!.map((r) => r.filter((_, i) => keep[i]))}
    })
  if (q.startsWith('SHOW FIELD KEYS')) return mapSeries(expected, (s) => ({...s, values: s.values!.filter((r) => r[1] !== 'string').map((r) => [r[0], 'float'])}))
  // a string field is not there at all
  if (q.includes('uptime_format')) return {results: [{statement_id: 0}]}
  return expected
}

function mapSeries(body: InfluxQueryResponse, f: (s: NonNullable<NonNullable<InfluxQueryResponse['results']>[number]['series']>[number]) => NonNullable<NonNullable<InfluxQueryResponse['results']>[number]['series']>[number]): InfluxQueryResponse {
  const copy = structuredClone(body)
  for (const r of copy.results ?? []) if (r.series) r.series = r.series.map(f)
  return copy
}

function near(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
  return a === b
}

function assertSameJSON(actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: mon has ${JSON.stringify(actual)?.slice(0, 300)}, influxd an array ${JSON.stringify(expected).slice(0, 300)}`)
    assert.equal(actual.length, expected.length, `${path}: length: mon ${JSON.stringify(actual).slice(0, 600)}\ninfluxd ${JSON.stringify(expected).slice(0, 600)}`)
    for (let i = 0; i < expected.length; i++) assertSameJSON(actual[i], expected[i], `${path}[${i}]`)
    return
  }

  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${path}: mon has ${JSON.stringify(actual)?.slice(0, 300)}`)
    const ek = Object.keys(expected).sort()
    const ak = Object.keys(actual).sort()
    assert.deepEqual(ak, ek, `${path}: keys: mon ${JSON.stringify(actual).slice(0, 600)}\ninfluxd ${JSON.stringify(expected).slice(0, 600)}`)
    for (const k of ek) assertSameJSON((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`)
    return
  }

  assert.ok(near(actual, expected), `${path}: mon ${JSON.stringify(actual)} vs influxd ${JSON.stringify(expected)}`)
}

describe('InfluxQL: mon answers as influxd 1.x does', () => {
  let influxd: RunningServer
  let influxStore: InfluxStore
  let embedded: SqliteStore
  let victoria: RunningServer
  let vm: VictoriaMetricsStore
  const tmp = tempDir('mon-influxql-diff-')
  const now = T0 + 2 * HOUR
  const plans: QueryPlan[] = []

  before(async () => {
    influxd = await startInfluxd()
    const points = fixture()
    const create = await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: `CREATE DATABASE ${DB}`})})
    assert.equal(create.status, 200)
    const w = await fetch(`${influxd.url}/write?db=${DB}&precision=ms`, {method: 'POST', body: lineProtocol(points)})
    assert.equal(w.status, 204, await w.text())
    influxStore = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: DB}))
    embedded = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(now)})
    await embedded.write(points)
    victoria = await startVictoriaMetrics()
    vm = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: victoria.url}), {clock: new ManualClock(now)})
    const numeric = points.map((p) => ({...p, fields: Object.fromEntries(Object.entries(p.fields).filter(([, v]) => typeof v !== 'string'))}))
    await vm.write(numeric)
    await waitForVictoriaMetrics(victoria.url, numeric.reduce((n, p) => n + Object.keys(p.fields).length, 0))
  })

  after(async () => {
    await influxStore?.close()
    await embedded?.close()
    await influxd?.destroy()
    await vm?.close()
    await victoria?.destroy()
    tmp.cleanup()
  })

  async function influxAnswer(q: string, epoch?: Epoch): Promise<{status: number; body: InfluxQueryResponse}> {
    const params = new URLSearchParams({db: DB, q})
    if (epoch) params.set('epoch', epoch)
    const res = await fetch(`${influxd.url}/query?${params}`)
    return {status: res.status, body: (await res.json()) as InfluxQueryResponse}
  }

  const targets = (): Array<[string, InfluxQLTarget]> => [
    ['embedded', {store: embedded, databases: [DB], observe: (p) => plans.push(p)}],
    ['embedded, raw path', {store: embedded, databases: [DB], pushdown: false}],
    ['influxdb backend', {store: influxStore, databases: [DB]}],
    ['victoriametrics backend', {store: vm, databases: [DB]}],
  ]

  it(`has at least 60 statements`, () => {
    assert.ok(STATEMENTS.length >= 60, String(STATEMENTS.length))
  })

  for (const q of STATEMENTS) {
    it(q.replace(/\d{13}ms/g, 'T'), async () => {
      const expected = await influxAnswer(q)
      for (const [name, target] of targets()) {
        const actual = await runInfluxQL(target, {q, db: DB, now})
        const documented = DOCUMENTED[q]
        if (documented) {
          documented(expected.body, actual.body)
          continue
        }

        assert.equal(actual.status, expected.status, `${name}: status; mon ${JSON.stringify(actual.body).slice(0, 300)}, influxd ${JSON.stringify(expected.body).slice(0, 300)}`)
        const want = name.startsWith('victoriametrics') ? victoriaExpected(q, expected.body) : expected.body
        assertSameJSON(normalizeTies(actual.body), normalizeTies(structuredClone(want)), name)
      }
    })
  }

  for (const epoch of ['ns', 'u', 'ms', 's', 'm', 'h'] as Epoch[]) {
    it(`epoch=${epoch}`, async () => {
      const q = `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(20m), "host"; SELECT "load1" FROM "system" WHERE ${tf(T0, T0 + 180_000)}`
      const expected = await influxAnswer(q, epoch)
      const actual = await runInfluxQL({store: embedded, databases: [DB]}, {q, db: DB, now, epoch})
      assertSameJSON(actual.body, expected.body, `epoch=${epoch}`)
    })
  }

  /** requests that differ in db, params or q: [label, db, q, params] */
  const REQUESTS: Array<[string, string | undefined, string, Record<string, unknown>?]> = [
    ['SELECT without db', undefined, `SELECT mean("usage_user") FROM "cpu" WHERE ${R}`],
    ['SELECT on an unknown db', 'nope', `SELECT mean("usage_user") FROM "cpu" WHERE ${R}`],
    ['SHOW MEASUREMENTS without db', undefined, 'SHOW MEASUREMENTS'],
    ['SHOW MEASUREMENTS on an unknown db', 'nope', 'SHOW MEASUREMENTS'],
    ['SHOW TAG VALUES on an unknown db', 'nope', 'SHOW TAG VALUES WITH KEY = "host"'],
    ['SHOW TAG KEYS without db', undefined, 'SHOW TAG KEYS'],
    ['SHOW RETENTION POLICIES without db', undefined, 'SHOW RETENTION POLICIES'],
    ['SHOW DATABASES without db', undefined, 'SHOW DATABASES'],
    ['empty q', DB, ''],
    ['bound parameters', DB, `SELECT "usage_user" FROM "cpu" WHERE "host" = $host AND "cpu" = $cpu AND ${tf(T0, T0 + 30_000)}`, {host: 'a', cpu: 'cpu0'}],
    ['a missing parameter', DB, `SELECT "usage_user" FROM "cpu" WHERE "host" = $host`],
    ['a regex that does not compile', DB, `SELECT mean("usage_user") FROM "cpu" WHERE "host" =~ /(/`],
    ['a time that is not one', DB, `SELECT mean("usage_user") FROM "cpu" WHERE time > 'bad'`],
  ]

  for (const [label, db, q, params] of REQUESTS) {
    it(`request: ${label}`, async () => {
      const search = new URLSearchParams({q})
      if (db !== undefined) search.set('db', db)
      if (params) search.set('params', JSON.stringify(params))
      const res = await fetch(`${influxd.url}/query?${search}`)
      const expected = {status: res.status, body: (await res.json()) as InfluxQueryResponse}
      for (const [name, target] of targets()) {
        const actual = await runInfluxQL(target, {q, db, now, params})
        assert.equal(actual.status, expected.status, `${name}: ${JSON.stringify(actual.body)} vs ${JSON.stringify(expected.body)}`)
        assertSameJSON(actual.body, expected.body, name)
      }
    })
  }

  it('pushes GROUP BY time(d), tags with mean/sum/count/min/max down as aggregated plans', async () => {
    plans.length = 0
    await runInfluxQL({store: embedded, databases: [DB], observe: (p) => plans.push(p)}, {q: `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m), "host" fill(null)`, db: DB, now})
    assert.equal(plans.length, 1)
    assert.deepEqual(plans[0].aggregate, {fn: 'mean', by: ['host']})
    assert.equal(plans[0].every, 60_000)
    plans.length = 0
    await runInfluxQL({store: embedded, databases: [DB], pushdown: false, observe: (p) => plans.push(p)}, {q: `SELECT mean("usage_user") FROM "cpu" WHERE ${R} GROUP BY time(1m), "host" fill(null)`, db: DB, now})
    assert.equal(plans.length, 1)
    assert.equal(plans[0].aggregate, undefined)
  })
})
