/**
 * VictoriaMetrics write throughput (issue #20): `mon`'s VictoriaMetrics store writing into a real
 * victoria-metrics (Debian's single node), beside a raw line-protocol POST of the same points to the
 * same server's /write, in the same run. Goal: mon ≥ 90 % of the raw POST. The method
 * (bench/write-throughput.ts) is the InfluxDB bench's.
 *
 * VictoriaMetrics answers 204 before the samples are searchable and skips lines it cannot parse
 * with a 204 too, so afterwards its own counters must show every sample of every run inserted and
 * added to storage, and no invalid line.
 */
import {victoriaMetricsStoreSchema} from '../src/core/config/schema.js'
import {VictoriaMetricsStore} from '../src/core/store/prom/store.js'
import {startVictoriaMetrics} from '../test/helpers/servers.js'
import {victoriaMetricsCounter as counter} from '../test/helpers/victoriametrics.js'
import {BATCH, CONCURRENCY, FIELDS_PER_POINT, runWriteBenchAlone, writeBench} from './write-throughput.js'

const bench = writeBench({
  bench: 'vm-write',
  issue: '#20',
  server: 'VictoriaMetrics',
  start: () => startVictoriaMetrics(),
  async openStore(url, gzip) {
    const s = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url, batch_size: BATCH, concurrency: CONCURRENCY, gzip}))
    await s.init()
    return s
  },
  rawPath: '/write?precision=ms',
  async verify(url, points) {
    const want = points * FIELDS_PER_POINT
    const inserted = await counter(url, 'vm_rows_inserted_total{type="influx"}')
    const invalid = await counter(url, 'vm_rows_invalid_total{type="influx"}')
    const stored = await counter(url, 'vm_rows_added_to_storage_total')
    if (inserted !== want || invalid !== 0 || stored !== want) {
      throw new Error(`VictoriaMetrics took ${inserted} samples (${stored} added to storage, ${invalid} invalid lines), expected ${want}: the figures would not be real`)
    }

    return `VictoriaMetrics' counters show all ${want.toLocaleString('en')} samples of the run inserted and added to storage, no invalid line.`
  },
})

export default bench

if (import.meta.url === `file://${process.argv[1]}`) await runWriteBenchAlone(bench)
