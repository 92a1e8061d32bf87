/**
 * Stands in for `mon daemon` (not written yet) in the remote-API tests: a separate process that
 * serves the daemon's API server — createApiServer with the incident routes, as the daemon will
 * mount it — for a config file, and prints `{"listening": "<url>"}` once it accepts connections.
 *
 *   node incident-api-child.js <config.yaml>
 *
 * Token: api.token of the config, else MON_API_TOKEN. Without arguments (e.g. when a test runner
 * loads it) it does nothing.
 */
import {systemClock} from '../../src/core/clock.js'
import {loadConfig} from '../../src/core/config/load.js'
import {apiServerFromConfig} from '../../src/core/daemon/api.js'
import {localIncidentsFromConfig} from '../../src/core/incidents/index.js'
import {openStore} from '../../src/core/store/open.js'
import {createCliLogger} from '../../src/cli/log.js'

const [configPath] = process.argv.slice(2)
if (configPath) {
  const loaded = await loadConfig({path: configPath})
  const log = createCliLogger({level: 'info', format: 'json'})
  const store = await openStore(loaded.config.store, {dataDir: loaded.dataDir, retention: loaded.config.retention})
  const incidents = localIncidentsFromConfig({loaded, clock: systemClock, store, log})
  const api = apiServerFromConfig(loaded, {incidents, clock: systemClock, log})
  api.route('GET', '/healthz', () => ({json: {status: 'ok'}}), {auth: false})
  const {url} = await api.listen()
  process.stdout.write(JSON.stringify({listening: url}) + '\n')
  const stop = async () => {
    await api.close()
    await incidents.close()
    await store.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop())
  process.once('SIGINT', () => void stop())
}
