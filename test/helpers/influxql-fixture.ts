/**
 * The fixture and statements test/integration/influxql-cli.test.ts sends through the `influx` CLI
 * to mon and to influxd: fixed timestamps, deterministic values, every statement with its range.
 */
export const T0 = Date.UTC(2026, 0, 1) // ms
export const STEP = 10_000
export const N = 90 // 15 minutes at 10 s
export const HOSTS = ['web-1', 'web-2', 'db-1']

/** Deterministic values: no randomness, a little structure per host so aggregates differ. */
export function fixture(): string {
  const lines: string[] = []
  HOSTS.forEach((host, h) => {
    const region = h < 2 ? 'eu' : 'us'
    let bytes = 1_000_000 * (h + 1)
    for (let i = 0; i < N; i++) {
      const ns = BigInt(T0 + i * STEP) * 1_000_000n
      const user = ((i * 7 + h * 13) % 50) + 0.25 * h
      const system = ((i * 3 + h * 5) % 20) + 0.5
      lines.push(`cpu,host=${host},region=${region},cpu=cpu-total usage_user=${user},usage_system=${system},usage_idle=${100 - user - system} ${ns}`)
      if (i % 3 === 0) lines.push(`mem,host=${host},region=${region} used_percent=${40 + ((i + h * 11) % 30) / 2},used=${(4 + h) * 1_000_000_000 + i * 1000}i ${ns}`)
      bytes += 1000 * ((i % 5) + h)
      lines.push(`net,host=${host},interface=eth0 bytes_recv=${bytes}i ${ns}`)
    }
  })
  return lines.join('\n') + '\n'
}

export const RANGE = `time >= ${T0}ms AND time < ${T0 + N * STEP}ms`
export const RFC_RANGE = `time >= '2026-01-01T00:00:00Z' AND time <= '2026-01-01T00:14:50Z'`

export const SHOWS = [
  'SHOW DATABASES',
  'SHOW MEASUREMENTS',
  'SHOW TAG VALUES WITH KEY = "host"',
  'SHOW TAG VALUES FROM "cpu" WITH KEY = "region"',
  'SHOW TAG VALUES FROM "cpu" WITH KEY IN ("host", "region")',
  'SHOW TAG KEYS FROM "cpu"',
  'SHOW FIELD KEYS FROM "mem"',
  'SHOW MEASUREMENTS WITH MEASUREMENT =~ /^(cpu|mem)$/',
]

export const SELECTS = [
  `SELECT mean("usage_user") FROM "cpu" WHERE ${RANGE} GROUP BY time(1m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ${RANGE} GROUP BY time(5m), "host" fill(null)`,
  `SELECT max("usage_user"), min("usage_user") FROM "cpu" WHERE "host" = 'web-1' AND ${RANGE}`,
  `SELECT last("usage_system") FROM "cpu" WHERE ${RANGE} GROUP BY "host"`,
  `SELECT first("usage_user") FROM "cpu" WHERE ${RFC_RANGE} GROUP BY "host"`,
  `SELECT count("usage_user") FROM "cpu" WHERE ${RANGE} GROUP BY time(2m) fill(0)`,
  `SELECT mean("used_percent") FROM "mem" WHERE "host" =~ /^web-(1|2)$/ AND ${RANGE} GROUP BY time(1m), "host" fill(null)`,
  `SELECT sum("usage_user") FROM "cpu" WHERE "host" != 'db-1' AND ${RANGE} GROUP BY time(5m)`,
  // percentile is a selector: its time is the chosen point's, and among equal values influxd's pick
  // follows Go's unstable sort — so a field without repeated values (usage_user repeats)
  `SELECT percentile("used", 90) FROM "mem" WHERE ${RANGE} GROUP BY "host"`,
  `SELECT derivative(mean("usage_user"), 1m) FROM "cpu" WHERE "host" = 'web-2' AND ${RANGE} GROUP BY time(1m)`,
  `SELECT non_negative_derivative(max("bytes_recv"), 1s) FROM "net" WHERE ${RANGE} GROUP BY time(1m), "host"`,
  `SELECT difference(mean("usage_user")) FROM "cpu" WHERE "region" = 'eu' AND ${RANGE} GROUP BY time(3m)`,
  `SELECT mean("usage_user") FROM "cpu" WHERE ("host" = 'web-1' OR "host" = 'db-1') AND ${RANGE} GROUP BY time(1m) fill(previous) LIMIT 4`,
  `SELECT mean("usage_user") + mean("usage_system") FROM "cpu" WHERE "host" = 'web-1' AND ${RANGE} GROUP BY time(5m)`,
  `SELECT "usage_user" FROM "cpu" WHERE "host" = 'db-1' AND ${RANGE} LIMIT 5`,
  `SELECT max("used") FROM "mem" WHERE ${RANGE} GROUP BY time(5m), "host" SLIMIT 2`,
]

