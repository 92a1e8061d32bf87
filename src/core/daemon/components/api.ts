/** The HTTP API: /api/v1 (alerts, acks, silences, status) with the token, /healthz and /metrics. */
import type {IncidentService} from '../../incidents/types.js'
import {apiServerFromConfig, type ApiServer, type ListenAddress} from '../api.js'
import {describeError, type ComponentContext, type DaemonComponent, type DaemonConfig} from '../component.js'
import {errorMessage} from '../../errors.js'

export interface ApiComponentOptions {
  incidents: IncidentService
  auditAuthFailure: (source: string, detail: string) => void
  /** the daemon's own routes (/healthz, /metrics, /api/v1/status), mounted on every server it builds */
  mountRoutes: (server: ApiServer) => void
}

export interface ApiComponent extends DaemonComponent {
  readonly address: ListenAddress | undefined
}

export function apiComponent(ctx: ComponentContext, opts: ApiComponentOptions): ApiComponent {
  let server: ApiServer | undefined
  let address: ListenAddress | undefined

  const listen = async (cfg: DaemonConfig) => {
    const fresh = apiServerFromConfig(cfg.loaded, {incidents: opts.incidents, auditAuthFailure: opts.auditAuthFailure, clock: ctx.clock, log: ctx.log.child({component: 'api'}), env: ctx.env})
    opts.mountRoutes(fresh)
    address = await fresh.listen()
    server = fresh
  }
  const tokenOf = (c: DaemonConfig) => c.loaded.config.api.token || ctx.env.MON_API_TOKEN || ''
  // any key of the section: listen, token, timeouts, caps, TLS files
  const section = (c: DaemonConfig) => JSON.stringify({...c.loaded.config.api, token: tokenOf(c)})

  return {
    name: 'api',
    get address() {
      return address
    },
    start: listen,
    async apply(next, prev) {
      if (section(next) === section(prev)) return undefined
      await server!.close()
      try {
        await listen(next)
        return `api: ${address!.url}`
      } catch (err) {
        // the previous listener comes back: a reload never leaves the daemon without its API
        const problem = `${describeError(err)}; still serving on ${address?.url}`
        await listen(prev)
        throw new Error(problem)
      }
    },
    async stop() {
      await server?.close().catch((err) => ctx.log.warn('closing the API failed', {error: errorMessage(err)}))
    },
    status() {
      return {api: address ? {url: address.url} : undefined}
    },
  }
}
