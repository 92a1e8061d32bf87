/**
 * The pure parts of the server-socket limits: the per-source auth throttle (table-driven, an
 * injected time — no clock at all), max_connections against the open-files limit, and the limit
 * the systemd unit gives the daemon.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {DEFAULT_MAX_CONNECTIONS} from '../../src/core/config/schema.js'
import {systemdUnit, UNIT_NOFILE_LIMIT} from '../../src/core/daemon/install.js'
import {AuthThrottle, retryAfterSeconds} from '../../src/core/server/auth-throttle.js'
import {effectiveMaxConnections, openFileLimit, RESERVED_FILES, sourceKey} from '../../src/core/server/socket.js'

const OPTS = {maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000, maxSources: 4}

describe('AuthThrottle', () => {
  // each step: [time, source, 'fail' | 'check'], and what it must say
  const cases: Array<{name: string; steps: Array<[number, string, 'fail' | 'check', {lockedOut?: boolean; lockedFor?: number}]>}> = [
    {
      name: 'the 3rd failure within the window locks the source out for lockoutMs',
      steps: [
        [0, 'a', 'fail', {lockedOut: false}],
        [1_000, 'a', 'fail', {lockedOut: false}],
        [2_000, 'a', 'check', {lockedFor: 0}],
        [2_000, 'a', 'fail', {lockedOut: true}],
        [2_000, 'a', 'check', {lockedFor: 30_000}],
        [31_999, 'a', 'check', {lockedFor: 1}],
        [32_000, 'a', 'check', {lockedFor: 0}],
      ],
    },
    {
      name: 'failures spread beyond the window never lock',
      steps: [
        [0, 'a', 'fail', {lockedOut: false}],
        [30_000, 'a', 'fail', {lockedOut: false}],
        [60_000, 'a', 'fail', {lockedOut: false}],
        [61_000, 'a', 'check', {lockedFor: 0}],
      ],
    },
    {
      name: 'after a lockout the count starts again',
      steps: [
        [0, 'a', 'fail', {}],
        [0, 'a', 'fail', {}],
        [0, 'a', 'fail', {lockedOut: true}],
        [30_000, 'a', 'fail', {lockedOut: false}],
        [30_000, 'a', 'check', {lockedFor: 0}],
      ],
    },
    {
      name: 'sources are counted apart',
      steps: [
        [0, 'a', 'fail', {}],
        [0, 'a', 'fail', {}],
        [0, 'b', 'fail', {lockedOut: false}],
        [0, 'a', 'fail', {lockedOut: true}],
        [0, 'b', 'check', {lockedFor: 0}],
        [0, '::1', 'check', {lockedFor: 0}],
      ],
    },
    {
      name: 'a spray from many sources forgets the oldest quiet ones, never a live lockout',
      steps: [
        [0, 'a', 'fail', {}],
        [0, 'a', 'fail', {}],
        [0, 'a', 'fail', {lockedOut: true}],
        [61_000, 'b', 'fail', {}],
        [61_000, 'c', 'fail', {}],
        [61_000, 'd', 'fail', {}],
        [61_000, 'e', 'fail', {}], // 5 > maxSources: a (lockout over, window over) goes
        [61_000, 'a', 'check', {lockedFor: 0}],
        [61_000, 'b', 'fail', {}],
        [61_000, 'b', 'fail', {lockedOut: true}],
        [62_000, 'f', 'fail', {}], // c is the oldest of the full window and goes; b's lockout stays
        [62_000, 'b', 'check', {lockedFor: 29_000}],
      ],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const throttle = new AuthThrottle(OPTS)
      for (const [i, [now, source, op, want]] of c.steps.entries()) {
        if (op === 'fail') {
          const got = throttle.fail(source, now)
          if (want.lockedOut !== undefined) assert.equal(got.lockedOut, want.lockedOut, `step ${i}`)
        } else {
          assert.equal(throttle.lockedFor(source, now), want.lockedFor, `step ${i}`)
        }
      }
    })
  }

  it('Retry-After is whole seconds, at least 1', () => {
    assert.deepEqual([1, 999, 1000, 1001, 60_000].map(retryAfterSeconds), [1, 1, 1, 2, 60])
  })
})

describe('systemd unit', () => {
  it('raises the open-files limit above both server sockets at their default cap', () => {
    const unit = systemdUnit({node: '/usr/bin/node', bin: '/opt/mon/bin/run.js', config: '/etc/mon/mon.yaml', dataDir: '/var/lib/mon', user: false})
    assert.match(unit, new RegExp(`^LimitNOFILE=${UNIT_NOFILE_LIMIT}$`, 'm'))
    assert.match(unit, /\[Service\][^[]*LimitNOFILE=/, 'in [Service]')
    assert.ok(UNIT_NOFILE_LIMIT > 2 * DEFAULT_MAX_CONNECTIONS + 1024)
  })
})

describe('max_connections and the open-files limit', () => {
  const limits = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     \nMax locked memory         8388608              8388608              bytes     \n`

  it('reads the soft limit from /proc/self/limits', () => {
    assert.equal(openFileLimit(limits('1024', '524288')), 1024)
    assert.equal(openFileLimit(limits('unlimited', 'unlimited')), undefined)
    assert.equal(openFileLimit('not a limits file'), undefined)
    assert.ok((openFileLimit() ?? 1) > 0, 'this process has one (or it is unknown)')
  })

  const cases: Array<[number, number | undefined, number]> = [
    [4096, undefined, 4096],
    [4096, 65_536, 4096],
    [4096, 1024, 1024 - RESERVED_FILES],
    [100, 1024, 100],
    [4096, 200, 1],
  ]
  for (const [configured, fileLimit, want] of cases) {
    it(`max_connections ${configured} with ${fileLimit ?? 'no known'} open files → ${want}`, () => assert.equal(effectiveMaxConnections(configured, fileLimit), want))
  }
})

describe('sourceKey: what the cap and the throttle count by', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0:0:0:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ]
  for (const [address, key] of cases) it(`${address} → ${key}`, () => assert.equal(sourceKey(address), key))
})
