/**
 * What a command prints. Results a script may capture (addresses) go to stdout; events and errors go
 * to stderr, as readable lines, or with --json as one JSON object per line (to stdout, except when
 * stdout carries data, as with connect --stdio). --verbose adds every state change.
 */
import { describeError, isTunnelError } from '../errors.ts'

export interface OutputOptions {
  json?: boolean
  verbose?: boolean
  /** stdout carries data: write everything to stderr. */
  dataOnStdout?: boolean
}

export class Output {
  readonly #o: OutputOptions
  constructor(options: OutputOptions) {
    this.#o = options
  }

  /** A result line (human) or object (json). */
  result(fields: Record<string, unknown>, text: string): void {
    if (this.#o.json) this.#write(JSON.stringify({ event: 'ready', ...fields }), !this.#o.dataOnStdout)
    else this.#write(text, !this.#o.dataOnStdout)
  }

  /** An event worth showing without --verbose (errors, sessions, readiness). */
  event(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.#o.json)
      this.#write(
        JSON.stringify({ event, time: new Date().toISOString(), ...serialize(fields) }),
        !this.#o.dataOnStdout,
      )
    else this.#write(text, false)
  }

  /** A one-off notice (a key was created): always to stderr, so stdout starts with the result. */
  notice(event: string, fields: Record<string, unknown>, text: string): void {
    this.#write(
      this.#o.json ? JSON.stringify({ event, time: new Date().toISOString(), ...serialize(fields) }) : text,
      false,
    )
  }

  /** A state change shown with --verbose (and always with --json). */
  detail(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.#o.json) this.event(event, fields, text)
    else if (this.#o.verbose) this.#write(text, false)
  }

  #write(line: string, stdout: boolean): void {
    ;(stdout ? process.stdout : process.stderr).write(`${line}\n`)
  }
}

function serialize(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error)
      out[k] = { code: isTunnelError(v) ? v.code : undefined, message: describeError(v) }
    else if (v !== undefined) out[k] = v
  }
  return out
}

/** `CODE: message` for an error, or '' for none. */
export function why(err: Error | undefined): string {
  return err === undefined ? '' : describeError(err)
}
