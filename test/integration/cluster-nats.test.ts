/**
 * The 3-node JetStream cluster the cluster-mode tests run on (test/helpers/nats.ts), and mon's one
 * NATS connection (src/core/cluster/nats.ts) against it: a replicated file stream deduplicates a
 * republished message id, keeps taking publishes when its leader is SIGKILLed, and the restarted
 * node catches up.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {RetentionPolicy, StorageType, type NatsConnection} from 'nats'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {clusterNames, connectNats} from '../../src/core/cluster/nats.js'
import {clusterSchema} from '../../src/core/cluster/config.js'

describe('cluster: a real 3-node nats-server JetStream cluster', () => {
  let cluster: NatsCluster
  let nc: NatsConnection

  before(async () => {
    cluster = await startNatsCluster(3)
    const cfg = clusterSchema.parse({enabled: true, nats: {servers: cluster.urls}, name: 'itest'})
    nc = await connectNats(cfg.nats, {name: 'mon-test'})
  })

  after(async () => {
    await nc?.close()
    await cluster?.destroy()
  })

  it('replicates a file stream 3 ways, dedups message ids, survives a SIGKILLed leader', async () => {
    const names = clusterNames({name: 'itest'})
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({
      name: names.pointsStream,
      subjects: [names.pointsSubjects],
      storage: StorageType.File,
      num_replicas: 3,
      retention: RetentionPolicy.Limits,
      duplicate_window: 60_000_000_000,
    })
    const js = nc.jetstream()
    const first = await js.publish(names.pointsSubject('a1'), new TextEncoder().encode('x v=1 1'), {msgID: 'a1-1'})
    const again = await js.publish(names.pointsSubject('a1'), new TextEncoder().encode('x v=1 1'), {msgID: 'a1-1'})
    assert.equal(first.duplicate, false)
    assert.equal(again.duplicate, true)
    assert.equal(again.seq, first.seq)

    const leader = await cluster.streamLeader(names.pointsStream)
    assert.ok(leader, 'the stream has a leader')
    await cluster.node(leader).kill()
    // a new leader is elected among the other two; publishes go on (the client retries until then)
    let ack
    for (let i = 0; i < 100 && !ack; i++) {
      try {
        ack = await js.publish(names.pointsSubject('a1'), new TextEncoder().encode('x v=2 2'), {msgID: 'a1-2', timeout: 2000})
      } catch {
        await new Promise((r) => setTimeout(r, 200))
      }
    }

    assert.ok(ack, 'a publish after the leader died is acknowledged')
    const newLeader = await cluster.streamLeader(names.pointsStream)
    assert.ok(newLeader && newLeader !== leader, `a new leader (was ${leader}, now ${newLeader})`)

    await cluster.node(leader).restart()
    const info = await jsm.streams.info(names.pointsStream)
    assert.equal(info.state.messages, 2)
    assert.equal(info.cluster?.replicas?.length, 2, 'two followers besides the leader')
  })
})
