/**
 * The daemon's component coordinator (src/core/daemon/component.ts): start order, stop in reverse
 * stages, a failed start undone, a reload refused by the first component vs applied in part, and
 * status assembled from the components. The components here are small recorders, not the daemon's.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ComponentApplyError, ComponentSet, type DaemonComponent} from '../../src/core/daemon/component.js'
import {InputError} from '../../src/core/errors.js'

type Cfg = {version: number}

function recorder(name: string, events: string[], behaviour: {failStart?: boolean; failApply?: Error; stopGate?: Promise<void>} = {}): DaemonComponent<Cfg> {
  let running: Cfg | undefined
  return {
    name,
    check(next) {
      events.push(`${name}.check ${next.version}`)
    },
    async start(cfg) {
      events.push(`${name}.start ${cfg.version}`)
      if (behaviour.failStart) throw new Error(`${name} cannot start`)
      running = cfg
    },
    async apply(next, prev) {
      events.push(`${name}.apply ${prev.version}→${next.version}`)
      if (behaviour.failApply) throw behaviour.failApply
      running = next
      return `${name}: v${next.version}`
    },
    async stop() {
      events.push(`${name}.stop begins`)
      await behaviour.stopGate
      events.push(`${name}.stop ends`)
    },
    status: () => ({configFile: `${name} runs v${running?.version}`, dataDir: name}),
  }
}

describe('daemon components', () => {
  it('starts stage by stage in order and stops the stages in reverse, a stage at once', async () => {
    const events: string[] = []
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const set = new ComponentSet<Cfg>([[recorder('collection', events, {stopGate: gate}), recorder('notify', events)], [recorder('rules', events)]])
    await set.start({version: 1}, () => 0)
    assert.deepEqual(events, ['collection.start 1', 'notify.start 1', 'rules.start 1'])

    events.length = 0
    const stopping = set.stop(0)
    // notify's stop begins while collection's has not ended: one stage stops at once
    while (!events.includes('notify.stop ends')) await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(events, ['rules.stop begins', 'rules.stop ends', 'collection.stop begins', 'notify.stop begins', 'notify.stop ends'])
    open()
    await stopping
    assert.equal(events.at(-1), 'collection.stop ends')
  })

  it('a failed start stops what had started, in reverse, and rethrows', async () => {
    const events: string[] = []
    const set = new ComponentSet<Cfg>([[recorder('collection', events), recorder('notify', events)], [recorder('api', events, {failStart: true})], [recorder('retention', events)]])
    await assert.rejects(set.start({version: 1}, () => 0), /api cannot start/)
    assert.deepEqual(events, [
      'collection.start 1',
      'notify.start 1',
      'api.start 1',
      'collection.stop begins',
      'notify.stop begins',
      'collection.stop ends',
      'notify.stop ends',
    ])
  })

  it('checks every component before any applies, in start order', async () => {
    const events: string[] = []
    const set = new ComponentSet<Cfg>([[recorder('a', events)], [recorder('b', events)]])
    set.check({version: 2})
    assert.deepEqual(events, ['a.check 2', 'b.check 2'])
  })

  it('a reload the first component refuses changes nothing: the error names the component', async () => {
    const events: string[] = []
    const refusing = recorder('inputs', events, {failApply: new InputError('http:api: bad url', {hint: 'use http://host/path'})})
    const set = new ComponentSet<Cfg>([[refusing, recorder('rules', events)]])
    await set.start({version: 1}, () => 0)
    events.length = 0
    const err = await set.apply({version: 2}, {version: 1}).then(
      () => assert.fail('the reload was applied'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof ComponentApplyError)
    assert.equal(err.component, 'inputs')
    assert.equal(err.message, 'inputs: http:api: bad url\nhint: use http://host/path')
    assert.deepEqual(events, ['inputs.apply 1→2'])
    assert.equal(set.status().configFile, 'rules runs v1')
  })

  it('a later component that fails is a problem; the others still apply', async () => {
    const events: string[] = []
    const set = new ComponentSet<Cfg>([[recorder('inputs', events), recorder('api', events, {failApply: new Error('listen EADDRINUSE; still serving on http://127.0.0.1:9464')})], [recorder('rules', events)]])
    await set.start({version: 1}, () => 0)
    const outcome = await set.apply({version: 2}, {version: 1})
    assert.deepEqual(outcome, {changes: ['inputs: v2', 'rules: v2'], problems: ['api: listen EADDRINUSE; still serving on http://127.0.0.1:9464']})
  })

  it('assembles status from the components, later ones over earlier ones', async () => {
    const set = new ComponentSet<Cfg>([[recorder('a', [])], [recorder('b', [])]])
    await set.start({version: 3}, () => 0)
    assert.deepEqual(set.status(), {configFile: 'b runs v3', dataDir: 'b'})
  })
})
