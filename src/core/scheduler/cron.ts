import {createRequire} from 'node:module'
import type {CronExpressionParser as Parser} from 'cron-parser'

/**
 * cron-parser, loaded on first use: it brings luxon (several MB of code in a long-running
 * process's heap), which only configs with a cron schedule need. It ships CommonJS, so a
 * synchronous require keeps config validation synchronous.
 */
let parser: typeof Parser | undefined
export function cronParser(): typeof Parser {
  parser ??= (createRequire(import.meta.url)('cron-parser') as {CronExpressionParser: typeof Parser}).CronExpressionParser
  return parser
}
