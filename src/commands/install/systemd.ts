import {Flags} from '@oclif/core'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {BaseCommand} from '../../cli/base.js'
import {loadConfig} from '../../core/config/load.js'
import {systemdUnit} from '../../core/daemon/install.js'
import {InputError} from '../../core/errors.js'

export default class InstallSystemd extends BaseCommand {
  static override summary = 'Print (or write) a hardened systemd unit that runs `mon daemon`.'
  static override description = 'Restart=on-failure, NoNewPrivileges, ProtectSystem=strict with only the data dir writable, SIGTERM with time to flush, SIGHUP reload via `systemctl reload mon`. The system unit runs as user mon (DynamicUser: no need to create it) with /var/lib/mon as its StateDirectory; secrets for ${VAR} in the config come from EnvironmentFile=-/etc/mon/mon.env (or LoadCredential=). `systemd-analyze verify` passes on it as printed.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml',
    'sudo <%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml --write && sudo systemctl daemon-reload && sudo systemctl enable --now mon',
    '<%= config.bin %> <%= command.id %> --user --write && systemctl --user enable --now mon',
  ]

  static override flags = {
    user: Flags.boolean({description: 'a user unit (~/.config/systemd/user/mon.service) instead of a system one'}),
    write: Flags.boolean({description: 'write the unit file instead of printing it'}),
    force: Flags.boolean({description: 'overwrite an existing unit file'}),
    'data-dir': Flags.string({description: 'data directory for the daemon (default: /var/lib/mon, or the configured one for --user)'}),
  }

  async run(): Promise<{path: string; unit: string; written: boolean}> {
    const {flags} = await this.parse(InstallSystemd)
    // the unit needs the file's path and data dir; the secrets are for the daemon's environment
    const loaded = await loadConfig({path: flags.config, sections: ['data_dir']})
    const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'run.js')
    const dataDir = flags['data-dir'] ?? (flags.user ? loaded.dataDir : '/var/lib/mon')
    const docs = resolve(dirname(bin), '..', 'README.md')
    const unit = systemdUnit({node: process.execPath, bin, config: loaded.file, dataDir, user: flags.user, docs: existsSync(docs) ? docs : undefined})
    const path = flags.user ? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user', 'mon.service') : '/etc/systemd/system/mon.service'
    if (flags.write) {
      if (existsSync(path) && !flags.force) throw new InputError(`${path} already exists`, {hint: 'pass --force to overwrite it'})
      mkdirSync(dirname(path), {recursive: true})
      writeFileSync(path, unit)
      if (!this.jsonEnabled()) this.log(`wrote ${path}\nnext: systemctl ${flags.user ? '--user ' : ''}daemon-reload && systemctl ${flags.user ? '--user ' : ''}enable --now mon`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(unit)
    }

    return {path, unit, written: flags.write}
  }
}
