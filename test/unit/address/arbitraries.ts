// fast-check generators shared by the address tests (a library, not a test file).
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { formatAddress } from '../../../src/address/parse.ts'
import type {
  AddressAlternative,
  AddressPart,
  MultiAddress,
  NodeAddress,
  TransportAddress,
} from '../../../src/address/types.ts'
import { idFromPublicKey } from '../../../src/identity/keys.ts'

/** Every character an argument can carry: 0x21-0x7E (data characters and the four escapable ones). */
export const ARG_CHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))
/** The characters that must be escaped with `!` inside an argument. */
export const ESCAPABLE = ['!', '~', ':', ';']

/** Records with Object.prototype, like the parser's output (deepStrictEqual compares prototypes). */
const PLAIN = { noNullPrototype: true }

/** A valid name: [a-z][a-z0-9-]+ (short, so that collisions with real protocol names happen). */
export const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{1,6}$/)

/** An argument, biased towards the escapable characters so most contain one or more. */
export const argArb = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom(...ESCAPABLE), weight: 1 },
    { arbitrary: fc.constantFrom(...ARG_CHARS), weight: 3 },
  ),
  maxLength: 12,
})

export const partArb: fc.Arbitrary<AddressPart> = fc.record(
  {
    name: nameArb,
    args: fc.array(argArb, { maxLength: 4 }),
  },
  PLAIN,
)

export const alternativeArb: fc.Arbitrary<AddressAlternative> = fc.record(
  {
    protocol: partArb,
    transforms: fc.array(partArb, { maxLength: 3 }),
  },
  PLAIN,
)

/** A whole address structure; every one of them can be formatted. */
export const multiArb: fc.Arbitrary<MultiAddress> = fc.array(alternativeArb, { minLength: 1, maxLength: 4 })

/** Characters the grammar must refuse: space, DEL, controls, non-ASCII, a lone surrogate. */
const REFUSED_CHARS = [' ', '\x7f', '\x00', '\n', '\t', 'é', '€', '\ud83d']
/** Characters that matter to the grammar, and a few it must refuse. */
const GRAMMAR_CHARS = [...'abcnetz09-:;~!"<=}{AZ./[]_', ...REFUSED_CHARS]

/**
 * Random strings over the grammar's alphabet, weighted so that a fair share (about a fifth) is valid:
 * name characters most, then the separators and `!`, then other data characters, then refused ones.
 */
export const grammarTextArb = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom(...'abnetz09-'), weight: 8 },
    { arbitrary: fc.constantFrom(...ESCAPABLE), weight: 3 },
    { arbitrary: fc.constantFrom(...'"<=}{AZ./[]_'), weight: 2 },
    { arbitrary: fc.constantFrom(...REFUSED_CHARS), weight: 1 },
  ),
  maxLength: 40,
})

/** Random sequences of grammar tokens (names, separators, escapes, junk) after a name: often valid. */
export const grammarTokensArb = fc
  .tuple(
    fc.constantFrom('tcp', 'ws', 'a-1'),
    fc.array(
      fc.oneof(
        { arbitrary: fc.constantFrom('tcp', 'ws', 'noise', 'a-1', 'zz9'), weight: 4 },
        { arbitrary: fc.constantFrom(':', ':', ':', '~', ';'), weight: 4 },
        { arbitrary: fc.constantFrom('!!', '!~', '!:', '!;', 'h.com', '7000', '//h', '"}<'), weight: 3 },
        { arbitrary: fc.constantFrom('!', 'A', 'a', '-x', ...REFUSED_CHARS), weight: 1 },
      ),
      { maxLength: 12 },
    ),
  )
  .map(([first, tokens]) => first + tokens.join(''))

/** A valid address string with one random edit (insert, delete or replace a character): near misses. */
export const mutatedTextArb = fc
  .tuple(
    multiArb,
    fc.nat(),
    fc.constantFrom('insert', 'delete', 'replace'),
    fc.constantFrom(...GRAMMAR_CHARS),
  )
  .map(([m, at, edit, c]) => {
    const s = formatAddress(m)
    const i = at % (s.length + 1)
    if (edit === 'insert') return s.slice(0, i) + c + s.slice(i)
    if (edit === 'delete') return s.slice(0, i) + s.slice(i + 1)
    return s.slice(0, i) + c + s.slice(i + 1)
  })

/** A fresh, valid node id (52 lowercase base32 characters). */
export const newId = (): string => idFromPublicKey(randomBytes(32))

export const idArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => idFromPublicKey(b))

export const hostArb = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
  fc.constantFrom('localhost', 'nas', 'printer.local'),
)
export const portArb = fc.integer({ min: 0, max: 65535 })

/** URL path characters a WHATWG URL keeps as they are, including the ones the grammar must escape. */
const PATH_CHARS = [...'abcXYZ019-_~!$&()*+,;=:@']
const segmentArb = fc.string({ unit: fc.constantFrom(...PATH_CHARS), minLength: 1, maxLength: 6 })
export const wsPathArb = fc
  .tuple(
    fc.array(segmentArb, { maxLength: 3 }),
    fc.option(fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 8 })),
  )
  .map(([segments, query]) => '/' + segments.join('/') + (query === null || query === '' ? '' : '?' + query))

export const transportArb: fc.Arbitrary<TransportAddress> = fc.oneof(
  fc.record({ kind: fc.constant('tcp' as const), host: hostArb, port: portArb }, PLAIN),
  fc.record(
    {
      kind: fc.constant('unix' as const),
      path: fc.string({ unit: fc.constantFrom(...ARG_CHARS), minLength: 1, maxLength: 20 }),
    },
    PLAIN,
  ),
  fc.record(
    { kind: fc.constantFrom('ws' as const, 'wss' as const), host: hostArb, port: portArb, path: wsPathArb },
    PLAIN,
  ),
)

export const nodeAddressArb: fc.Arbitrary<NodeAddress> = fc
  .tuple(transportArb, fc.option(idArb))
  .map(([transport, id]) => (id === null ? { transport } : { transport, id }))

/** Strings that look like typed addresses (known names, hostile arguments): they reach node.ts's checks. */
export const plausibleTextArb = fc
  .tuple(
    fc.constantFrom('tcp', 'net', 'unix', 'ws', 'wss', 'shs', 'noise'),
    fc.string({ unit: fc.constantFrom(...ARG_CHARS, ...'[]::////'), maxLength: 30 }),
    fc.option(fc.oneof(idArb, fc.string({ unit: fc.constantFrom(...ARG_CHARS), maxLength: 60 }))),
  )
  .map(([name, rest, id]) => `${name}:${rest}${id === null ? '' : `~noise:${id}`}`)
