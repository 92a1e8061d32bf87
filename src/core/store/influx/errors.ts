/**
 * Turning what went wrong talking to InfluxDB into one clear line that names the URL and says what
 * to do: unreachable, wrong credentials, missing database or bucket, wrong API version, a query
 * InfluxDB refused, a server that keeps failing.
 */
import {EXIT_RUNTIME, EXIT_USAGE, UserError} from '../../errors.js'
import {RetriesExhausted} from '../../retry.js'
import {HttpStatusError, NetworkError} from './http.js'

export interface ServerContext {
  /** base URL without credentials */
  url: string
  /** the API in use, once known */
  api?: 1 | 2
  /** what the server said in X-Influxdb-Version, once known */
  serverVersion?: string
  /** 1.x database, or 2.x bucket */
  database: string
  org?: string
}

/** Any InfluxDB failure shown to the user; `retriable` tells a pipeline whether to try again later. */
export class InfluxError extends UserError {
  constructor(
    message: string,
    readonly retriable: boolean,
    opts: {hint?: string; details?: string; cause?: unknown; exitCode?: number; status?: number} = {},
  ) {
    super(message, {hint: opts.hint, details: opts.details, cause: opts.cause, exitCode: opts.exitCode ?? EXIT_RUNTIME})
    this.name = 'InfluxError'
    this.status = opts.status
  }

  readonly status?: number
}

/** InfluxDB refused a query; carries the statement that was sent. */
export class InfluxQueryError extends InfluxError {
  constructor(
    readonly serverMessage: string,
    readonly statement: string,
    readonly language: 'InfluxQL' | 'Flux',
    url: string,
    hint?: string,
  ) {
    super(`InfluxDB at ${url} rejected the query: ${serverMessage}`, false, {
      exitCode: EXIT_USAGE,
      hint: hint ?? `run with --debug to see the ${language} that was sent`,
    })
    this.name = 'InfluxQueryError'
  }
}

function what(ctx: ServerContext): string {
  return ctx.api === 2 ? `bucket "${ctx.database}"${ctx.org ? ` in org "${ctx.org}"` : ''}` : `database "${ctx.database}"`
}

const NOT_FOUND = /database not found|bucket .*not found|not found: database|no such bucket/i

/** A missing database/bucket, from a write's 404 or a query's "database not found". */
export function missingDatabase(ctx: ServerContext, serverMessage: string, cause?: unknown): InfluxError {
  return new InfluxError(`${what(ctx)} does not exist on InfluxDB at ${ctx.url} (${serverMessage})`, false, {
    hint:
      ctx.api === 2
        ? `create it with \`mon store init\` (or \`influx bucket create -n ${ctx.database}\`), or set store.bucket`
        : `create it with \`mon store init\` (or CREATE DATABASE "${ctx.database}"), or set store.database`,
    exitCode: EXIT_RUNTIME,
    cause,
    status: 404,
  })
}

export function isMissingDatabase(message: string): boolean {
  return NOT_FOUND.test(message)
}

/**
 * A failure of one request (after its retries) → an {@link InfluxError} naming the URL.
 * `action` says what was attempted ("write", "query", "ping"); `endpoint` is the path used.
 */
export function describeFailure(err: unknown, ctx: ServerContext, action: string, endpoint?: string): Error {
  let retried = ''
  let last = err
  if (err instanceof RetriesExhausted) {
    last = err.last
    retried = ` (gave up after ${err.attempts} attempt${err.attempts === 1 ? '' : 's'}${err.why === 'deadline' ? ': the retry deadline store.max_retry_time was reached' : ''})`
  }

  if (last instanceof UserError) return last
  if (last instanceof NetworkError) {
    return new InfluxError(`cannot reach InfluxDB at ${ctx.url}: ${last.message}${retried}`, true, {
      hint: `check store.url and that InfluxDB is running there (curl -i ${ctx.url}/ping)`,
      cause: last,
    })
  }

  if (!(last instanceof HttpStatusError)) return err instanceof Error ? err : new Error(String(err))
  const status = last.status
  const msg = last.serverMessage || `HTTP ${status}`
  if (status === 401 || status === 403) {
    return new InfluxError(`InfluxDB at ${ctx.url} refused the credentials for ${action} (${status}: ${msg})`, false, {
      hint:
        ctx.api === 2
          ? `check store.token: it needs read and write access to ${what(ctx)}`
          : 'check store.username and store.password (the user needs access to the database), or store.token',
      exitCode: EXIT_RUNTIME,
      cause: last,
      status,
    })
  }

  if (status === 404 && isMissingDatabase(msg)) return missingDatabase(ctx, msg, last)
  if (status === 404 || status === 405) {
    const server = ctx.serverVersion ? `; its /ping says version ${ctx.serverVersion}` : ''
    const other = ctx.api === 2 ? 1 : 2
    return new InfluxError(`InfluxDB at ${ctx.url} has no ${endpoint ?? 'such'} endpoint (${status}: ${msg})${server}`, false, {
      hint: `this looks like a different InfluxDB API version: set store.version: ${other} (or auto), and check store.url`,
      exitCode: EXIT_USAGE,
      cause: last,
      status,
    })
  }

  if (status === 413) {
    return new InfluxError(`InfluxDB at ${ctx.url} refused a ${action} request as too large (413: ${msg})`, false, {
      hint: 'lower store.batch_size or store.batch_bytes (InfluxDB 1.x: raise max-body-size)',
      cause: last,
      status,
    })
  }

  const retriable = status === 429 || status >= 500
  return new InfluxError(`${action} to InfluxDB at ${ctx.url} failed: ${status} ${msg}${retried}`, retriable, {
    hint: retriable ? 'the server is overloaded or failing; mon retried with backoff (store.max_retries, store.max_retry_time)' : undefined,
    cause: last,
    status,
  })
}
