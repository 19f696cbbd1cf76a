/**
 * The multiserver address grammar (DESIGN.md decision 5), at the grammar level only: strings to
 * {@link MultiAddress} structures and back. What the parts mean (tcp, ws, noise, ...) is node.ts.
 *
 * ```
 * multiaddress = alternative *( ";" alternative )
 * alternative  = part *( "~" part )              ; the first part is the protocol, the rest transforms
 * part         = name *( ":" arg )
 * name         = %x61-7A 1*( %x61-7A / DIGIT / "-" )   ; [a-z][a-z0-9-]+, so at least 2 characters
 * arg          = *( %x22-39 / %x3C-7D / escape )       ; may be empty
 * escape       = "!" ( "!" / "~" / ":" / ";" )
 * ```
 *
 * This accepts exactly the strings the reference implementation (npm `multiserver-address`) accepts,
 * up to {@link MAX_ADDRESS_LENGTH}, and decodes them to the same structure (test/unit/address/
 * differential.test.ts checks both). Where it differs: {@link formatAddress} re-escapes `!`, `~`, `:`
 * and `;` inside arguments (the reference `encode` writes them raw, so its output parses back to a
 * different structure), and input length is bounded. The parser is one left-to-right pass with no
 * backtracking, so its cost is linear in the (bounded) input.
 */
import { TunnelError } from '../errors.ts'
import type { AddressAlternative, AddressPart, MultiAddress } from './types.ts'

/**
 * The longest address string accepted, in UTF-16 code units (all valid addresses are ASCII, so this
 * is also bytes). Addresses arrive from tokens, config files and peers; a bound keeps a hostile one
 * from costing unbounded memory or time. 4 KiB holds dozens of alternatives with 52-character ids.
 */
export const MAX_ADDRESS_LENGTH = 4096

/** A name: a lowercase letter, then one or more lowercase letters, digits or `-`. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]+$/

/** The characters that must be written as `!` + the character inside an argument. */
const ESCAPED = /[!~:;]/g

const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a
const isNameChar = (c: number): boolean => isLower(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d
/** An argument byte that stands for itself: 0x22-0x39 and 0x3C-0x7D (so not space, `!`, `:`, `;`, `~`). */
const isDataChar = (c: number): boolean => (c >= 0x22 && c <= 0x39) || (c >= 0x3c && c <= 0x7d)
/** The characters `!` may escape: `!`, `~`, `:`, `;`. */
const isEscapable = (c: number): boolean => c === 0x21 || c === 0x7e || c === 0x3a || c === 0x3b

/** Text safe to print: printable ASCII as is, anything else (controls, non-ASCII, `"`, `\`) as a \u escape. */
function printable(text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    out +=
      c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? text[i] : `\\u${c.toString(16).padStart(4, '0')}`
  }
  return out
}

/** The input, or a window of it around `pos` when it is long, quoted for an error message. */
function excerpt(text: string, pos: number): string {
  if (text.length <= 80) return `"${printable(text)}"`
  const from = Math.max(0, pos - 40)
  const to = Math.min(text.length, pos + 40)
  return `"${from > 0 ? '...' : ''}${printable(text.slice(from, to))}${to < text.length ? '...' : ''}"`
}

/** The one syntax error: names the 0-based position and the character there (or the end), and what was expected. */
function syntaxError(text: string, pos: number, expected: string): TunnelError {
  const what = pos >= text.length ? 'end of input' : `'${printable(text.charAt(pos))}'`
  return new TunnelError(
    'TUN_ERR_ADDRESS_SYNTAX',
    `unexpected ${what} at position ${pos} in ${excerpt(text, pos)}: expected ${expected}`,
  )
}

/**
 * Parses an address string into its alternatives, each a protocol part and its transform parts, with
 * the arguments unescaped (`tcp:!:!:1:7000` -> `tcp` with args `['::1', '7000']`).
 *
 * Why a hand-written scanner rather than the reference's regex or Earley parser: it reports the first
 * bad position (the reference only says "invalid"), it runs in one pass, and it has no dependency.
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_SYNTAX` naming the position and character of the first error,
 *   or the length when the input is longer than {@link MAX_ADDRESS_LENGTH}; `TUN_ERR_INVALID_ARGUMENT`
 *   when `text` is not a string.
 */
export function parseAddress(text: string): MultiAddress {
  if (typeof text !== 'string') {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `an address is a string, got ${typeof text}`)
  }
  if (text.length > MAX_ADDRESS_LENGTH) {
    throw new TunnelError(
      'TUN_ERR_ADDRESS_SYNTAX',
      `address too long: ${text.length} characters, more than the limit of ${MAX_ADDRESS_LENGTH} (from position ${MAX_ADDRESS_LENGTH} on)`,
    )
  }
  let pos = 0

  const readName = (): string => {
    const start = pos
    if (!isLower(text.charCodeAt(pos))) throw syntaxError(text, pos, 'a name ([a-z][a-z0-9-]+)')
    pos++
    if (!isNameChar(text.charCodeAt(pos))) {
      throw syntaxError(text, pos, 'a name of at least 2 characters ([a-z][a-z0-9-]+)')
    }
    while (isNameChar(text.charCodeAt(pos))) pos++
    return text.slice(start, pos)
  }

  const readArg = (): string => {
    let arg = ''
    let runStart = pos
    for (;;) {
      const c = text.charCodeAt(pos)
      if (isDataChar(c)) {
        pos++
      } else if (c === 0x21) {
        const next = text.charCodeAt(pos + 1)
        if (!isEscapable(next)) throw syntaxError(text, pos + 1, "one of '!', '~', ':', ';' after '!'")
        arg += text.slice(runStart, pos) + text.charAt(pos + 1)
        pos += 2
        runStart = pos
      } else {
        return arg + text.slice(runStart, pos)
      }
    }
  }

  let endsWithName = false // for the hint: after a name an argument character is not allowed
  const readPart = (): AddressPart => {
    const name = readName()
    const args: string[] = []
    endsWithName = text.charCodeAt(pos) !== 0x3a
    while (text.charCodeAt(pos) === 0x3a) {
      pos++
      args.push(readArg())
    }
    return { name, args }
  }

  const alternatives: AddressAlternative[] = []
  for (;;) {
    const protocol = readPart()
    const transforms: AddressPart[] = []
    while (text.charCodeAt(pos) === 0x7e) {
      pos++
      transforms.push(readPart())
    }
    alternatives.push({ protocol, transforms })
    if (pos === text.length) return alternatives
    if (text.charCodeAt(pos) !== 0x3b) {
      const expected = endsWithName
        ? "a name character ([a-z0-9-]), ':', '~', ';' or the end"
        : "an argument character, '!', ':', '~', ';' or the end"
      throw syntaxError(text, pos, expected)
    }
    pos++
  }
}

/** Why `part` cannot be written in the grammar, or undefined when it can. */
function partProblem(part: AddressPart): string | undefined {
  if (typeof part?.name !== 'string' || !NAME_PATTERN.test(part.name)) {
    return `name ${JSON.stringify(part?.name)} does not match [a-z][a-z0-9-]+`
  }
  if (!Array.isArray(part.args)) return `part "${part.name}" has no args array`
  for (const arg of part.args) {
    if (typeof arg !== 'string') return `part "${part.name}" has a non-string argument`
    for (let i = 0; i < arg.length; i++) {
      const c = arg.charCodeAt(i)
      if (!isDataChar(c) && !isEscapable(c)) {
        return `argument "${printable(arg)}" of "${part.name}" has '${printable(arg.charAt(i))}' at position ${i}, which no address can carry (only 0x21-0x7E)`
      }
    }
  }
  return undefined
}

/** One part as text: the name, then each argument after a `:`, with `!`, `~`, `:`, `;` escaped. */
const formatPart = (part: AddressPart): string =>
  part.name + part.args.map((arg) => ':' + arg.replace(ESCAPED, '!$&')).join('')

/**
 * Writes an address structure as a string: the inverse of {@link parseAddress}, so
 * `parseAddress(formatAddress(m))` deep-equals `m` for every `m` it accepts, and
 * `formatAddress(parseAddress(s)) === s` whenever `s` uses escapes only where needed (the canonical form).
 *
 * Why it validates: a structure built in code can hold what no string can say (a space, a non-ASCII
 * character, a one-letter name, no alternatives at all); writing it anyway would produce a string
 * that fails to parse, or worse parses to something else. It also keeps the output within
 * {@link MAX_ADDRESS_LENGTH}, so whatever it writes, {@link parseAddress} reads.
 *
 * @throws TunnelError `TUN_ERR_ADDRESS_SYNTAX` saying which alternative and part cannot be written.
 */
export function formatAddress(m: MultiAddress): string {
  if (!Array.isArray(m) || m.length === 0) {
    throw new TunnelError('TUN_ERR_ADDRESS_SYNTAX', 'an address has at least one alternative')
  }
  const alternatives = m.map((alt, i) => {
    if (!Array.isArray(alt?.transforms)) {
      throw new TunnelError('TUN_ERR_ADDRESS_SYNTAX', `alternative ${i + 1} has no transforms array`)
    }
    const parts = [alt.protocol, ...alt.transforms]
    parts.forEach((part, j) => {
      const problem = partProblem(part)
      if (problem !== undefined) {
        throw new TunnelError('TUN_ERR_ADDRESS_SYNTAX', `alternative ${i + 1}, part ${j + 1}: ${problem}`)
      }
    })
    return parts.map(formatPart).join('~')
  })
  const text = alternatives.join(';')
  if (text.length > MAX_ADDRESS_LENGTH) {
    throw new TunnelError(
      'TUN_ERR_ADDRESS_SYNTAX',
      `formatted address is ${text.length} characters, the limit is ${MAX_ADDRESS_LENGTH}`,
    )
  }
  return text
}
