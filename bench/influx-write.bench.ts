/**
 * InfluxDB write throughput (issue #3): `mon`'s InfluxDB store writing into a real influxd, beside
 * a raw line-protocol POST of the same points to the same influxd's /write, in the same run. Goal:
 * mon ≥ 90 % of the raw POST. The method (bench/write-throughput.ts) is shared with
 * VictoriaMetrics' bench (vm-write.bench.ts).
 */
import {influxStoreSchema} from '../src/core/config/schema.js'
import {InfluxStore} from '../src/core/store/influx/store.js'
import {startInfluxd} from '../test/helpers/servers.js'
import {BATCH, CONCURRENCY, runWriteBenchAlone, writeBench} from './write-throughput.js'

const store = (url: string, gzip: boolean) =>
  new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url, database: 'bench', batch_size: BATCH, concurrency: CONCURRENCY, gzip}))

const bench = writeBench({
  bench: 'influx-write',
  issue: '#3',
  server: 'influxd',
  async start() {
    const influxd = await startInfluxd()
    const setup = store(influxd.url, false)
    await setup.init()
    await setup.close()
    return influxd
  },
  async openStore(url, gzip) {
    const s = store(url, gzip)
    await s.ready()
    return s
  },
  rawPath: '/write?db=bench&precision=ms',
})

export default bench

if (import.meta.url === `file://${process.argv[1]}`) await runWriteBenchAlone(bench)
