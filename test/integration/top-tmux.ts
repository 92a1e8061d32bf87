/**
 * Drives `mon top` in a real terminal: a tmux server on a private socket (so nothing touches the
 * user's tmux), one detached session running the command in `sh`, keys sent with send-keys and
 * the screen read with capture-pane. After the command exits, the shell prints its exit code and
 * the terminal modes, so a test can check the terminal was given back.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {rmSync} from 'node:fs'
import {requireBinary} from '../helpers/servers.js'
import {BIN} from '../helpers/cli.js'

export const EXIT_MARK = 'mon-top-exit='

export class TmuxSession {
  readonly socket = `mon-top-test-${process.pid}-${randomBytes(4).toString('hex')}`
  private readonly tmux = requireBinary('tmux', 'tmux')
  private readonly socketPath: string

  /**
   * Starts `mon top <args>` at width × height. `env` is added to a clean environment (NO_COLOR,
   * MON_CONFIG and FORCE_COLOR are unset unless given).
   */
  constructor(args: string[], opts: {width: number; height: number; env?: Record<string, string>}) {
    const env = {LANG: 'C.UTF-8', ...opts.env}
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`)
    const command = [
      'env -u NO_COLOR -u FORCE_COLOR -u MON_CONFIG',
      ...assignments,
      shellQuote(process.execPath),
      shellQuote(BIN),
      'top',
      ...args.map(shellQuote),
      `; echo "${EXIT_MARK}$?"; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; exec sleep 600`,
    ].join(' ')
    this.run(['new-session', '-d', '-s', 'top', '-x', String(opts.width), '-y', String(opts.height), 'sh', '-c', command])
    this.socketPath = this.run(['display-message', '-p', '#{socket_path}']).trim()
  }

  private run(args: string[]): string {
    return execFileSync(this.tmux, ['-L', this.socket, '-f', '/dev/null', ...args], {encoding: 'utf8'})
  }

  /** The visible screen as text (escapes=true keeps the colour codes). */
  capture(escapes = false): string {
    return this.run(['capture-pane', '-p', '-t', 'top', ...(escapes ? ['-e'] : [])])
  }

  /** Key names as tmux knows them: 'q', 'Enter', 'Escape', 'Up', 'Tab', 'C-c'. */
  keys(...keys: string[]): void {
    this.run(['send-keys', '-t', 'top', ...keys])
  }

  /** Literal text (no key-name lookup). */
  type(text: string): void {
    this.run(['send-keys', '-t', 'top', '-l', text])
  }

  /** Appends everything the program writes to the terminal from now on to `file` (until unpipe). */
  pipe(file: string): void {
    this.run(['pipe-pane', '-o', '-t', 'top', `cat >> ${shellQuote(file)}`])
  }

  unpipe(): void {
    this.run(['pipe-pane', '-t', 'top'])
  }

  resize(width: number, height: number): void {
    this.run(['resize-window', '-t', 'top', '-x', String(width), '-y', String(height)])
  }

  /** tmux's view of the pane: whether the alternate screen is on, whether the cursor shows. */
  paneFlags(): {alternate: boolean; cursor: boolean} {
    const [alternate, cursor] = this.run(['display-message', '-p', '-t', 'top', '#{alternate_on} #{cursor_flag}']).trim().split(' ')
    return {alternate: alternate === '1', cursor: cursor === '1'}
  }

  /** Polls the screen until `check` accepts it; fails with the last screen. */
  async waitFor(what: string, check: (screen: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    let screen = ''
    while (Date.now() < deadline) {
      screen = this.capture()
      if (check(screen)) return screen
      await new Promise((r) => setTimeout(r, 100))
    }

    throw new Error(`${what}: not on screen after ${timeoutMs} ms. The screen:\n${screen}`)
  }

  /** The exit code printed after `mon top` ended, once it has. */
  exitCode(screen = this.capture()): number | undefined {
    const m = new RegExp(`${EXIT_MARK}(\\d+)`).exec(screen)
    return m ? Number(m[1]) : undefined
  }

  /**
   * Waits until `mon top` has exited and the shell has printed both its exit code and the terminal
   * modes after it (two lines: the screen may be caught between them).
   */
  waitForExit(what: string): Promise<string> {
    return this.waitFor(what, (text) => this.exitCode(text) !== undefined && /(^| )-?icanon( |$)/m.test(text) && /(^| )-?echo( |$)/m.test(text))
  }

  /** The pid of the `mon top` process (the pane's shell's child). */
  topPid(): number | undefined {
    const shell = Number(this.run(['display-message', '-p', '-t', 'top', '#{pane_pid}']).trim())
    const out = spawnSync('pgrep', ['-P', String(shell)], {encoding: 'utf8'}).stdout.trim()
    const pid = Number(out.split('\n')[0])
    return Number.isFinite(pid) && pid > 0 ? pid : undefined
  }

  close(): void {
    try {
      this.run(['kill-server'])
    } catch {
      // already gone (the test killed it, or it never started)
    }

    // tmux leaves the socket file of a killed server behind
    if (this.socketPath) rmSync(this.socketPath, {force: true})
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`
}
