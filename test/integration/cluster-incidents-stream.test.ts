/**
 * The shared incident service (src/core/cluster/incidents-service.ts) on a real 3-node nats-server
 * JetStream cluster, two members in one process with their own state.db: two acks started in the
 * same tick both pass their member's local check and both reach the stream — the stream's order
 * picks the winner, the same on both members, and the loser is told who won. The stream survives
 * its leader being SIGKILLed, and the members apply what was appended meanwhile.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {AlertStateWriter} from '../../src/core/alerting/persist.js'
import type {Alert} from '../../src/core/alerting/types.js'
import {systemClock} from '../../src/core/clock.js'
import {clusterSchema} from '../../src/core/cluster/config.js'
import {openSharedIncidents, type SharedIncidentsHandle} from '../../src/core/cluster/incidents.js'
import {clusterNames} from '../../src/core/cluster/nats.js'
import {IncidentConflictError} from '../../src/core/incidents/errors.js'
import {LocalIncidents} from '../../src/core/incidents/service.js'
import {STATE_MIGRATIONS} from '../../src/core/incidents/store.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {tempDir} from '../helpers/servers.js'

const FP = 'aaaa000000000001'
const LABELS = {alertname: 'HighLoad', host: 'web-2', severity: 'critical'}

interface Member {
  db: StateDb
  local: LocalIncidents
  shared: SharedIncidentsHandle
}

describe('cluster: shared incidents on a real JetStream cluster', {timeout: 120_000}, () => {
  let nats: NatsCluster
  const tmp = tempDir('mon-incidents-stream-')
  const members: Member[] = []
  const cluster = () => clusterSchema.parse({enabled: true, name: 'istream', nats: {servers: nats.urls, timeout: '2s'}, ha: {enabled: true}})

  const member = async (name: string, activeAt: number): Promise<Member> => {
    const db = openStateDb(`${tmp.dir}/${name}`, STATE_MIGRATIONS)
    const alert: Alert = {fingerprint: FP, group: 'load', labels: LABELS, annotations: {}, state: 'firing', value: 95, activeAt, firedAt: activeAt, lastEvalAt: Date.now(), rule: 'load/HighLoad'}
    new AlertStateWriter(db).save([alert], [], [])
    const local = new LocalIncidents({db, clock: systemClock})
    const shared = await openSharedIncidents({cluster: {...cluster(), member: name}, local: () => local, db, clock: systemClock, role: 'daemon'})
    const m = {db, local, shared}
    members.push(m)
    return m
  }

  before(async () => {
    nats = await startNatsCluster(3)
  })
  after(async () => {
    for (const m of members) {
      await m.shared.close()
      m.db.close()
    }
    await nats?.destroy()
    tmp.cleanup()
  })

  it('two acks in the same tick through two members: both reach the stream, the first in it wins on both', async () => {
    const now = Date.now()
    const x = await member('x', now - 60_000)
    const y = await member('y', now - 55_000)
    const settled = await Promise.allSettled([x.shared.service.ack(FP, {by: 'xavier', comment: 'mine'}), y.shared.service.ack(FP, {by: 'yolanda'})])
    const info = await x.shared.sync.refresh()
    assert.equal(info.streamSeq, 2, 'both acks were appended (neither was refused by its member before the stream decided)')
    const won = settled.findIndex((s) => s.status === 'fulfilled')
    const lost = settled.findIndex((s) => s.status === 'rejected')
    assert.ok(won >= 0 && lost >= 0, JSON.stringify(settled.map((s) => s.status)))
    const winner = won === 0 ? 'xavier' : 'yolanda'
    const error = (settled[lost] as PromiseRejectedResult).reason as Error
    assert.ok(error instanceof IncidentConflictError, String(error))
    assert.match(error.message, new RegExp(`^HighLoad \\{host=web-2, severity=critical\\} is already acknowledged by ${winner} `))
    for (const m of [x, y]) {
      await m.shared.sync.catchUp()
      const v = await m.local.get(FP)
      assert.equal(v.ackedBy, winner)
      assert.equal(v.incident?.id, 1, 'the incident is the stream sequence of its first event on both')
      assert.deepEqual(m.shared.sync.facts().lag, 0)
    }
  })

  it('the stream leader SIGKILLed: appends resume under a new leader; every member applies them', async () => {
    const [x, y] = members as [Member, Member]
    const leader = await nats.streamLeader(clusterNames({name: 'istream'}).incidentsStream)
    assert.ok(leader)
    await nats.node(leader).kill()
    // the client's request fails while the remaining two elect a leader: the caller is told (exit 1) and tries again
    let done = false
    let last = ''
    for (let attempt = 0; attempt < 60 && !done; attempt++) {
      try {
        await y.shared.service.comment(FP, {by: 'yolanda', comment: 'leader gone'})
        done = true
      } catch (err) {
        last = String(err)
        assert.match(last, /cannot record the comment in the cluster's incident stream|cannot read the stream back/)
        await new Promise((r) => setTimeout(r, 500))
      }
    }
    assert.ok(done, `a comment was appended under the new leader (last error: ${last})`)
    await nats.node(leader).restart()
    await x.shared.sync.catchUp()
    const timeline = (await x.local.get(FP)).timeline
    assert.ok(timeline.some((e) => e.kind === 'comment' && e.comment === 'leader gone' && e.source === 'local via y'), JSON.stringify(timeline))
  })
})
