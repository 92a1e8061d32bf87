import {readFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {systemClock, type Clock} from '../core/clock.js'
import {RemoteIncidents} from '../core/daemon/api-client.js'
import {InputError, UserError, errorMessage} from '../core/errors.js'
import {openSharedIncidents, sharedIncidentsEnabled} from '../core/cluster/incidents.js'
import {defaultActor, localIncidentsFromConfig, openIncidentDb, type IncidentService} from '../core/incidents/index.js'
import {silentLogger, type Logger} from '../core/log.js'
import type {Point} from '../core/model/point.js'
import {color} from './render/color.js'
import {apiTokenFromEnv} from './api-token.js'
import {existsSync} from 'node:fs'
import {missingDataError, openContext, type ContextOptions} from './context.js'
import {STORE_SECTIONS} from '../core/config/load.js'

/**
 * What the `mon alerts …` commands work with: the incident service — the local state.db, or with
 * `--remote URL` the daemon API (token from MON_API_TOKEN; no local config needed) — and the clock.
 */
export const remoteFlags = {
  remote: Flags.string({
    description: 'act through the mon daemon API at this URL instead of the local data dir (token from $MON_API_TOKEN)',
    helpValue: 'URL',
    helpGroup: 'REMOTE',
  }),
  ca: Flags.string({
    description: "with an https:// --remote: the CA certificate (PEM) that signed the daemon's certificate, trusted instead of the system's CAs",
    helpValue: 'FILE',
    helpGroup: 'REMOTE',
    env: 'MON_CA',
  }),
  cert: Flags.string({
    description: 'with an https:// --remote: client certificate (PEM), for a daemon with api.tls_client_ca',
    helpValue: 'FILE',
    helpGroup: 'REMOTE',
    env: 'MON_CLIENT_CERT',
    dependsOn: ['key'],
  }),
  key: Flags.string({
    description: "the client certificate's private key (PEM)",
    helpValue: 'FILE',
    helpGroup: 'REMOTE',
    env: 'MON_CLIENT_KEY',
    dependsOn: ['cert'],
  }),
}

export {apiTokenFromEnv}

export const actorFlag = Flags.string({description: 'who does it (default: $USER@hostname)', helpValue: 'NAME'})

export interface IncidentContext {
  incidents: IncidentService
  clock: Clock
  /** the actor for actions: --by or $USER@hostname */
  actor(by?: string): string
  close(): Promise<void>
}

/** Events go to the metrics store, but an ack must not wait long on a slow or dead InfluxDB. */
const EVENT_WRITE_TIMEOUT_MS = 5_000

/**
 * `opts.onBrokenConfigWhileDaemonRuns`: see {@link openContext} (for the views, not for actions).
 * A data dir that does not exist is an error unless `createDataDir` (silences may be added first).
 */
export async function openIncidents(
  flags: {config?: string; remote?: string; ca?: string; cert?: string; key?: string},
  opts: Pick<ContextOptions, 'onBrokenConfigWhileDaemonRuns'> & {createDataDir?: boolean} = {},
): Promise<IncidentContext> {
  const actor = (by?: string) => by?.trim() || defaultActor()
  if (flags.remote) {
    const incidents = new RemoteIncidents(flags.remote, {token: apiTokenFromEnv(), ca: readPem('--ca', flags.ca), cert: readPem('--cert', flags.cert), key: readPem('--key', flags.key)})
    return {incidents, clock: systemClock, actor, close: () => incidents.close()}
  }

  // the alert state lives in the data dir; notify compiles silences and routes
  const ctx = await openContext(flags, {sections: [...STORE_SECTIONS, 'notify', 'cluster'], onBrokenConfigWhileDaemonRuns: opts.onBrokenConfigWhileDaemonRuns})
  // no data dir, no alerts: say so rather than create an empty state.db (only a silence may come first)
  if (!opts.createDataDir && !existsSync(ctx.loaded.dataDir)) throw missingDataError('alerts', ctx.loaded.dataDir)
  const log = warningLogger()
  const store = {
    async write(points: Point[]): Promise<void> {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UserError(`no answer from ${ctx.storeName} within ${EVENT_WRITE_TIMEOUT_MS / 1000}s`)), EVENT_WRITE_TIMEOUT_MS)
      })
      try {
        await Promise.race([(await ctx.store()).write(points), timeout])
      } finally {
        clearTimeout(timer)
      }
    },
  }
  const cluster = ctx.loaded.config.cluster
  if (sharedIncidentsEnabled(cluster)) {
    // a cluster daemon's data dir: actions go through the cluster's incident stream (docs/cluster.md#shared-incidents)
    const db = openIncidentDb(ctx.loaded.dataDir)
    const local = localIncidentsFromConfig({loaded: ctx.loaded, clock: ctx.clock, log, store, db})
    // views read the data dir; NATS is connected for the first action only
    let shared: ReturnType<typeof openSharedIncidents> | undefined
    const act = async () => (await (shared ??= openSharedIncidents({cluster, local: () => local, db, clock: ctx.clock, log, role: 'cli', retention: ctx.loaded.config.rules.incident_retention}))).service
    const incidents: IncidentService = {
      where: local.where,
      list: (q) => local.list(q),
      get: (id, o) => local.get(id, o),
      history: (q) => local.history(q),
      listSilences: (o) => local.listSilences(o),
      ack: async (id, input) => (await act()).ack(id, input),
      unack: async (id, input) => (await act()).unack(id, input),
      resolve: async (id, input) => (await act()).resolve(id, input),
      comment: async (id, input) => (await act()).comment(id, input),
      addSilence: async (input) => (await act()).addSilence(input),
      expireSilence: async (id, input) => (await act()).expireSilence(id, input),
      close: async () => {},
    }
    return {
      incidents,
      clock: ctx.clock,
      actor,
      async close() {
        await (await shared?.catch(() => undefined))?.close()
        await local.close()
        db.close()
        await ctx.close()
      },
    }
  }
  const incidents = localIncidentsFromConfig({loaded: ctx.loaded, clock: ctx.clock, log, store})
  return {
    incidents,
    clock: ctx.clock,
    actor,
    async close() {
      await incidents.close()
      await ctx.close()
    },
  }
}

function readPem(flag: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined
  try {
    return readFileSync(file)
  } catch (error) {
    throw new InputError(`cannot read ${flag} ${file}: ${errorMessage(error)}`, {hint: `${flag} is a PEM file`})
  }
}

/** Warnings from core as one `warning:` line on stderr; the rest is quiet (a one-shot command). */
function warningLogger(): Logger {
  const c = color(process.stderr)
  const line = (msg: string) => process.stderr.write(`${c.yellow('warning:')} ${msg}\n`)
  return {...silentLogger, warn: line, error: line, child: () => warningLogger()}
}
