import {readdirSync, readFileSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import type {Logger} from '../../log.js'
import {generatorUrl, notificationNote} from '../deliver/render.js'
import type {Notification} from '../types.js'
import {AlertList, checkBody, KV, NotifyTemplateError, parseTemplateSource, renderBody, Struct, TemplateRenderError, type Define, type Node, type RenderOptions, type Value} from './engine.js'

/**
 * The templates of a `notify:` section compiled together: the named templates (`templates.define`
 * and the `{{ define }}`s of `templates.files`) and every title/text field of receivers and
 * channels, each checked against the notification's fields. Channels ask
 * {@link ChannelTemplates.render} for a field: undefined means "use your default words", which is
 * also what a template that fails at send time gets (the error is logged, the notification sent).
 */

/** The `notify.templates` section. */
export interface TemplatesConfig {
  /** template files ({{ define }} blocks, as Alertmanager's `templates:`); globs in the file name */
  files: string[]
  /** named templates: name → template text */
  define: Record<string, string>
  /**
   * The template files as read when the config was loaded (set by the loader, not written in the
   * file): what was checked is what runs, and a reload sees a changed file as a changed config.
   */
  sources?: TemplateFile[]
}

export interface TemplateFile {
  file: string
  text: string
}

/** Per receiver, fields every channel falls back to. */
export const RECEIVER_TEMPLATE_FIELDS = ['title', 'text'] as const

/**
 * Template fields of each channel type, and the receiver field each falls back to. A channel type
 * not listed takes no templates.
 */
export const CHANNEL_TEMPLATE_FIELDS: Record<string, Record<string, 'title' | 'text' | undefined>> = {
  slack: {title: 'title', text: 'text'},
  email: {subject: 'title', text: 'text', html: undefined},
  webhook: {text: 'text'},
  ntfy: {title: 'title', text: 'text'},
}

/** Where a template source is written, for positions in problems. */
export type TemplateOrigin = {kind: 'config'; path: Array<string | number>} | {kind: 'file'; file: string}

export interface TemplateProblem {
  origin: TemplateOrigin
  /** the template text (a file's whole text) */
  text: string
  /** offset in `text` */
  offset: number
  message: string
  hint?: string
}

interface Field {
  body: Node[]
  html: boolean
}

export interface ChannelTemplates {
  /** True when the field has a user template (receiver or channel level). */
  has(field: string): boolean
  /** The field rendered for `n`; undefined without a template or when rendering fails (logged). */
  render(field: string, n: Notification): string | undefined
}

export interface CompiledTemplates {
  /** The templates of one channel (`slack`, index 0) of one receiver. */
  channel(receiver: string, type: string, index: number): ChannelTemplates
  problems: TemplateProblem[]
  /** the last render errors (newest last, at most 20), for status and tests */
  readonly renderErrors: string[]
  /** how many renderings failed so far */
  readonly renderErrorCount: number
  /** the template files read (in order) */
  files: TemplateFile[]
}

type ReceiverLike = {name: string; title?: string; text?: string} & Record<string, unknown>
export interface TemplatedNotifyConfig {
  templates?: TemplatesConfig
  receivers: ReceiverLike[]
}

export interface CompileTemplatesOptions {
  log?: Logger
  render?: RenderOptions
  /** reads a template file (tests) */
  readFile?: (file: string) => string
}

export const NO_TEMPLATES: ChannelTemplates = {has: () => false, render: () => undefined}

export function compileTemplates(config: TemplatedNotifyConfig, opts: CompileTemplatesOptions = {}): CompiledTemplates {
  const problems: TemplateProblem[] = []
  const sources: Array<{origin: TemplateOrigin; text: string}> = []
  const addSource = (origin: TemplateOrigin, text: string) => sources.push({origin, text}) - 1
  const problem = (e: NotifyTemplateError) => {
    const s = sources[e.source]!
    problems.push({origin: s.origin, text: s.text, offset: e.offset, message: `template: ${e.reason}`, hint: e.hint})
  }

  const defines = new Map<string, Define>()
  const addDefine = (d: Define) => {
    const before = defines.get(d.name)
    if (before) {
      const where = sources[before.source]!.origin
      problem(new NotifyTemplateError(d.source, d.offset, `template "${d.name}" is defined twice (also in ${where.kind === 'file' ? where.file : formatOrigin(where.path)})`, 'rename one of them'))
      return
    }
    defines.set(d.name, d)
  }

  const templates = config.templates ?? {files: [], define: {}}
  const read = opts.readFile ?? ((f: string) => readFileSync(f, 'utf8'))
  const files: TemplateFile[] = []
  const addFile = (file: string, text: string) => {
    files.push({file, text})
    const id = addSource({kind: 'file', file}, text)
    try {
      const parsed = parseTemplateSource(text, id)
      parsed.defines.forEach(addDefine)
    } catch (err) {
      if (!(err instanceof NotifyTemplateError)) throw err
      problem(err)
    }
  }
  if (templates.sources) for (const f of templates.sources) addFile(f.file, f.text)
  else templates.files.forEach((pattern, i) => {
    let files: string[]
    try {
      files = expandTemplateFiles(pattern)
    } catch (err) {
      const text = pattern
      problems.push({origin: {kind: 'config', path: ['notify', 'templates', 'files', i]}, text, offset: 0, message: (err as Error).message})
      return
    }
    for (const file of files) {
      let text: string
      try {
        text = read(file)
      } catch (err) {
        problems.push({origin: {kind: 'config', path: ['notify', 'templates', 'files', i]}, text: pattern, offset: 0, message: `cannot read template file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`})
        continue
      }
      addFile(file, text)
    }
  })

  for (const [name, text] of Object.entries(templates.define)) {
    const id = addSource({kind: 'config', path: ['notify', 'templates', 'define', name]}, text)
    try {
      const parsed = parseTemplateSource(text, id, {allowDefine: false})
      addDefine({name, body: parsed.body, source: id, offset: 0})
    } catch (err) {
      if (!(err instanceof NotifyTemplateError)) throw err
      problem(err)
      // known by name, so calls to it are not reported again
      addDefine({name, body: [], source: id, offset: 0})
    }
  }

  // every title/text field, checked with `.` the notification
  const checked = new Set<string>()
  const fields = new Map<string, Field>()
  const compileField = (path: Array<string | number>, text: string, html: boolean): void => {
    const id = addSource({kind: 'config', path}, text)
    try {
      const parsed = parseTemplateSource(text, id, {allowDefine: false})
      const errors = checkBody(parsed.body, id, defines, 'data', checked)
      errors.forEach(problem)
      if (errors.length === 0) fields.set(path.slice(2).join('\u0000'), {body: parsed.body, html})
    } catch (err) {
      if (!(err instanceof NotifyTemplateError)) throw err
      problem(err)
    }
  }
  config.receivers.forEach((r, i) => {
    for (const f of RECEIVER_TEMPLATE_FIELDS) if (typeof r[f] === 'string') compileField(['notify', 'receivers', i, f], r[f], false)
    for (const [type, names] of Object.entries(CHANNEL_TEMPLATE_FIELDS)) {
      const list = r[`${type}_configs`]
      if (!Array.isArray(list)) continue
      list.forEach((c: Record<string, unknown>, j) => {
        for (const f of Object.keys(names)) if (typeof c?.[f] === 'string') compileField(['notify', 'receivers', i, `${type}_configs`, j, f], c[f] as string, f === 'html')
      })
    }
  })

  // named templates no field calls are still checked, with `.` of any type
  const reached = new Set([...checked].map((k) => k.split('\u0000')[0]!))
  for (const d of defines.values()) if (!reached.has(d.name)) checkBody(d.body, d.source, defines, 'any', checked).forEach(problem)

  const unique = dedupe(problems)
  const renderErrors: string[] = []
  let renderErrorCount = 0
  const log = opts.log
  const byReceiver = new Map(config.receivers.map((r, i) => [r.name, i]))
  return {
    problems: unique,
    renderErrors,
    get renderErrorCount() {
      return renderErrorCount
    },
    files,
    channel(receiver, type, index) {
      const i = byReceiver.get(receiver)
      const names = CHANNEL_TEMPLATE_FIELDS[type]
      if (i === undefined || !names) return NO_TEMPLATES
      const pick = (field: string): Field | undefined => {
        if (!(field in names)) return undefined
        const own = fields.get([i, `${type}_configs`, index, field].join('\u0000'))
        const fallback = names[field]
        return own ?? (fallback ? fields.get([i, fallback].join('\u0000')) : undefined)
      }
      return {
        has: (field) => pick(field) !== undefined,
        render(field, n) {
          const f = pick(field)
          if (!f) return undefined
          try {
            return renderBody(f.body, defines, notificationData(n), {...opts.render, html: f.html})
          } catch (err) {
            if (!(err instanceof TemplateRenderError)) throw err
            const message = `${receiver}/${type}[${index}] ${field}: ${err.message}`
            renderErrorCount++
            renderErrors.push(message)
            if (renderErrors.length > 20) renderErrors.shift()
            log?.warn('notification template failed; sending the default words', {receiver, channel: `${type}[${index}]`, field, error: err.message})
            return undefined
          }
        },
      }
    },
  }
}

function dedupe(problems: TemplateProblem[]): TemplateProblem[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${JSON.stringify(p.origin)}\u0000${p.offset}\u0000${p.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function formatOrigin(path: Array<string | number>): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : /^[A-Za-z0-9_-]+$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('')
}

/** What a template sees as `.`: Alertmanager's template data, plus `.Message` (an acknowledgement's note). */
export function notificationData(n: Notification): Struct {
  const alerts = n.alerts.map(
    (a) =>
      new Struct('alert', {
        Status: a.status,
        Labels: new KV(a.labels),
        Annotations: new KV(a.annotations),
        StartsAt: a.startsAt,
        EndsAt: a.endsAt,
        GeneratorURL: generatorUrl(n, a.fingerprint),
        Fingerprint: a.fingerprint,
        Value: a.value,
      }),
  )
  const fields: Record<string, Value> = {
    Receiver: n.receiver,
    Status: n.status,
    Alerts: new AlertList(alerts),
    GroupLabels: new KV(n.groupLabels),
    CommonLabels: new KV(n.commonLabels),
    CommonAnnotations: new KV(n.commonAnnotations),
    ExternalURL: n.externalURL ?? '',
    GroupKey: n.groupKey,
    Message: notificationNote(n) ?? '',
  }
  return new Struct('data', fields)
}

/**
 * Template files of one `templates.files` entry: a path, or a glob with `*`, `?` or `[…]` in the
 * file name (not in directory names). A glob matching nothing is no file; sorted.
 */
export function expandTemplateFiles(pattern: string): string[] {
  const name = basename(pattern)
  const dir = dirname(pattern)
  if (/[*?[]/.test(dir)) throw new Error(`templates.files: globs only in the file name, not in directories: ${pattern}`)
  if (!/[*?[]/.test(name)) return [pattern]
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  const re = new RegExp(
    '^' +
      name.replace(/[.+^${}()|\\]|\*|\?|\[(!?)([^\]]*)\]/g, (m, neg: string | undefined, cls: string | undefined) => {
        if (m === '*') return '[^/]*'
        if (m === '?') return '[^/]'
        if (cls !== undefined) return `[${neg ? '^' : ''}${cls.replace(/\\/g, '\\\\')}]`
        return '\\' + m
      }) +
      '$',
  )
  return entries
    .filter((e) => re.test(e) && !e.startsWith('.'))
    .map((e) => join(dir, e))
    .filter((f) => {
      try {
        return statSync(f).isFile()
      } catch {
        return false
      }
    })
    .sort()
}
