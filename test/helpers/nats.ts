/**
 * A real NATS JetStream cluster for the cluster-mode tests: N `nats-server` processes (Debian's
 * nats-server 2.9) on loopback, each with file storage in its own temp dir, routed to each other
 * as one cluster. Nodes can be SIGKILLed, SIGSTOPped and restarted on the same ports and store dir,
 * as the chaos tests need. No mocks: without the binary the test fails saying how to install it.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort, PORT_ATTEMPTS, requireBinary, waitFor} from './servers.js'

export interface NatsNode {
  /** server_name, `n1`… */
  name: string
  /** `nats://127.0.0.1:<port>` */
  url: string
  port: number
  clusterPort: number
  /** the monitoring endpoint, `http://127.0.0.1:<port>` (/healthz, /jsz, /varz) */
  monitorUrl: string
  dir: string
  proc: ChildProcess | undefined
  running(): boolean
  output(): string
  /** a signal to the process: SIGKILL (crash), SIGSTOP/SIGCONT (a pause) */
  signal(sig: NodeJS.Signals): void
  /** SIGKILL and wait for the exit */
  kill(): Promise<void>
  /** SIGTERM (lame duck skipped) and wait for the exit */
  stop(): Promise<void>
  /** start again on the same ports and store dir; resolves when it is healthy with JetStream current */
  restart(): Promise<void>
}

export interface NatsCluster {
  nodes: NatsNode[]
  /** every node's client URL, what `cluster.nats.servers` gets */
  urls: string[]
  /** the server_name of the node that leads a stream (from the monitoring endpoint of a live node), undefined while none */
  streamLeader(stream: string): Promise<string | undefined>
  node(name: string): NatsNode
  /** stop every node and remove the temp dirs */
  destroy(): Promise<void>
}

const CLUSTER_NAME = 'mon-test'

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, {signal: AbortSignal.timeout(2000)})
  return res.json()
}

async function healthy(node: NatsNode): Promise<boolean> {
  // js-enabled-only: JetStream is on; without it /healthz also waits for every stream to be current,
  // which a restarted node reaches only after catching up (what restart() wants)
  const res = await fetch(`${node.monitorUrl}/healthz`, {signal: AbortSignal.timeout(2000)})
  if (!res.ok) return false
  const body = (await res.json()) as {status?: string}
  return body.status === 'ok'
}

/**
 * Starts `size` (default 3) routed nats-server nodes with JetStream; resolves when a meta leader is
 * elected. A node whose port was taken between freePort() releasing it and the node binding it
 * ("address already in use") starts the cluster again on new ports, up to PORT_ATTEMPTS times.
 */
export async function startNatsCluster(size = 3, opts: {token?: string} = {}): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(size, opts)
    } catch (error) {
      if (attempt === PORT_ATTEMPTS || !(error instanceof PortTaken)) throw error
    }
  }
}

/** A node could not bind its port: the cluster is worth starting again elsewhere. */
class PortTaken extends Error {}

async function startOnce(size: number, opts: {token?: string}): Promise<NatsCluster> {
  const bin = requireBinary('nats-server', 'nats-server')
  const root = mkdtempSync(join(tmpdir(), 'mon-nats-'))
  // each port its own: freePort() can give a port it gave before once that was released (one node
  // got the same port to listen on and for its routes, and never started)
  const taken = new Set<number>()
  const distinct = async () => {
    let p = await freePort()
    while (taken.has(p)) p = await freePort()
    taken.add(p)
    return p
  }
  const ports: Array<{port: number; cluster: number; monitor: number}> = []
  for (let i = 0; i < size; i++) ports.push({port: await distinct(), cluster: await distinct(), monitor: await distinct()})
  const nodes: NatsNode[] = []
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`
    const dir = join(root, name)
    mkdirSync(dir, {recursive: true})
    const routes = ports.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p.cluster}`)
    const conf = [
      `server_name: ${name}`,
      `listen: 127.0.0.1:${ports[i].port}`,
      `http: 127.0.0.1:${ports[i].monitor}`,
      ...(opts.token ? [`authorization { token: "${opts.token}" }`] : []),
      `jetstream { store_dir: "${join(dir, 'js')}", max_memory_store: 64MB, max_file_store: 4GB }`,
      `cluster { name: ${CLUSTER_NAME}, listen: 127.0.0.1:${ports[i].cluster}, routes: [${routes.join(', ')}] }`,
      // quick failure detection for the chaos tests (defaults: 2m ping, 2 outstanding)
      'ping_interval: "2s"',
      'ping_max: 2',
    ].join('\n')
    const confPath = join(dir, 'nats.conf')
    writeFileSync(confPath, conf + '\n')
    let out = ''
    let proc: ChildProcess | undefined
    const launch = () => {
      const p = spawn(bin, ['-c', confPath], {stdio: ['ignore', 'pipe', 'pipe']})
      p.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)))
      p.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)))
      proc = p
    }

    const exited = async () => {
      const p = proc
      if (!p || p.exitCode !== null || p.signalCode !== null) return
      await new Promise<void>((r) => p.once('exit', () => r()))
    }

    const node: NatsNode = {
      name,
      url: `nats://127.0.0.1:${ports[i].port}`,
      port: ports[i].port,
      clusterPort: ports[i].cluster,
      monitorUrl: `http://127.0.0.1:${ports[i].monitor}`,
      dir,
      get proc() {
        return proc
      },
      running: () => proc !== undefined && proc.exitCode === null && proc.signalCode === null,
      output: () => out,
      signal: (sig) => {
        proc?.kill(sig)
      },
      kill: async () => {
        const done = exited()
        proc?.kill('SIGKILL')
        await done
      },
      stop: async () => {
        const done = exited()
        proc?.kill('SIGTERM')
        await done
      },
      restart: async () => {
        if (node.running()) throw new Error(`nats node ${name} is still running`)
        launch()
        await waitFor(() => healthy(node), `nats-server ${name} (restart)`, 60_000, proc, () => out)
      },
    }
    nodes.push(node)
    launch()
  }

  // every node serves; then one of them reports a JetStream meta leader
  try {
    for (const n of nodes) await waitFor(() => healthy(n), `nats-server ${n.name}`, 60_000, n.proc, () => n.output())
    await waitFor(
      async () => {
        const jsz = (await fetchJson(`${nodes[0].monitorUrl}/jsz`)) as {meta_cluster?: {leader?: string; cluster_size?: number}}
        return Boolean(jsz.meta_cluster?.leader) && (jsz.meta_cluster?.cluster_size ?? 0) >= size
      },
      'nats JetStream meta leader',
      60_000,
    )
  } catch (error) {
    // the nodes that did start must not outlive a failed start: running children kept the test
    // process (and the whole run) waiting for ever, its `after` never given a cluster to destroy
    for (const n of nodes) if (n.running()) await n.kill()
    rmSync(root, {recursive: true, force: true})
    if (nodes.some((n) => /address already in use/i.test(n.output()))) throw new PortTaken(error instanceof Error ? error.message : String(error))
    throw error
  }

  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    node: (name) => {
      const n = nodes.find((x) => x.name === name)
      if (!n) throw new Error(`no nats node ${name}`)
      return n
    },
    async streamLeader(stream) {
      for (const n of nodes) {
        if (!n.running()) continue
        try {
          const jsz = (await fetchJson(`${n.monitorUrl}/jsz?streams=true`)) as {
            account_details?: Array<{stream_detail?: Array<{name: string; cluster?: {leader?: string}}>}>
          }
          for (const acc of jsz.account_details ?? []) {
            for (const s of acc.stream_detail ?? []) if (s.name === stream && s.cluster?.leader) return s.cluster.leader
          }
        } catch {
          // a node that is going down: ask the next
        }
      }

      return undefined
    },
    async destroy() {
      for (const n of nodes) {
        if (!n.running()) continue
        if (n.proc?.signalCode === null) n.signal('SIGCONT')
        await n.kill()
      }

      rmSync(root, {recursive: true, force: true})
    },
  }
  return cluster
}
