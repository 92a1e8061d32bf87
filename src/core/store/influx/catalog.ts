import {InputError} from '../../errors.js'
import type {FieldInfo, InitResult, StoreInfo} from '../types.js'
import {describeFailure, InfluxError, InfluxQueryError, missingDatabase} from './errors.js'
import {HttpStatusError, type HttpResponse} from './http.js'
import {countAllStatement, firstColumn, quoteIdent, SHOW_MEASUREMENTS, showFieldKeys, showTagKeys, showTagValues, timeBoundsStatements} from './influxql.js'
import type {InfluxConnection} from './connection.js'

/** The catalog of an InfluxStore: measurements, fields, tags, `mon store info`, and `mon store init` (database or bucket). */
export class InfluxCatalog {
  constructor(private readonly conn: InfluxConnection) {}

  async measurements(): Promise<string[]> {
    const [r] = await this.conn.influxql(SHOW_MEASUREMENTS)
    return firstColumn(r?.series)
  }

  async fieldKeys(measurement: string): Promise<FieldInfo[]> {
    const [r] = await this.conn.influxql(showFieldKeys(measurement, {retentionPolicy: this.conn.cfg.retention_policy}))
    const out: FieldInfo[] = []
    for (const s of r?.series ?? []) for (const v of s.values ?? []) out.push({name: String(v[0]), type: String(v[1]) as FieldInfo['type']})
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async tagKeys(measurement: string): Promise<string[]> {
    const [r] = await this.conn.influxql(showTagKeys(measurement, {retentionPolicy: this.conn.cfg.retention_policy}))
    return firstColumn(r?.series).sort()
  }

  async tagValues(measurement: string, key: string): Promise<string[]> {
    const [r] = await this.conn.influxql(showTagValues(measurement, key, {retentionPolicy: this.conn.cfg.retention_policy}))
    const out: string[] = []
    for (const s of r?.series ?? []) for (const v of s.values ?? []) out.push(String(v[1]))
    return out.sort()
  }

  async info(opts: {countPoints?: boolean} = {}): Promise<StoreInfo> {
    const {api, serverVersion} = await this.conn.ready()
    const database = await this.conn.database()
    // every optional figure is skipped when this server (or this user) cannot give it
    const optional = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await f()
      } catch (error) {
        if (error instanceof InfluxQueryError || (error instanceof InfluxError && error.status === 403)) return undefined
        throw error
      }
    }

    if (api === 1) await this.requireDatabase()
    const measurements = await this.measurements()
    const series = api === 1 ? await optional(() => this.seriesCardinality()) : undefined
    const bytesOnDisk = api === 1 ? await optional(() => this.diskBytes(database)) : undefined
    const range = await optional(() => this.timeRange(measurements))
    const points = opts.countPoints ? await this.countPoints() : undefined
    return {
      backend: 'influxdb',
      location: `${this.conn.url} ${api === 2 ? `bucket ${database}${this.conn.cfg.org ? ` (org ${this.conn.cfg.org})` : ''}` : `database ${database}${this.conn.cfg.retention_policy ? `.${this.conn.cfg.retention_policy}` : ''}`}`,
      series,
      points,
      oldest: range?.oldest,
      newest: range?.newest,
      bytesOnDisk,
      details: {server: serverVersion ?? 'unknown', api: `${api}.x`, measurements: measurements.length, precision: this.conn.cfg.precision, gzip: this.conn.gzip},
    }
  }

  /** The oldest and newest timestamps: per measurement, InfluxDB finds each with one seek. */
  private async timeRange(measurements: string[]): Promise<{oldest?: number; newest?: number}> {
    let oldest: number | undefined
    let newest: number | undefined
    // a request per 50 measurements keeps the statement short
    for (let i = 0; i < measurements.length; i += 50) {
      const results = await this.conn.influxql(timeBoundsStatements(measurements.slice(i, i + 50), {retentionPolicy: this.conn.cfg.retention_policy}), {epoch: 'ms'})
      for (const r of results) {
        for (const s of r.series ?? []) {
          for (const row of s.values ?? []) {
            const t = Number(row[0])
            if (!Number.isFinite(t)) continue
            if (oldest === undefined || t < oldest) oldest = t
            if (newest === undefined || t > newest) newest = t
          }
        }
      }
    }
    return {oldest, newest}
  }

  /** Stored values (a point per field, as the embedded store counts them): a scan of every shard. */
  private async countPoints(): Promise<number> {
    const [r] = await this.conn.influxql(countAllStatement({retentionPolicy: this.conn.cfg.retention_policy}))
    let n = 0
    for (const s of r?.series ?? []) {
      for (const row of s.values ?? []) for (let c = 1; c < row.length; c++) n += Number(row[c]) || 0
    }
    return n
  }

  private async seriesCardinality(): Promise<number> {
    const [r] = await this.conn.influxql('SHOW SERIES CARDINALITY')
    let n = 0
    for (const s of r?.series ?? []) for (const v of s.values ?? []) n += Number(v[0]) || 0
    return n
  }

  /** Sum of the shards' diskBytes (SHOW STATS needs admin rights when auth is on). */
  private async diskBytes(database: string): Promise<number | undefined> {
    const [r] = await this.conn.influxql("SHOW STATS FOR 'shard'")
    let bytes: number | undefined
    for (const s of r?.series ?? []) {
      if (s.tags?.database !== database) continue
      const i = s.columns.indexOf('diskBytes')
      for (const v of s.values ?? []) bytes = (bytes ?? 0) + (Number(v[i]) || 0)
    }

    return bytes
  }

  private async databases(): Promise<string[]> {
    const [r] = await this.conn.influxql('SHOW DATABASES')
    return firstColumn(r?.series)
  }

  private async requireDatabase(): Promise<void> {
    if (!(await this.databases()).includes(this.conn.cfg.database)) throw missingDatabase(this.conn.context(), `database not found: ${this.conn.cfg.database}`)
  }

  /** Creates the 1.x database or the 2.x bucket when missing. */
  async init(): Promise<InitResult> {
    const {api, serverVersion} = await this.conn.ready()
    const notes: string[] = []
    if (api === 2) {
      const created = await this.ensureBucket()
      return {backend: 'influxdb', location: this.conn.url, database: this.conn.cfg.bucket!, created, serverVersion, notes}
    }

    const db = this.conn.cfg.database
    const created = !(await this.databases()).includes(db)
    if (created) await this.conn.influxql(`CREATE DATABASE ${quoteIdent(db)}`)
    const rp = this.conn.cfg.retention_policy
    if (rp) {
      const [r] = await this.conn.influxql(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`)
      if (!firstColumn(r?.series).includes(rp)) {
        throw new InfluxError(`retention policy "${rp}" does not exist in database "${db}" on InfluxDB at ${this.conn.url}`, false, {
          hint: `create it (e.g. CREATE RETENTION POLICY ${quoteIdent(rp)} ON ${quoteIdent(db)} DURATION 30d REPLICATION 1), or remove store.retention_policy`,
        })
      }
    }

    return {backend: 'influxdb', location: this.conn.url, database: db, created, serverVersion, notes}
  }

  /** 2.x REST: GET /api/v2/buckets?name=&org=, else GET /api/v2/orgs?org= and POST /api/v2/buckets. */
  private async ensureBucket(): Promise<boolean> {
    const bucket = this.conn.cfg.bucket!
    const org = this.conn.cfg.org
    if (!org) throw new InputError('creating a bucket needs store.org', {hint: 'set store.org to the organization name'})
    const call = async (method: 'GET' | 'POST', path: string, query: Record<string, string>, body?: unknown): Promise<unknown> => {
      let res: HttpResponse
      try {
        res = await this.conn.retrying('init', this.conn.queryRetry, () =>
          this.conn.http.request({method, path, query, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : {'Content-Type': 'application/json'}}),
        )
      } catch (error) {
        throw describeFailure(error, this.conn.context(), 'init', path)
      }

      if (res.status === 404 && path === '/api/v2/buckets' && method === 'GET' && /bucket/i.test(res.body)) return {buckets: []}
      if (res.status < 200 || res.status > 299) throw describeFailure(new HttpStatusError(`${this.conn.url}${path}`, res.status, res.headers, res.body), this.conn.context(), 'init', path)
      return JSON.parse(res.body || '{}')
    }

    const found = (await call('GET', '/api/v2/buckets', {name: bucket, org})) as {buckets?: Array<{name: string}>}
    if (found.buckets?.some((b) => b.name === bucket)) return false
    const orgs = (await call('GET', '/api/v2/orgs', {org})) as {orgs?: Array<{id: string; name: string}>}
    const orgID = orgs.orgs?.find((o) => o.name === org)?.id
    if (!orgID) throw new InfluxError(`organization "${org}" not found on InfluxDB at ${this.conn.url}`, false, {hint: 'check store.org (the name, as `influx org list` shows it)'})
    await call('POST', '/api/v2/buckets', {}, {orgID, name: bucket, retentionRules: []})
    return true
  }
}
