import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openNotifyContext} from '../../cli/notify-context.js'
import {renderPreview, renderTestResult} from '../../cli/render/notify.js'
import {EXIT_RUNTIME} from '../../core/errors.js'
import {parseLabelSet, previewTestNotification, sendTestNotification, type PreviewResult, type TestResult} from '../../core/notify/index.js'

export default class NotifyTest extends BaseCommand {
  static override summary = 'Send a test notification to every channel of a receiver.'
  static override description =
    'Sends a made-up alert (alertname=MonTestNotification) straight to the receiver\'s channels, not through the outbox, and reports each channel. Exit 1 if any channel failed. PagerDuty and Opsgenie test alerts are resolved right after they are created.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> team-slack',
    '<%= config.bin %> <%= command.id %> oncall --channel pagerduty[0]',
    '<%= config.bin %> <%= command.id %> db-team --label severity=critical,host=db-1 --json',
    '<%= config.bin %> <%= command.id %> team-slack --resolved',
    '<%= config.bin %> <%= command.id %> team-slack --preview   # print the rendered words, send nothing',
  ]

  static override args = {receiver: Args.string({description: 'receiver name (notify.receivers[].name)', required: true})}
  static override flags = {
    channel: Flags.string({description: 'only this channel: a key such as slack[0], or a type such as email'}),
    // --label as in mon alerts list; --labels, the old spelling, stays accepted (hidden)
    label: Flags.string({char: 'l', aliases: ['labels'], description: 'labels of the test alert, e.g. severity=critical,team=db (repeatable)', multiple: true}),
    resolved: Flags.boolean({description: 'send it as resolved instead of firing'}),
    preview: Flags.boolean({aliases: ['dry-run'], description: "print what each channel would say (its title, text … rendered with the receiver's templates) and send nothing"}),
  }

  async run(): Promise<TestResult | PreviewResult> {
    const {args, flags} = await this.parse(NotifyTest)
    const ctx = await openNotifyContext(flags)
    try {
      if (flags.preview) {
        const preview = previewTestNotification(ctx.notify, args.receiver, {
          now: ctx.clock.now(),
          labels: flags.label ? parseLabelSet(flags.label) : undefined,
          status: flags.resolved ? 'resolved' : 'firing',
          channel: flags.channel,
        })
        if (!this.jsonEnabled()) this.log(renderPreview(preview))
        return preview
      }

      const result = await sendTestNotification(ctx.notify, args.receiver, {
        now: ctx.clock.now(),
        labels: flags.label ? parseLabelSet(flags.label) : undefined,
        status: flags.resolved ? 'resolved' : 'firing',
        channel: flags.channel,
      })
      if (!this.jsonEnabled()) this.log(renderTestResult(result))
      if (result.channels.some((c) => !c.ok)) process.exitCode = EXIT_RUNTIME
      return result
    } finally {
      ctx.close()
    }
  }
}
