import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {escapeHtml, renderAlertHtml} from '../../src/core/daemon/alert-page.js'
import type {AlertDetail} from '../../src/core/incidents/types.js'

const detail: AlertDetail = {
  id: 'a1b2',
  fingerprint: 'a1b2c3d4e5f60718',
  alertname: 'Bad<Name>',
  severity: 'critical',
  state: 'acked',
  alertState: 'firing',
  labels: {alertname: 'Bad<Name>', host: '"><script>alert(1)</script>', path: "/srv/o'brien & co"},
  annotations: {summary: '<img src=x onerror=alert(1)>'},
  value: 97.5,
  group: 'hosts',
  rule: 'hosts/Bad<Name>',
  health: 'ok',
  activeAt: '2026-12-04T10:00:00.000Z',
  firedAt: '2026-12-04T10:01:00.000Z',
  resolvedAt: null,
  lastEvalAt: '2026-12-04T10:05:00.000Z',
  ageMs: 240_000,
  ackedBy: 'alice',
  incident: {id: 7, openedAt: '2026-12-04T10:01:00.000Z', ackedBy: 'alice', ackedAt: '2026-12-04T10:03:00.000Z', ackComment: 'on it <b>now</b>', resolvedBy: null, resolvedAt: null, resolveComment: null},
  silencedBy: [],
  timeline: [{at: '2026-12-04T10:01:00.000Z', kind: 'fired', text: 'fired <value 97.5>'}],
  episodes: 1,
}

describe('alert page HTML', () => {
  it('escapes everything that comes from labels, annotations and comments', () => {
    const html = renderAlertHtml(detail)
    assert.doesNotMatch(html, /<script|<img|<b>|<Name>/)
    assert.match(html, /<td>&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/td>/)
    assert.match(html, /<td>\/srv\/o&#39;brien &amp; co<\/td>/)
    assert.match(html, /<h1>Bad&lt;Name&gt; <span class="state acked">acked<\/span><\/h1>/)
    assert.match(html, /<tr><th>acknowledged by<\/th><td>alice: on it &lt;b&gt;now&lt;\/b&gt;<\/td><\/tr>/)
    assert.match(html, /<tr><th>since<\/th><td>2026-12-04T10:01:00.000Z<\/td><\/tr>/, 'firing (acked) since it fired')
    assert.match(html, /<tr><th>incident<\/th><td>#7, opened 2026-12-04T10:01:00.000Z<\/td><\/tr>/)
    assert.match(html, /<tr><th>2026-12-04T10:01:00.000Z<\/th><td>fired: fired &lt;value 97.5&gt;<\/td><\/tr>/)
  })

  it('escapes the five HTML-special characters', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  })
})
