import {Flags} from '@oclif/core'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {BaseCommand} from '../../cli/base.js'
import {defaultConfigPath} from '../../core/config/paths.js'
import {sampleConfig} from '../../core/config/sample.js'
import {InputError} from '../../core/errors.js'

export default class ConfigInit extends BaseCommand {
  static override summary = 'Write a commented sample configuration.'
  static override description = 'The sample documents every option; as written it means exactly the defaults, so you can edit only what you need.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>                      # writes $XDG_CONFIG_HOME/mon/config.yaml',
    '<%= config.bin %> <%= command.id %> --path ./mon.yaml',
    '<%= config.bin %> <%= command.id %> --stdout > /etc/mon/mon.yaml',
  ]

  static override flags = {
    path: Flags.string({char: 'p', description: 'where to write (default: $XDG_CONFIG_HOME/mon/config.yaml)'}),
    force: Flags.boolean({description: 'overwrite an existing file'}),
    stdout: Flags.boolean({description: 'print the sample instead of writing it', exclusive: ['path', 'force']}),
  }

  async run(): Promise<{path?: string; bytes: number}> {
    const {flags} = await this.parse(ConfigInit)
    const text = sampleConfig()
    if (flags.stdout) {
      process.stdout.write(text)
      return {bytes: Buffer.byteLength(text)}
    }

    const path = resolve(flags.path ?? defaultConfigPath())
    if (existsSync(path) && !flags.force) throw new InputError(`${path} already exists`, {hint: 'pass --force to overwrite it, or --path to write elsewhere'})
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, text, {mode: 0o600})
    if (!this.jsonEnabled()) this.log(`wrote ${path}\nnext: edit it, then check it with: mon config validate --config ${path}`)
    return {path, bytes: Buffer.byteLength(text)}
  }
}
