/**
 * A thin command layer on node:util parseArgs, in the shape of citty's defineCommand (nuxt/cli).
 * Why not citty itself: it silently ignores unknown flags (a typo such as `--alow-tcp` must fail
 * loudly in a tool that guards SSH access) and reads every `--no-X` as the negation of `X`, which
 * breaks flags named `--no-relay`. parseArgs in strict mode rejects both problems.
 */
import { parseArgs } from 'node:util'
import { TunnelError } from '../errors.ts'

export interface FlagDef {
  type: 'string' | 'boolean'
  description: string
  /** The flag may repeat; the value is then a string[]. */
  multiple?: boolean
  short?: string
  /** Shown in help as `--flag <hint>`. */
  hint?: string
  default?: string | boolean
  /** The flag must be given (a usage error otherwise). */
  required?: boolean
}

export interface PositionalDef {
  name: string
  description: string
  required?: boolean
}

type FlagValue<F extends FlagDef> = F['type'] extends 'boolean'
  ? boolean
  : F['multiple'] extends true
    ? string[]
    : F['default'] extends string
      ? string
      : F['required'] extends true
        ? string
        : string | undefined

export type Flags<D extends Record<string, FlagDef>> = { [K in keyof D]: FlagValue<D[K]> }

export interface CommandContext<D extends Record<string, FlagDef>> {
  flags: Flags<D>
  positionals: string[]
}

export interface CommandDef<D extends Record<string, FlagDef> = Record<string, FlagDef>> {
  name: string
  description: string
  positionals?: PositionalDef[]
  flags: D
  /** Extra help text printed after the flags (examples). */
  examples?: string[]
  /** Resolves to the exit code (0 when it returns nothing). */
  run(ctx: CommandContext<D>): Promise<number | void> | number | void
}

export function defineCommand<const D extends Record<string, FlagDef>>(def: CommandDef<D>): CommandDef<D> {
  return def
}

/** Parses argv for `def`; unknown flags, missing values and missing positionals are usage errors. */
export function parseCommandArgs<D extends Record<string, FlagDef>>(
  def: CommandDef<D>,
  argv: string[],
): CommandContext<D> {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }
  > = {}
  for (const [name, flag] of Object.entries(def.flags)) {
    options[name] = { type: flag.type }
    if (flag.multiple) options[name].multiple = true
    if (flag.short) options[name].short = flag.short
    if (flag.default !== undefined) options[name].default = flag.default
  }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      (err as Error).message.replace(/\. To specify a positional.*$/s, ''),
    )
  }
  const values = parsed.values as Record<string, unknown>
  for (const [name, flag] of Object.entries(def.flags)) {
    if (flag.type === 'boolean' && values[name] === undefined) values[name] = false
    if (flag.multiple && values[name] === undefined) values[name] = []
    if (flag.required && values[name] === undefined) {
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `--${name} is required: ${flag.description}`)
    }
  }
  const required = (def.positionals ?? []).filter((p) => p.required !== false)
  if (parsed.positionals.length < required.length) {
    const missing = required[parsed.positionals.length]
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `missing ${missing?.name.toUpperCase()}: ${missing?.description}`,
    )
  }
  if (parsed.positionals.length > (def.positionals ?? []).length) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `unexpected argument ${JSON.stringify(parsed.positionals[(def.positionals ?? []).length])}`,
    )
  }
  return { flags: values as Flags<D>, positionals: parsed.positionals }
}

export function renderHelp(def: CommandDef, program = 'burrow'): string {
  const pos = (def.positionals ?? []).map((p) =>
    p.required === false ? `[${p.name.toUpperCase()}]` : p.name.toUpperCase(),
  )
  const lines = [
    `${def.description}`,
    '',
    `Usage: ${program} ${def.name} ${[...pos, '[flags]'].join(' ')}`,
    '',
  ]
  if (def.positionals?.length) {
    for (const p of def.positionals) lines.push(`  ${p.name.toUpperCase().padEnd(28)} ${p.description}`)
    lines.push('')
  }
  lines.push('Flags:')
  const entries = Object.entries(def.flags).concat([
    ['help', { type: 'boolean', description: 'show this help', short: 'h' }],
  ])
  for (const [name, flag] of entries) {
    const left = `${flag.short ? `-${flag.short}, ` : '    '}--${name}${flag.type === 'string' ? ` <${flag.hint ?? 'value'}>` : ''}`
    const extra = [
      flag.multiple ? '(repeatable)' : '',
      flag.default !== undefined && flag.default !== false ? `(default: ${flag.default})` : '',
    ]
      .filter(Boolean)
      .join(' ')
    lines.push(`  ${left.padEnd(32)} ${flag.description}${extra ? ` ${extra}` : ''}`)
  }
  if (def.examples?.length) lines.push('', 'Examples:', ...def.examples.map((e) => `  ${e}`))
  return lines.join('\n')
}
