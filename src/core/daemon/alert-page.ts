import {NotFoundError} from '../incidents/errors.js'
import type {AlertDetail, AlertView, IncidentService} from '../incidents/types.js'
import type {ApiReply, ApiRequest, ApiServer} from './http-api.js'

/**
 * `GET /alerts/{fingerprint}`: the page a notification's `generatorURL` (`<external_url>/alerts/<fp>`)
 * links to. Read-only: labels, annotations, state and since when, value, acknowledgement and the
 * incident timeline (every episode) — an HTML page for a browser, the same AlertDetail as
 * `GET /api/v1/alerts/{id}` for `Accept: application/json`.
 *
 * A browser following a link from Slack or email cannot send a bearer token, so the page answers
 * without one while the API listens on loopback only (reachable from this machine, or through a
 * reverse proxy that authenticates at external_url); on any other address it needs the token like
 * every read under /api/. It never changes anything (no ack buttons: acks go through the API).
 *
 * `GET /` lists the active alerts with links to their pages: Slack, Teams, email and PagerDuty link
 * to `external_url` itself.
 */
export function mountAlertPage(api: ApiServer, incidents: IncidentService): void {
  api.route('GET', '/alerts/{fingerprint}', async (req) => alertPage(req, incidents), {auth: 'off-loopback'})
  api.route('GET', '/', async (req) => activeAlertsPage(req, incidents), {auth: 'off-loopback'})
}

const ACTIVE_STATES = ['firing', 'acked', 'pending'] as const

async function activeAlertsPage(req: ApiRequest, incidents: IncidentService): Promise<ApiReply> {
  const lists = await Promise.all(ACTIVE_STATES.map((state) => incidents.list({state})))
  const alerts = lists.flat()
  if (prefersJson(req.headers.accept)) return {json: alerts, headers: {'Cache-Control': 'no-store'}}
  return {text: renderActiveAlertsHtml(alerts), contentType: 'text/html; charset=utf-8', headers: PAGE_HEADERS}
}

export function renderActiveAlertsHtml(alerts: AlertView[]): string {
  const line = (a: AlertView): string => {
    const labels = Object.entries(a.labels)
      .filter(([k]) => k !== 'alertname')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')
    const since = a.firedAt ?? a.activeAt
    return `<tr><td><span class="state ${escapeHtml(a.state)}">${escapeHtml(a.state)}</span></td><td><a href="alerts/${encodeURIComponent(a.fingerprint)}">${escapeHtml(a.alertname)}</a></td><td>${escapeHtml(labels)}</td><td>${escapeHtml(since)}</td></tr>`
  }
  const body =
    alerts.length === 0
      ? '<h1>No active alerts</h1>\n<p>Nothing is firing or pending.</p>'
      : `<h1>${alerts.length} active alert${alerts.length === 1 ? '' : 's'}</h1>\n<table>\n<tr><th>state</th><th>alert</th><th>labels</th><th>since</th></tr>\n${alerts.map(line).join('\n')}\n</table>`
  return page('active alerts', body)
}

/** Security headers for a page that shows data from labels: no scripts, no framing, no referrer. */
const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

async function alertPage(req: ApiRequest, incidents: IncidentService): Promise<ApiReply> {
  const wantsJson = prefersJson(req.headers.accept)
  let detail: AlertDetail
  try {
    detail = await incidents.get(req.params.fingerprint!, {timeline: true, allEpisodes: true})
  } catch (error) {
    if (wantsJson || !(error instanceof NotFoundError)) throw error // JSON errors, as the API gives them
    return {status: 404, text: notFoundHtml(req.params.fingerprint!), contentType: 'text/html; charset=utf-8', headers: PAGE_HEADERS}
  }
  if (wantsJson) return {json: detail, headers: {'Cache-Control': 'no-store'}}
  return {text: renderAlertHtml(detail), contentType: 'text/html; charset=utf-8', headers: PAGE_HEADERS}
}

/** JSON only when asked for it over HTML (`curl -H 'Accept: application/json'`); browsers send text/html first. */
function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false
  const json = accept.indexOf('application/json')
  if (json < 0) return false
  const html = accept.indexOf('text/html')
  return html < 0 || json < html
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

function rows(entries: Array<[string, string]>): string {
  return entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — mon</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.25em .6em;border-bottom:1px solid #ddd}
th{width:14em;font-weight:600;color:#555}td{white-space:pre-wrap;word-break:break-word}
.state{display:inline-block;padding:.1em .6em;border-radius:.3em;background:#eee;font-weight:600}
.firing{background:#fdd}.acked{background:#ffe7b3}.resolved,.inactive{background:#dfd}.pending{background:#eef}
code{font-family:ui-monospace,monospace}
</style>
</head>
<body>
${body}
</body>
</html>
`
}

export function renderAlertHtml(a: AlertDetail): string {
  const since = a.state === 'resolved' || a.state === 'inactive' ? a.resolvedAt : (a.firedAt ?? a.activeAt)
  const status: Array<[string, string]> = [
    ['state', a.state],
    ['since', since ?? a.activeAt],
    ['value', a.value === null ? '—' : String(a.value)],
    ['active since', a.activeAt],
    ['fired at', a.firedAt ?? '—'],
    ['resolved at', a.resolvedAt ?? '—'],
    ['last evaluated', a.lastEvalAt],
    ['rule', a.rule ?? a.group],
  ]
  if (a.health !== 'ok') status.push(['health', a.health])
  if (a.ackedBy) status.push(['acknowledged by', a.ackedBy + (a.incident?.ackComment ? `: ${a.incident.ackComment}` : '')])
  if (a.silencedBy.length > 0) status.push(['silenced by', a.silencedBy.join(', ')])
  if (a.incident) status.push(['incident', `#${a.incident.id}, opened ${a.incident.openedAt}`])
  const timeline = a.timeline.length === 0 ? '<p>No events recorded.</p>' : `<table>\n${rows(a.timeline.map((e) => [e.at, `${e.kind}: ${e.text}`]))}\n</table>`
  const body = `<h1>${escapeHtml(a.alertname)} <span class="state ${escapeHtml(a.state)}">${escapeHtml(a.state)}</span></h1>
<p><code>${escapeHtml(a.fingerprint)}</code> · read-only · <code>mon alerts show ${escapeHtml(a.id)}</code></p>
<h2>Status</h2>
<table>
${rows(status)}
</table>
<h2>Labels</h2>
<table>
${rows(Object.entries(a.labels))}
</table>
<h2>Annotations</h2>
${Object.keys(a.annotations).length === 0 ? '<p>None.</p>' : `<table>\n${rows(Object.entries(a.annotations))}\n</table>`}
<h2>History (${a.episodes} episode${a.episodes === 1 ? '' : 's'})</h2>
${timeline}`
  return page(`${a.alertname} (${a.state})`, body)
}

function notFoundHtml(id: string): string {
  return page('alert not found', `<h1>No alert ${escapeHtml(id)}</h1>\n<p>This mon daemon knows no alert with that fingerprint (its history may have been purged).</p>`)
}
