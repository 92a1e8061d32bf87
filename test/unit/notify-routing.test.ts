import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../src/core/config/parse.js'
import {compileInhibitRules, Inhibitor} from '../../src/core/notify/mute/inhibit.js'
import {parseLabelSet} from '../../src/core/notify/labels.js'
import {compileTimeInterval, timeIntervalContains, type TimeIntervalSpec} from '../../src/core/notify/mute/time-intervals.js'
import {compileRoutes, compileTimeIntervals, groupKeyFor, groupLabelsFor, matchRoutes, routeMutedBy} from '../../src/core/notify/route/router.js'

function routesFrom(yaml: string) {
  const loaded = parseConfigText(yaml, 'mon.yaml', {HOME: '/home/test'})
  return {root: compileRoutes(loaded.config.notify.route!), notify: loaded.config.notify}
}

const receivers = ['default', 'team-slack', 'db-pager', 'db-slack', 'infra', 'audit', 'warnings']
const tree = routesFrom(`notify:
  receivers: [${receivers.map((r) => `{name: ${r}}`).join(', ')}]
  route:
    receiver: default
    group_by: [alertname]
    group_wait: 10s
    routes:
      - matchers: ['alertname="Watchdog"']
        receiver: audit
        continue: true
      - matchers: [team="db"]
        receiver: db-slack
        group_by: [alertname, host]
        routes:
          - matchers: [severity="critical"]
            receiver: db-pager
            repeat_interval: 1h
          - matchers: ['severity=~"warning|info"']
            receiver: warnings
      - matchers: ['team=~"infra|platform"', 'env!="dev"']
        receiver: infra
        continue: true
      - matchers: ['team!~"db|infra"', 'severity="critical"']
        receiver: team-slack
        group_by: ['...']
`)

describe('route matching (Alertmanager semantics)', () => {
  const cases: Array<[string, string, string[]]> = [
    ['no child matches: the root', 'alertname=X', ['default']],
    ['nested: deepest match wins', 'team=db,severity=critical', ['db-pager']],
    ['nested: parent when no child matches', 'team=db,severity=unknown', ['db-slack']],
    ['regex child', 'team=db,severity=info', ['warnings']],
    ['continue: goes on to later siblings', 'alertname=Watchdog,team=db,severity=critical', ['audit', 'db-pager']],
    ['continue on the last match: stops there', 'team=infra,env=prod', ['infra']],
    ['continue then a non-continue sibling', 'team=platform,env=prod,severity=critical', ['infra', 'team-slack']],
    ['!= on a missing label matches', 'team=platform,severity=critical', ['infra', 'team-slack']],
    ['!= excludes', 'team=platform,env=dev', ['default']],
    ['!~ and =', 'team=web,severity=critical', ['team-slack']],
    ['regexes are anchored', 'team=dbx,severity=critical', ['team-slack']],
    ['first matching sibling without continue ends the search', 'team=db,severity=critical,alertname=Y', ['db-pager']],
  ]
  for (const [name, labels, expected] of cases) {
    it(name, () => assert.deepEqual(matchRoutes(tree.root, parseLabelSet(labels)).map((r) => r.receiver), expected))
  }

  it('children inherit receiver, group_by and timers; own settings win', () => {
    const [dbPager] = matchRoutes(tree.root, {team: 'db', severity: 'critical'})
    assert.deepEqual(dbPager!.groupBy, ['alertname', 'host'])
    assert.equal(dbPager!.groupWaitMs, 10_000)
    assert.equal(dbPager!.groupIntervalMs, 5 * 60_000)
    assert.equal(dbPager!.repeatIntervalMs, 3_600_000)
    const [dbSlack] = matchRoutes(tree.root, {team: 'db'})
    assert.equal(dbSlack!.repeatIntervalMs, 4 * 3_600_000)
  })
})

describe('group labels and keys', () => {
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ['group_by names present', 'team=db,severity=critical,alertname=DiskFull,host=db-1,path=/', {alertname: 'DiskFull', host: 'db-1'}, '{}/{team="db"}/{severity="critical"}:{alertname="DiskFull", host="db-1"}'],
    ['a missing group_by label is left out', 'team=db,severity=critical,alertname=DiskFull', {alertname: 'DiskFull'}, '{}/{team="db"}/{severity="critical"}:{alertname="DiskFull"}'],
    ['... groups by every label', 'team=web,severity=critical,a=1', {a: '1', severity: 'critical', team: 'web'}, '{}/{team!~"db|infra",severity="critical"}:{a="1", severity="critical", team="web"}'],
    ['root with no labels to group by', 'x=1', {}, '{}:{}'],
  ]
  for (const [name, labels, groupLabels, key] of cases) {
    it(name, () => {
      const l = parseLabelSet(labels)
      const [route] = matchRoutes(tree.root, l)
      const gl = groupLabelsFor(route!, l)
      assert.deepEqual(gl, groupLabels)
      assert.equal(groupKeyFor(route!, gl), key)
    })
  }
})

describe('time intervals (mute / active)', () => {
  const at = (iso: string) => Date.parse(iso)
  const cases: Array<[string, TimeIntervalSpec, string, boolean]> = [
    ['inside a time range', {times: [{start_time: '09:00', end_time: '17:00'}]}, '2026-03-02T09:00:00Z', true],
    ['end is exclusive', {times: [{start_time: '09:00', end_time: '17:00'}]}, '2026-03-02T17:00:00Z', false],
    ['until 24:00', {times: [{start_time: '22:00', end_time: '24:00'}]}, '2026-03-02T23:59:00Z', true],
    ['weekday range (2026-03-02 is a Monday)', {weekdays: ['monday:friday']}, '2026-03-02T12:00:00Z', true],
    ['weekend', {weekdays: ['saturday', 'sunday']}, '2026-03-02T12:00:00Z', false],
    ['location shifts the day', {weekdays: ['tuesday'], location: 'Asia/Tokyo'}, '2026-03-02T16:00:00Z', true],
    ['location shifts the hour', {times: [{start_time: '09:00', end_time: '10:00'}], location: 'Europe/Berlin'}, '2026-03-02T08:30:00Z', true],
    ['daylight saving time in the zone', {times: [{start_time: '09:00', end_time: '10:00'}], location: 'Europe/Berlin'}, '2026-07-01T07:30:00Z', true],
    ['last day of the month (-1)', {days_of_month: ['-1']}, '2026-02-28T12:00:00Z', true],
    ['not the last day', {days_of_month: ['-1']}, '2026-03-30T12:00:00Z', false],
    ['first days', {days_of_month: ['1:7']}, '2026-03-07T12:00:00Z', true],
    ['month names and numbers', {months: ['december', '1:2']}, '2026-02-10T00:00:00Z', true],
    ['month out of range', {months: ['march:may']}, '2026-02-10T00:00:00Z', false],
    ['years', {years: ['2025:2026']}, '2027-01-01T00:00:00Z', false],
    ['every field must match', {weekdays: ['monday'], times: [{start_time: '00:00', end_time: '08:00'}]}, '2026-03-02T09:00:00Z', false],
    ['no fields: always', {}, '2026-03-02T09:00:00Z', true],
  ]
  for (const [name, spec, time, expected] of cases) {
    it(name, () => assert.equal(timeIntervalContains(compileTimeInterval(spec), at(time)), expected))
  }

  it('a route is muted inside mute_time_intervals and outside active_time_intervals', () => {
    const {notify} = routesFrom(`notify:
  receivers: [{name: a}]
  route:
    receiver: a
    routes:
      - matchers: [x="1"]
        mute_time_intervals: [nights]
      - matchers: [x="2"]
        active_time_intervals: [office]
  time_intervals:
    - name: nights
      time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}, {start_time: "22:00", end_time: "24:00"}]}]
    - name: office
      time_intervals: [{weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:00"}]}]
`)
    const root = compileRoutes(notify.route!)
    const intervals = compileTimeIntervals(notify.time_intervals)
    const [muteRoute, activeRoute] = root.routes
    assert.equal(routeMutedBy(muteRoute!, intervals, at('2026-03-02T23:00:00Z')), 'mute_time_intervals: nights')
    assert.equal(routeMutedBy(muteRoute!, intervals, at('2026-03-02T12:00:00Z')), undefined)
    assert.equal(routeMutedBy(activeRoute!, intervals, at('2026-03-02T12:00:00Z')), undefined)
    assert.equal(routeMutedBy(activeRoute!, intervals, at('2026-03-01T12:00:00Z')), 'outside active_time_intervals: office')
    // not inherited: the root is never muted
    assert.equal(routeMutedBy(root, intervals, at('2026-03-02T23:00:00Z')), undefined)
  })
})

describe('inhibition', () => {
  const inhibitor = new Inhibitor(
    compileInhibitRules([
      {source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['host']},
      {source_matchers: ['alertname="NodeDown"'], target_matchers: ['alertname!="NodeDown"'], equal: ['host', 'dc']},
      // alerts matching both sides must not inhibit each other in a loop
      {source_matchers: ['kind="loop"'], target_matchers: ['kind="loop"', 'tier=~"a|b"'], equal: []},
    ]),
  )
  const a = (fingerprint: string, labels: string) => ({fingerprint, labels: parseLabelSet(labels)})
  const cases: Array<[string, ReturnType<typeof a>, Array<ReturnType<typeof a>>, string | undefined]> = [
    ['critical inhibits warning on the same host', a('t', 'severity=warning,host=h1'), [a('s', 'severity=critical,host=h1')], 's'],
    ['not on another host', a('t', 'severity=warning,host=h1'), [a('s', 'severity=critical,host=h2')], undefined],
    ['equal label missing on both sides counts as equal', a('t', 'severity=warning'), [a('s', 'severity=critical')], 's'],
    ['missing on one side is not equal', a('t', 'severity=warning,host=h1'), [a('s', 'severity=critical')], undefined],
    ['target not matching', a('t', 'severity=info,host=h1'), [a('s', 'severity=critical,host=h1')], undefined],
    ['NodeDown inhibits everything on the node', a('t', 'alertname=DiskFull,host=h1,dc=eu'), [a('s', 'alertname=NodeDown,host=h1,dc=eu')], 's'],
    ['NodeDown does not inhibit itself', a('s', 'alertname=NodeDown,host=h1,dc=eu'), [a('s', 'alertname=NodeDown,host=h1,dc=eu')], undefined],
    ['two-sided rule: no mutual inhibition', a('t', 'tier=a,kind=loop'), [a('s', 'tier=b,kind=loop')], undefined],
    ['two-sided rule: a source-only alert still inhibits', a('t', 'tier=a,kind=loop'), [a('s', 'tier=c,kind=loop')], 's'],
    ['no firing sources', a('t', 'severity=warning,host=h1'), [], undefined],
  ]
  for (const [name, target, firing, expected] of cases) it(name, () => assert.equal(inhibitor.inhibitedBy(target, firing), expected))
})

describe('label sets on the command line', () => {
  const cases: Array<[string | string[], Record<string, string>]> = [
    ['severity=critical,team=db', {severity: 'critical', team: 'db'}],
    ['a="x, y",b=2', {a: 'x, y', b: '2'}],
    [['a=1', 'b=2,c='], {a: '1', b: '2', c: ''}],
    [' a = 1 , b=2 ', {a: '1', b: '2'}],
  ]
  for (const [input, expected] of cases) it(JSON.stringify(input), () => assert.deepEqual(parseLabelSet(input), expected))
  it('rejects garbage with a hint', () => assert.throws(() => parseLabelSet('severity'), /invalid label set 'severity'/))
})
