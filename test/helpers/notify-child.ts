/**
 * A separate mon process for the outbox crash test: it opens state.db, (optionally) pushes one
 * firing alert, and ticks the dispatcher every 50 ms until it is killed.
 *
 *   node notify-child.js <config.yaml> <data dir> enqueue|resume
 *
 * Without arguments (e.g. when a test runner loads it) it does nothing.
 */
import {systemClock} from '../../src/core/clock.js'
import {loadConfig} from '../../src/core/config/load.js'
import {createDispatcher, openNotifyDb} from '../../src/core/notify/index.js'

const [configPath, dataDir, mode] = process.argv.slice(2)
if (configPath && dataDir) {
  const loaded = await loadConfig({path: configPath})
  const db = openNotifyDb(dataDir)
  const dispatcher = createDispatcher({loaded, db, clock: systemClock})
  if (mode === 'enqueue') {
    const now = Date.now()
    dispatcher.push([{fingerprint: 'f00dfeedf00dfeed', group: 'g', labels: {alertname: 'CrashTest', severity: 'critical'}, annotations: {summary: 'crash test'}, state: 'firing', value: 1, activeAt: now, firedAt: now, lastEvalAt: now}], now)
  }
  for (;;) {
    const r = await dispatcher.tick()
    process.stdout.write(JSON.stringify(r) + '\n')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
