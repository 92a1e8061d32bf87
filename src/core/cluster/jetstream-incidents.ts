import {DiscardPolicy, RetentionPolicy, StorageType, type NatsConnection} from 'nats'
import {parseDuration} from '../config/duration.js'
import {UserError, errorMessage} from '../errors.js'
import type {ClusterConfig} from './config.js'
import type {IncidentLog, IncidentLogInfo, LogEntry} from './incidents-log.js'
import {clusterNames} from './nats.js'

/**
 * The incident log on NATS JetStream: the stream `<NAME>_INCIDENTS` (subjects
 * `<name>.incidents.<kind>`), file storage, `cluster.stream.replicas` replicas, kept for
 * `rules.incident_retention`. Appends carry the event id as `Nats-Msg-Id`, so a publish retried
 * after a timeout is stored once; reads go by sequence to the stream leader (an ordered read that
 * needs no consumer state on the server), and a core subscription on the subjects wakes readers.
 */
export async function openJetStreamIncidentLog(nc: NatsConnection, cluster: ClusterConfig, opts: {maxAgeMs?: number} = {}): Promise<IncidentLog> {
  const names = clusterNames(cluster)
  const name = names.incidentsStream
  const timeout = parseDuration(cluster.nats.timeout)
  const jsm = await nc.jetstreamManager({timeout})
  const js = nc.jetstream({timeout})
  const config = {
    name,
    subjects: [names.incidentsSubjects],
    storage: StorageType.File,
    num_replicas: cluster.stream.replicas,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: (opts.maxAgeMs ?? 0) * 1_000_000,
    duplicate_window: parseDuration(cluster.stream.duplicate_window) * 1_000_000,
  }
  try {
    await jsm.streams.info(name)
  } catch (err) {
    if (!/not found/i.test(errorMessage(err))) throw err
    try {
      await jsm.streams.add(config)
    } catch (addErr) {
      // another daemon created it meanwhile
      if (!/already in use|exists/i.test(errorMessage(addErr))) {
        throw new UserError(`cannot create the incident stream ${name} on NATS: ${errorMessage(addErr)}`, {hint: `a replicated stream needs at least cluster.stream.replicas (${cluster.stream.replicas}) JetStream servers`})
      }
    }
  }

  return {
    name,
    async append(id, data) {
      const ack = await js.publish(names.incidentsSubject('event'), data, {msgID: id, expect: {streamName: name}})
      return ack.seq
    },
    async read(seq): Promise<LogEntry> {
      try {
        const m = await jsm.streams.getMessage(name, {seq})
        return {seq, data: m.data}
      } catch (err) {
        if (/no message found|not found/i.test(errorMessage(err))) return {seq, missing: true}
        throw err
      }
    },
    async info(): Promise<IncidentLogInfo> {
      const i = await jsm.streams.info(name)
      return {name, firstSeq: i.state.messages === 0 ? 0 : i.state.first_seq, lastSeq: i.state.last_seq, created: i.created}
    },
    watch(wake) {
      const sub = nc.subscribe(names.incidentsSubjects, {callback: () => wake()})
      return () => sub.unsubscribe()
    },
  }
}
