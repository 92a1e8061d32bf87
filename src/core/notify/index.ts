/**
 * Notifications: what other modules use. The daemon builds a {@link Dispatcher} (an AlertSink the
 * engine pushes to, ticked on a timer); the incident workflow uses {@link Silences},
 * {@link enqueueAcknowledgement} / Dispatcher.notifyAcknowledged, {@link Outbox.deliveriesFor} and
 * provides an {@link AckState}.
 */
import {systemClock, type Clock} from '../clock.js'
import type {LoadedConfig} from '../config/load.js'
import {secretValues} from '../config/redact.js'
import type {Logger} from '../log.js'
import {openMemoryStateDb, openStateDb, type StateDb} from '../state/db.js'
import {Dispatcher} from './deliver/dispatcher.js'
import {NOTIFY_MIGRATIONS} from './migrations.js'
import {compileNotify, type CompiledNotify} from './notifier.js'
import {dbThreadStore} from './threads.js'
import type {AckState} from './types.js'
import type {SendGate} from './deliver/sender.js'

export {enqueueAcknowledgement} from './deliver/ack.js'
export {CHANNELS, CHANNEL_TYPES, type ChannelType} from './channels/registry.js'
export {literalSecretProblems, notifyConfigSchema, type NotifyConfig, type ReceiverConfig, type RouteConfig} from './config.js'
export {Dispatcher, type DispatcherOptions, type TickResult} from './deliver/dispatcher.js'
export {NOTIFY_MIGRATIONS} from './migrations.js'
export {compileNotify, type ChannelInstance, type CompiledNotify} from './notifier.js'
export {Outbox, type OutboxItem, type OutboxSelector} from './deliver/outbox.js'
export {explainRoutes, routeTree, type RouteMatchView, type RoutesExplanation, type RouteView} from './route/routes-explain.js'
export {Sender, senderRetryPolicy, type FlushResult, type SenderPolicy} from './deliver/sender.js'
export {formatMatchers, Silences, silenceState, type NewSilence, type Silence, type SilenceState} from './mute/silences.js'
export {previewTestNotification, sendTestNotification, type PreviewChannel, type PreviewResult, type TestChannelResult, type TestResult} from './deliver/test-notification.js'
export * from './types.js'

/** state.db with the notifier's tables. */
export function openNotifyDb(dataDir: string): StateDb {
  return openStateDb(dataDir, NOTIFY_MIGRATIONS)
}

/** The same tables in memory and empty: a view of a data dir that does not exist creates nothing. */
export function openMemoryNotifyDb(): StateDb {
  return openMemoryStateDb(NOTIFY_MIGRATIONS)
}

/** The notify config compiled against a state.db (Slack threads persist there), secrets known for redaction. */
export function compileFromConfig(loaded: LoadedConfig, opts: {db?: StateDb; log?: Logger} = {}): CompiledNotify {
  return compileNotify(loaded.config.notify, {threads: opts.db ? dbThreadStore(opts.db) : undefined, secrets: secretValues(loaded), log: opts.log})
}

/** The daemon's one call: a dispatcher for the loaded config. */
export function createDispatcher(opts: {loaded: LoadedConfig; db?: StateDb; clock?: Clock; log?: Logger; ackState?: AckState; gate?: SendGate}): Dispatcher {
  const db = opts.db ?? openNotifyDb(opts.loaded.dataDir)
  const clock = opts.clock ?? systemClock
  return new Dispatcher({
    notify: compileFromConfig(opts.loaded, {db, log: opts.log}),
    db,
    clock,
    log: opts.log,
    ackState: opts.ackState,
    secrets: secretValues(opts.loaded),
    gate: opts.gate,
  })
}
export {parseLabelSet} from './labels.js'
