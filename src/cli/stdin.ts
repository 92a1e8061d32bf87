import {InputError} from '../core/errors.js'

/** All of stdin; refuses to wait on an interactive terminal. */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new InputError('stdin is a terminal', {hint: 'pipe line protocol in (… | mon write -) or name a file'})
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
