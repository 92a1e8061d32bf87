import {color} from './render/color.js'

// A module of its own: `mon status` reads the token too, without importing the incidents' context
// (and with it the notifier, the channels and zod) — docs/startup.md.

/**
 * The daemon API token from the environment: MON_API_TOKEN, the name the daemon reads too. The old
 * client-side name MON_TOKEN still works, with a deprecation warning on stderr.
 */
export function apiTokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MON_API_TOKEN) return env.MON_API_TOKEN
  if (!env.MON_TOKEN) return undefined
  process.stderr.write(`${color(process.stderr).yellow('warning:')} MON_TOKEN is deprecated: set MON_API_TOKEN instead (the same name the daemon reads)\n`)
  return env.MON_TOKEN
}
