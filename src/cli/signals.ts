/**
 * Signal handling for the long-running commands (`mon collect` continuous, `mon daemon`), in one place:
 * the first SIGINT/SIGTERM asks for a graceful stop, a second one exits at once (130 / 143, the shell's
 * 128 + signal number), and SIGHUP asks for a reload where the command can reload.
 */

export interface SignalOptions {
  /** SIGHUP: re-read the config (without it SIGHUP keeps its default, ending the process) */
  onReload?: () => void
  /** how a second stop signal ends the process; default process.exit */
  exit?: (code: number) => void
}

export interface StopSignals {
  /** Resolves with the first SIGINT/SIGTERM (also one that came before anyone waited). */
  readonly stopped: Promise<NodeJS.Signals>
  /** Stops acting on SIGHUP; a second stop signal still exits at once. */
  dispose(): void
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = {SIGINT: 130, SIGTERM: 143}

export function handleSignals(opts: SignalOptions = {}): StopSignals {
  const exit = opts.exit ?? ((code: number) => process.exit(code))
  let received: NodeJS.Signals | undefined
  let resolveStopped!: (signal: NodeJS.Signals) => void
  const stopped = new Promise<NodeJS.Signals>((resolve) => (resolveStopped = resolve))
  const onStop = (signal: NodeJS.Signals) => {
    if (received) return exit(EXIT_CODES[signal] ?? 1) // a second one: now
    received = signal
    resolveStopped(signal)
  }
  const onHup = () => opts.onReload?.()
  process.on('SIGINT', onStop)
  process.on('SIGTERM', onStop)
  if (opts.onReload) process.on('SIGHUP', onHup)
  return {
    stopped,
    dispose() {
      process.removeListener('SIGHUP', onHup)
    },
  }
}
