import {Args, Command, Flags, loadHelpClass} from '@oclif/core'

/** `mon help [COMMAND…]`: the help `mon COMMAND --help` (or -h) prints, the way git and oclif CLIs offer it. */
export default class Help extends Command {
  static override summary = 'Show help for mon or for one of its commands.'
  static override description = `The same text as --help (or -h) after the command: its usage, flags, description and examples. Topics (e.g. "alerts silence") list their commands.`
  static override strict = false
  static override args = {command: Args.string({required: false, description: 'the command, its words separated by spaces'})}
  static override flags = {'nested-commands': Flags.boolean({char: 'n', description: 'list every command under a topic, not only its direct ones'})}
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> query',
    '<%= config.bin %> <%= command.id %> alerts silence add',
    '<%= config.bin %> query -h',
  ]

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    const options = {...(this.config.pjson.oclif.helpOptions ?? {}), all: flags['nested-commands']}
    await new HelpClass(this.config, options).showHelp(argv as string[])
  }
}
