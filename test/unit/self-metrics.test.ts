import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {selfMetricsPoints} from '../../src/core/pipeline/self-metrics.js'
import {Spool} from '../../src/core/pipeline/spool.js'
import type {WriterStats} from '../../src/core/pipeline/writer.js'
import {tempDir} from '../helpers/servers.js'

const writer: WriterStats = {batches: 0, points: 0, errors: 0, rejected: 0, rejectedPoints: 0, mergedPoints: 0, storeUp: true, writtenByInput: {}, latency: {count: 0, sumMs: 0, maxMs: 0}}

describe('self-metrics: mon_internal,component=spool', () => {
  const tmp = tempDir('mon-self-metrics-')
  after(() => tmp.cleanup())

  it('carries disk_full and held_points (a full disk is visible in mon_internal, not only in the log)', async () => {
    const clock = new ManualClock(1_700_000_000_000)
    const spool = Spool.open({dir: join(tmp.dir, 'spool'), maxBytes: 1 << 30, segmentBytes: 1 << 20, fsync: 'never', clock})
    try {
      const spoolFields = (status = spool.status(), heldPoints?: number) =>
        selfMetricsPoints({now: clock.now(), startedAt: clock.now(), inputs: [], spool: status, heldPoints, writer, latency: writer.latency}).find((p) => p.tags.component === 'spool')!.fields
      const normal = spoolFields()
      assert.deepEqual([normal.disk_full, normal.held_points], [false, 0n])
      // ENOSPC itself is produced on a real tmpfs by test/integration/chaos-disk-full.test.ts
      const full = spoolFields({...spool.status(), diskFull: true}, 1200)
      assert.deepEqual([full.disk_full, full.held_points], [true, 1200n])
    } finally {
      await spool.close()
    }
  })
})
