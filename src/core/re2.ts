import {createRequire} from 'node:module'
import type {RE2JS} from 're2js'

/**
 * RE2 (re2js: linear-time regexes, Go's syntax), loaded on first use: it costs about 10 ms to load,
 * and most commands never compile a regex (`mon --version`, `mon write`, a query without `=~`).
 */
let engine: typeof RE2JS | undefined

export function re2(): typeof RE2JS {
  engine ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS
  return engine
}

export type {RE2JS}
