/**
 * The notifier lease (src/core/cluster/jetstream-ha-notify.ts) in-process against a real 3-node
 * NATS JetStream cluster, with each daemon's clock injected: one holder at a time, decided by the
 * stream; the holder's own clock fences it (valid until r + lease − margin, whatever its stale view
 * of the log says); a rival takes over only once the log's time passes the expiry.
 */
import assert from 'node:assert/strict'
import {after, before, it} from 'node:test'
import type {NatsConnection} from 'nats'
import {clusterSchema, type ClusterConfig} from '../../src/core/cluster/config.js'
import {JetStreamNotifier, leaseMargin} from '../../src/core/cluster/jetstream-ha-notify.js'
import {connectNats} from '../../src/core/cluster/nats.js'
import {ManualClock} from '../../src/core/clock.js'
import {buildNotification} from '../../src/core/notify/deliver/notification.js'
import {systemTimer} from '../../src/core/scheduler/timer.js'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {waitFor} from '../helpers/servers.js'

const LEASE_MS = 3000
let nats: NatsCluster
let cluster: ClusterConfig
const conns: NatsConnection[] = []
const notifiers: JetStreamNotifier[] = []

before(async () => {
  nats = await startNatsCluster(3)
  cluster = clusterSchema.parse({enabled: true, nats: {servers: nats.urls}, name: 'leasetest', ha: {enabled: true, lease: `${LEASE_MS}ms`}})
})

after(async () => {
  for (const n of notifiers) await n.stop().catch(() => {})
  for (const c of conns) await c.close().catch(() => {})
  await nats?.destroy()
})

async function notifier(member: string, clock: ManualClock): Promise<{n: JetStreamNotifier; nc: NatsConnection; changes: boolean[]}> {
  const nc = await connectNats(cluster.nats, {name: `test-${member}`})
  conns.push(nc)
  const changes: boolean[] = []
  const n = new JetStreamNotifier({nc, cluster, member, clock, timer: systemTimer, onActiveChange: (a) => changes.push(a)})
  notifiers.push(n)
  await n.start()
  return {n, nc, changes}
}

const row = () => {
  const notification = buildNotification({kind: 'firing', receiver: 'pager', groupKey: '{}:{job="x"}', groupLabels: {job: 'x'}, alerts: [], now: 0})
  notification.routeId = '0'
  return {seq: 1, id: notification.id, notification, receiver: 'pager', channel: 'webhook[0]', channelType: 'webhook', attempts: 0}
}

it('one holder decided by the stream, fenced by its own clock, taken over after the log says it expired', {timeout: 120_000}, async () => {
  const t0 = Date.now()
  const clockA = new ManualClock(t0)
  const a = await notifier('A', clockA)
  await waitFor(async () => a.n.isActive(), 'A holds the lease', 30_000)
  assert.deepEqual(a.changes, [true])

  // a rival that starts later reads the same log, agrees and does not claim while it is live
  const clockB = new ManualClock(t0)
  const b = await notifier('B', clockB)
  await waitFor(async () => b.n.facts().caughtUp && b.n.ledger.lastSeq >= a.n.ledger.lastSeq && b.n.ledger.holder !== undefined, 'B caught up', 30_000)
  assert.equal(b.n.ledger.holder?.member, 'A')
  assert.equal(b.n.isActive(), false)
  assert.equal(b.n.before(row()), undefined, 'B may not send')

  // A's clock is frozen at t0: every renew it publishes is valid until t0 + lease − margin, by its clock
  const validUntil = t0 + LEASE_MS - leaseMargin(LEASE_MS)
  assert.equal(a.n.isActive(validUntil - 1), true)
  assert.equal(a.n.isActive(validUntil), false)
  const stamp = a.n.before(row())
  assert.match(stamp?.dedupKey ?? '', /^[0-9a-f]{32}$/)

  // A is cut off (its connection closes: no more renewals) — its own view of the log still says it
  // holds the lease, but its clock says the lease ran out: it stops sending by itself
  await a.nc.close()
  clockA.set(validUntil)
  assert.equal(a.n.ledger.holder?.member, 'A', 'the stale view')
  assert.equal(a.n.before(row()), undefined, 'fenced by its own clock')

  // B claims once its clock passes the expiry (here: far past it, so it keeps claiming); the stream
  // accepts a claim only once the log's own time is past A's last renew + lease: then B holds the
  // lease in a new term
  const termA = b.n.ledger.holder!.term
  clockB.set(t0 + 60_000)
  await waitFor(async () => b.n.isActive(), 'B takes over', 30_000)
  assert.equal(b.n.ledger.holder?.member, 'B')
  assert.ok(b.n.ledger.holder!.term > termA)
  assert.deepEqual(b.changes, [true])
})
