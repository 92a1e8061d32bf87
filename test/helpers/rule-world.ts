/**
 * The world the rule-engine unit tests evaluate in: fixture points (a value a minute from T0) in
 * the embedded store, a ManualClock at T0, a state db and the parsed rule groups, each world in its
 * own folder of one temp dir that is removed after the test file.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after} from 'node:test'
import {parseRuleText, type RuleGroup} from '../../src/core/alerting/rules.js'
import {ManualClock} from '../../src/core/clock.js'
import type {Point} from '../../src/core/model/point.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from './servers.js'

export const M = 60_000
export const T0 = Date.UTC(2026, 10, 25, 9, 0, 0)

/** The groups of a rule file's text, which must have no problems. */
export function rules(yaml: string): RuleGroup[] {
  const r = parseRuleText(yaml, 'test.yaml')
  assert.deepEqual(r.problems, [])
  return r.groups
}

/** A value per minute from T0 for each host: `cpu.busy{host}`. */
export function cpuPoints(byHost: Record<string, number[]>): Point[] {
  return Object.entries(byHost).flatMap(([host, values]) => values.map((v, i) => ({measurement: 'cpu', tags: {host}, fields: {busy: v}, ts: T0 + i * M})))
}

export interface RuleWorld {
  dir: string
  clock: ManualClock
  store: SqliteStore
  stateDb: StateDb
  groups: RuleGroup[]
}

/** Call at the top of a test file: `open(points, yaml)` makes a fresh {@link RuleWorld} under `tmp.dir`. */
export function ruleWorlds(prefix: string): {tmp: {dir: string}; open: (points: Point[], yaml: string) => RuleWorld} {
  const tmp = tempDir(prefix)
  after(() => tmp.cleanup())
  let n = 0
  return {
    tmp,
    open(points, yaml) {
      const dir = join(tmp.dir, String(n++))
      const clock = new ManualClock(T0)
      const store = new SqliteStore({path: join(dir, 'mon.db'), clock, autoCompactEvery: 0})
      store.writeSync(points)
      const stateDb = openStateDb(dir)
      return {dir, clock, store, stateDb, groups: rules(yaml)}
    },
  }
}
