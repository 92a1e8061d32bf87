import {Flags} from '@oclif/core'
import {hostname} from 'node:os'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {createCliLogger} from '../cli/log.js'
import {handleSignals} from '../cli/signals.js'
import {openWriterConsumer, pipelineStatus} from '../core/cluster/jetstream-points.js'
import {memberId} from '../core/cluster/nats.js'
import type {PipelineStatus} from '../core/cluster/queue.js'
import {Relay, relayPoint, type RelayStats} from '../core/cluster/relay.js'
import {parseDuration} from '../core/config/duration.js'
import {STORE_SECTIONS} from '../core/config/load.js'
import {secretValues} from '../core/config/redact.js'
import {InputError} from '../core/errors.js'
import {plural} from '../core/format.js'
import {requireWritableStore} from '../core/store/open.js'

export type RelayResult = ({mode: 'status'} & PipelineStatus) | ({mode: 'run'; member: string; store: string} & RelayStats)

export default class RelayCommand extends BaseCommand {
  static override summary = 'Run a writer of the cluster pipeline: points stream → the store, acknowledged only once stored.'
  static override description = `The writer role of cluster mode (docs/cluster.md#pipeline). Agents with cluster.forward: true publish their spool to the JetStream points stream; any number of \`mon relay\` processes share one durable consumer, fetch batches of cluster.writer.batch messages, write them to the configured store (embedded, InfluxDB 1.x/2.x, VictoriaMetrics) and acknowledge them only after the store accepted them. A relay killed mid-batch loses nothing: the stream redelivers after cluster.writer.ack_wait, and the store overwrites the points it already had. While the store is down the relay retries with backoff and nothing is acknowledged.

Creates the points stream (or brings its limits to cluster.stream) and the writers' consumer if missing. Runs until SIGINT/SIGTERM, then finishes or gives back the batches in flight. --status prints the stream depth and the writers' lag and exits.

Exit status: 0 after a clean stop (or --status), 1 when NATS cannot be reached for --status, 2 on a bad config (cluster.enabled false, a read-only store).`
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> --config /etc/mon/writer.yaml',
    '<%= config.bin %> <%= command.id %> --status',
    '<%= config.bin %> <%= command.id %> --status --json | jq .lag',
    'systemd: ExecStart=/usr/bin/mon relay --config /etc/mon/writer.yaml   # run two or more, on any hosts',
  ]

  static override flags = {
    status: Flags.boolean({description: 'print the points stream depth and the writers lag (consumer pending + unacknowledged), then exit'}),
    'drain-timeout': Flags.string({description: 'at SIGTERM: how long batches being written may take before they are given back for redelivery', default: '10s'}),
    'report-every': Flags.string({description: 'how often to log the relay counters (and write them to the store as mon_internal,component=relay when agent.self_metrics is on)', default: '30s'}),
  }

  async run(): Promise<RelayResult> {
    const {flags} = await this.parse(RelayCommand)
    const drain = parseDuration(flags['drain-timeout'])
    const reportEvery = parseDuration(flags['report-every'])
    const ctx = await openContext(flags, {sections: [...STORE_SECTIONS, 'agent', 'cluster']})
    const {config} = ctx.loaded
    const cluster = config.cluster
    if (!cluster.enabled) throw new InputError('mon relay needs cluster mode: set cluster.enabled: true and cluster.nats.servers in the config', {hint: 'see docs/cluster.md#pipeline'})
    try {
      if (flags.status) {
        const status = await pipelineStatus(cluster)
        if (!this.jsonEnabled()) {
          this.log(`stream ${status.stream}: ${plural(status.messages, 'message')}, ${status.bytes} bytes of ${status.maxBytes}${status.leader ? `, leader ${status.leader}` : ''}`)
          this.log(`writers ${status.consumer}: lag ${status.lag} (${status.pending} pending, ${status.ackPending} unacknowledged), ${status.redelivered} redelivered, ${status.waiting} pulling${status.consumerMissing ? ' (no writer ran yet)' : ''}`)
        }
        return {mode: 'status', ...status}
      }
      requireWritableStore(config.store, 'store points from the cluster stream (mon relay)')
      const log = createCliLogger(config.log, {secrets: secretValues(ctx.loaded), debug: this.debugEnabled()}).child({component: 'relay'})
      const member = memberId(cluster, hostname(), 'writer')
      const signals = handleSignals()
      const abort = new AbortController()
      void signals.stopped.then(() => abort.abort())
      // NATS may not be up yet: wait for it, unless told to stop meanwhile
      const opened = await openWriterConsumer(cluster, member, {log, signal: abort.signal}).catch((err) => {
        if (abort.signal.aborted) return undefined
        throw err
      })
      if (!opened) {
        this.warnLine('stopped before NATS answered')
        return {mode: 'run', member, store: ctx.storeName, messages: 0, points: 0, batches: 0, redeliveries: 0, storeErrors: 0, fetchErrors: 0, rejectedMessages: 0, rejectedPoints: 0, storeUp: true, inflight: 0, byMember: {}}
      }
      const {consumer, recover} = opened
      const relay = new Relay({
        consumer,
        store: () => ctx.store(),
        clock: ctx.clock,
        log,
        batch: cluster.writer.batch,
        concurrency: cluster.writer.concurrency,
        ackWaitMs: parseDuration(cluster.writer.ack_wait),
        recover,
      })
      relay.start()
      this.warnLine(`relaying the points stream to ${ctx.storeName} as ${member} (batch ${cluster.writer.batch}, ${cluster.writer.concurrency} at once); SIGTERM stops`)
      const report = setInterval(() => {
        const s = relay.stats()
        log.info('relay', {messages: s.messages, points: s.points, redeliveries: s.redeliveries, storeErrors: s.storeErrors, fetchErrors: s.fetchErrors, rejected: s.rejectedPoints, storeUp: s.storeUp})
        // its own counters into the store it writes (mon_internal,component=relay), best effort
        if (config.agent.self_metrics && s.storeUp) {
          void ctx
            .store()
            .then((store) => store.write([relayPoint(s, {host: config.host, member}, ctx.clock.now())]))
            .catch(() => {})
        }
      }, reportEvery)
      const signal = await signals.stopped
      clearInterval(report)
      this.warnLine(`${signal}: stopping; finishing the batches in flight (up to ${flags['drain-timeout']})`)
      await relay.stop(drain)
      log.debug('relay stopped; closing the NATS connection')
      await consumer.close()
      log.debug('NATS connection closed; closing the store')
      const s = relay.stats()
      this.warnLine(`stored ${plural(s.points, 'point')} from ${plural(s.messages, 'message')} (${s.redeliveries} redelivered, ${s.storeErrors} store errors)`)
      return {mode: 'run', member, store: ctx.storeName, ...s}
    } finally {
      await ctx.close()
    }
  }
}
