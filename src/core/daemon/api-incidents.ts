import type {Clock} from '../clock.js'
import {tryParseDuration} from '../config/duration.js'
import {InputError} from '../errors.js'
import {STATE_FILTERS, type ActionInput, type IncidentService, type StateFilter} from '../incidents/types.js'
import {parseTime} from '../query/time.js'
import type {ApiRequest, ApiServer} from './http-api.js'

/**
 * The incident routes under /api/v1, each a thin mapping onto {@link IncidentService}: the same
 * operations and JSON shapes as `mon alerts … --json`. The source recorded in the audit trail is
 * the request's remote address; the actor is the body's `by` (the client sends `$USER@hostname`),
 * else `api@<address>`.
 *
 *   GET  /api/v1/alerts?state=&severity=&label=k=v&since=
 *   GET  /api/v1/alerts/{id}?timeline=false&all=true
 *   POST /api/v1/alerts/{id}/ack|unack|resolve     {"by"?, "comment"?}
 *   POST /api/v1/alerts/{id}/comment               {"by"?, "comment"}
 *   GET  /api/v1/history?since=7d&id=&limit=
 *   GET  /api/v1/silences?state=current|active|pending|expired|all
 *   POST /api/v1/silences                          {"matchers": [...], "duration"|"endsAt", "startsAt"?, "comment", "by"?}
 *   POST /api/v1/silences/{id}/expire              {"by"?}      (also DELETE /api/v1/silences/{id})
 */
export function mountIncidentRoutes(api: ApiServer, incidents: IncidentService, clock: Clock): void {
  api.route('GET', '/api/v1/alerts', async (req) => {
    const state = req.query.get('state') ?? 'firing'
    if (!STATE_FILTERS.includes(state as StateFilter)) throw new InputError(`invalid state '${state}'`, {hint: `one of ${STATE_FILTERS.join(', ')}`})
    const since = req.query.get('since')
    return {
      json: await incidents.list({
        state: state as StateFilter,
        severity: req.query.getAll('severity'),
        labels: req.query.getAll('label'),
        since: since ? parseTime(since, clock.now(), 'since') : undefined,
      }),
    }
  })

  api.route('GET', '/api/v1/alerts/{id}', async (req) => ({
    json: await incidents.get(req.params.id!, {timeline: req.query.get('timeline') !== 'false', allEpisodes: req.query.get('all') === 'true'}),
  }))

  for (const action of ['ack', 'unack', 'resolve', 'comment'] as const) {
    api.route('POST', `/api/v1/alerts/{id}/${action}`, async (req) => {
      const input = actionInput(req)
      const id = req.params.id!
      switch (action) {
        case 'ack':
          return {json: await incidents.ack(id, input)}
        case 'unack':
          return {json: await incidents.unack(id, input)}
        case 'resolve':
          return {json: await incidents.resolve(id, input)}
        case 'comment':
          if (!input.comment) throw new InputError('a comment needs "comment" in the body')
          return {json: await incidents.comment(id, {...input, comment: input.comment})}
      }
    })
  }

  api.route('GET', '/api/v1/history', async (req) => {
    const now = clock.now()
    const limit = req.query.get('limit')
    return {
      json: await incidents.history({
        since: parseTime(req.query.get('since') ?? '7d', now, 'since'),
        until: req.query.get('until') ? parseTime(req.query.get('until')!, now, 'until') : undefined,
        id: req.query.get('id') ?? undefined,
        limit: limit === null ? undefined : positiveInt(limit, 'limit'),
      }),
    }
  })

  api.route('GET', '/api/v1/silences', async (req) => {
    const state = req.query.get('state') ?? 'current'
    if (!['current', 'active', 'pending', 'expired', 'all'].includes(state)) throw new InputError(`invalid state '${state}'`, {hint: 'one of current, active, pending, expired, all'})
    return {json: await incidents.listSilences({state: state as 'current'})}
  })

  api.route('POST', '/api/v1/silences', async (req) => {
    const body = objectBody(req)
    const now = clock.now()
    const matchers = body.matchers
    if (!Array.isArray(matchers) || matchers.length === 0 || !matchers.every((m) => typeof m === 'string')) {
      throw new InputError('"matchers" must be a non-empty list of strings such as "alertname=DiskFull"')
    }
    const duration = optionalString(body, 'duration')
    const durationMs = duration === undefined ? undefined : tryParseDuration(duration)
    if (duration !== undefined && (durationMs === undefined || durationMs <= 0)) throw new InputError(`invalid duration '${duration}'`, {hint: 'e.g. 2h, 30m, 1d'})
    const endsAt = optionalString(body, 'endsAt')
    const startsAt = optionalString(body, 'startsAt')
    const input = actionInput(req)
    return {
      status: 201,
      json: await incidents.addSilence({
        matchers: matchers as string[],
        durationMs,
        endsAt: endsAt === undefined ? undefined : parseTime(endsAt, now, 'endsAt'),
        startsAt: startsAt === undefined ? undefined : parseTime(startsAt, now, 'startsAt'),
        comment: input.comment ?? '',
        by: input.by,
        source: input.source,
      }),
    }
  })

  const expire = async (req: ApiRequest) => ({json: await incidents.expireSilence(req.params.id!, actionInput(req))})
  api.route('POST', '/api/v1/silences/{id}/expire', expire)
  api.route('DELETE', '/api/v1/silences/{id}', expire)
}

function objectBody(req: ApiRequest): Record<string, unknown> {
  if (req.body === undefined) return {}
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) throw new InputError('the body must be a JSON object')
  return req.body as Record<string, unknown>
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw new InputError(`"${key}" must be a string`)
  return v
}

function actionInput(req: ApiRequest): ActionInput {
  const body = objectBody(req)
  const by = optionalString(body, 'by')
  const comment = optionalString(body, 'comment') ?? optionalString(body, 'text')
  return {by: by?.trim() || `api@${req.remoteAddress}`, comment, source: req.remoteAddress}
}

function positiveInt(text: string, name: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new InputError(`invalid ${name} '${text}': expected a positive integer`)
  return n
}
