import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {createCliLogger} from '../cli/log.js'
import {handleSignals} from '../cli/signals.js'
import {loadConfig, type LoadedConfig} from '../core/config/load.js'
import {parseDuration} from '../core/config/duration.js'
import {secretValues} from '../core/config/redact.js'
import type {LogConfig} from '../core/config/schema.js'
import {createDaemon} from '../core/daemon/daemon.js'
import {plural} from '../core/format.js'

export default class Daemon extends BaseCommand {
  static override summary = 'Run collection, alerting, notifications and the HTTP API in one long-running process.'
  static override description = `Inputs on their schedules → spool → store; rule groups on their interval or cron expression; notifications through the outbox; the API on api.listen (alerts under /api/v1 with the bearer token, /healthz, /metrics); the embedded store's retention pass every 5 minutes.

Signals: SIGHUP re-reads the config and rule files and applies them only if all are valid (otherwise the error is logged with file:line:col and the old ones keep running); SIGTERM or SIGINT stop gracefully within --shutdown-timeout (evaluations finish, the spool is flushed to the store, notifications in flight are finished) and exit 0; a second one exits at once.

One daemon per data directory (daemon.pid); its status is in daemon.json there and from \`mon status\`. Logs go to stderr: text on a terminal, JSON lines otherwise. See docs/daemon.md.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml --log-format json',
    '<%= config.bin %> <%= command.id %> --log-level debug',
    'kill -HUP $(cat ~/.local/share/mon/daemon.pid)   # reload config and rules',
    '<%= config.bin %> <%= command.id %> --check   # validate config and rule files, then exit',
  ]

  static override flags = {
    'log-format': Flags.string({description: 'text, JSON lines, or auto (text on a terminal); default: log.format from the config', options: ['text', 'json', 'auto']}),
    'log-level': Flags.string({description: 'least severe level logged; default: log.level from the config', options: ['debug', 'info', 'warn', 'error']}),
    'shutdown-timeout': Flags.string({description: 'on SIGTERM/SIGINT, how long to keep flushing the spool and sending notifications', default: '30s'}),
    check: Flags.boolean({description: 'load and check the config and rule files, print what would run, and exit'}),
    optimize: Flags.boolean({description: "keep V8's defaults (optimizing compiler from the start, heap growth, no periodic full GC): a few MB more memory (off by default: the daemon mostly waits; the push listener turns the compiler on when it starts; see docs/daemon.md#memory)"}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Daemon)
    const shutdownMs = parseDuration(flags['shutdown-timeout'])
    const load = () => loadConfig({path: flags.config})
    const loaded = await load()
    const logConfig = (l: LoadedConfig): Pick<LogConfig, 'level' | 'format'> => ({
      level: (flags['log-level'] as LogConfig['level'] | undefined) ?? l.config.log.level,
      format: (flags['log-format'] as LogConfig['format'] | undefined) ?? l.config.log.format,
    })
    const makeLogger = (l: LoadedConfig) => createCliLogger(logConfig(l), {secrets: secretValues(l), debug: this.debugEnabled()})

    if (flags.check) {
      const {loadRuleFiles} = await import('../core/alerting/rules.js')
      const {buildInputs, collectorContext} = await import('../core/collectors/registry.js')
      const groups = await loadRuleFiles(loaded.config.rules.files, {defaultInterval: loaded.config.rules.default_interval})
      const inputs = buildInputs(loaded.config, collectorContext(loaded.config, loaded.dataDir, {now: Date.now}, makeLogger(loaded)))
      this.log(`config ${loaded.file ?? '(defaults)'}: ok`)
      this.log(`${plural(inputs.length, 'input')}, ${plural(groups.length, 'rule group')} (${plural(groups.reduce((n, g) => n + g.rules.length, 0), 'rule')}), api on ${loaded.config.api.listen}, data dir ${loaded.dataDir}`)
      return
    }

    const log = makeLogger(loaded)
    const daemon = createDaemon({loaded, loadConfig: load, log, makeLogger, version: this.config.version})
    // a stop signal that arrives while starting is acted on once it has started; a SIGHUP then is ignored
    const signals = handleSignals({
      onReload() {
        if (daemon.state === 'running') void daemon.reload()
      },
    })
    try {
      await daemon.start()
      const stopSignal = await signals.stopped
      log.info(`${stopSignal}: stopping`, {within: flags['shutdown-timeout'], again: 'exits at once'})
      // exit 0 even if the deadline cut the flush short: what is left waits in the spool and the outbox
      await daemon.stop(shutdownMs)
    } finally {
      signals.dispose()
      // a lingering handle (a keep-alive socket, a slow channel) must not keep a stopped daemon alive
      setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref()
    }
  }
}
