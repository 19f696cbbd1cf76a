import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { MAX_ADDRESS_LENGTH, formatAddress, parseAddress } from '../../../src/address/parse.ts'
import type { MultiAddress } from '../../../src/address/types.ts'
import { ESCAPABLE, multiArb } from './arbitraries.ts'

/** Shorthand for expected structures: [[name, ...args], ...transforms] per alternative. */
const m = (...alts: string[][][]): MultiAddress =>
  alts.map(([protocol, ...transforms]) => ({
    protocol: { name: protocol?.[0] ?? '', args: protocol?.slice(1) ?? [] },
    transforms: transforms.map(([name, ...args]) => ({ name: name ?? '', args })),
  }))

const VECTORS: [string, MultiAddress][] = [
  ['tcp:relay.example.com:7000', m([['tcp', 'relay.example.com', '7000']])],
  ['net:host.com:8008~shs:key~gzip', m([['net', 'host.com', '8008'], ['shs', 'key'], ['gzip']])],
  ['ab', m([['ab']])],
  ['a-1', m([['a-1']])],
  ['shs:::', m([['shs', '', '', '']])],
  ['ws:', m([['ws', '']])],
  ['tcp:!:!:1:7000', m([['tcp', '::1', '7000']])],
  ['xx:!!!~!:!;', m([['xx', '!~:;']])],
  ['xx:a!!b:!;', m([['xx', 'a!b', ';']])],
  ['xx:"#$%&\'()*+,-./0123456789', m([['xx', '"#$%&\'()*+,-./0123456789']])],
  ['xx:<=>?@AZ[\\]^_`az{|}', m([['xx', '<=>?@AZ[\\]^_`az{|}']])],
  [
    'ws://h:80/p~noise:id',
    m([
      ['ws', '//h', '80/p'],
      ['noise', 'id'],
    ]),
  ],
  ['aa;bb:1;cc~dd', m([['aa']], [['bb', '1']], [['cc'], ['dd']])],
  [
    'net:wx.larpa.net:8008~shs:DTNmX+4SjsgZ7xyDh5xxmNtFqa6pWi5Qtw7cE8aR9TQ=',
    m([
      ['net', 'wx.larpa.net', '8008'],
      ['shs', 'DTNmX+4SjsgZ7xyDh5xxmNtFqa6pWi5Qtw7cE8aR9TQ='],
    ]),
  ],
]

describe('parseAddress / formatAddress vectors', () => {
  for (const [text, expected] of VECTORS) {
    test(`${text}`, () => {
      assert.deepStrictEqual(parseAddress(text), expected)
      assert.equal(formatAddress(expected), text)
    })
  }
})

/** Every error kind, with the position and the character (or end) it must name. */
const ERRORS: [input: string, position: number, what: string][] = [
  ['', 0, 'end of input'],
  [':host.com:8008', 0, "':'"],
  ['1a:host', 0, "'1'"],
  ['ABC:host', 0, "'A'"],
  ['a', 1, 'end of input'],
  ['a:b', 1, "':'"],
  ['aB', 1, "'B'"],
  ['a.b:host.com:8008', 1, "'.'"],
  ['~:x', 0, "'~'"],
  [';:x', 0, "';'"],
  ['!:x', 0, "'!'"],
  ['tcp:relay.com:7000 ', 18, "' '"],
  ['tcp:host name:1', 8, "' '"],
  ['net:host.com:8008~', 18, 'end of input'],
  ['net:host.com:8008~~gzip', 18, "'~'"],
  ['aa;', 3, 'end of input'],
  ['aa;;bb', 3, "';'"],
  ['aa:x!', 5, 'end of input'],
  ['aa:x!a', 5, "'a'"],
  ['aa:x! ', 5, "' '"],
  ['aa:é', 3, "'\\u00e9'"],
  ['aa:\u0000', 3, "'\\u0000'"],
  ['aa:\x7f', 3, "'\\u007f'"],
  ['aa:"x\n', 5, "'\\u000a'"],
  ['aa~B', 3, "'B'"],
  ['aa~b', 4, 'end of input'],
]

describe('parseAddress errors name the position and character', () => {
  for (const [input, position, what] of ERRORS) {
    test(JSON.stringify(input), () => {
      assert.throws(
        () => parseAddress(input),
        (err: { code?: string; message?: string }) => {
          assert.equal(err.code, 'TUN_ERR_ADDRESS_SYNTAX')
          assert.match(
            err.message ?? '',
            new RegExp(`^unexpected ${escapeRe(what)} at position ${position} in "`),
          )
          return true
        },
      )
    })
  }
})

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('error messages escape unprintable input and cut long input to a window', () => {
  assert.throws(() => parseAddress('aa:\u001b[31m'), /in "aa:\\u001b\[31m"/)
  const long = 'aa:' + 'x'.repeat(200) + ' ' + 'y'.repeat(200)
  assert.throws(
    () => parseAddress(long),
    (err: Error) => {
      assert.match(err.message, /^unexpected ' ' at position 203 in "\.\.\.x{40} y{39}\.\.\.": /)
      return true
    },
  )
})

test('the hint after the error depends on what came before', () => {
  assert.throws(() => parseAddress('ab.c'), {
    message: /position 2 .*: expected a name character \(\[a-z0-9-\]\), ':'/,
  })
  assert.throws(() => parseAddress('ab:c d'), {
    message: /position 4 .*: expected an argument character, '!'/,
  })
  assert.deepStrictEqual(parseAddress('ab:'), m([['ab', '']])) // a trailing ':' is an empty argument
})

test('input length is bounded by MAX_ADDRESS_LENGTH', () => {
  const fits = 'aa:' + 'x'.repeat(MAX_ADDRESS_LENGTH - 3)
  assert.equal(parseAddress(fits)[0]?.protocol.args[0]?.length, MAX_ADDRESS_LENGTH - 3)
  assert.throws(() => parseAddress(fits + 'x'), {
    code: 'TUN_ERR_ADDRESS_SYNTAX',
    message: `address too long: ${MAX_ADDRESS_LENGTH + 1} characters, more than the limit of ${MAX_ADDRESS_LENGTH} (from position ${MAX_ADDRESS_LENGTH} on)`,
  })
})

test('parseAddress refuses a non-string', () => {
  assert.throws(() => parseAddress(42 as unknown as string), { code: 'TUN_ERR_INVALID_ARGUMENT' })
})

describe('formatAddress', () => {
  test('re-escapes !, ~, : and ; in arguments (the reference encode does not)', () => {
    const structure = m([['tcp', '::1', '7000']], [['unix', '/tmp/a;b~c!d:e']])
    const text = formatAddress(structure)
    assert.equal(text, 'tcp:!:!:1:7000;unix:/tmp/a!;b!~c!!d!:e')
    assert.deepStrictEqual(parseAddress(text), structure)
  })

  const refuse: [string, MultiAddress, RegExp][] = [
    ['no alternatives', [], /at least one alternative/],
    ['a one-letter name', m([['a']]), /alternative 1, part 1: name "a"/],
    ['an uppercase name', m([['tcp'], ['Noise']]), /alternative 1, part 2: name "Noise"/],
    ['a space', m([['aa']], [['tcp', 'a b']]), /alternative 2, part 1: argument "a b" .* ' ' at position 1/],
    ['non-ASCII', m([['tcp', 'é']]), /'\\u00e9' at position 0/],
    ['a control character', m([['tcp', '\n']]), /'\\u000a' at position 0/],
    [
      'a non-string argument',
      [{ protocol: { name: 'tcp', args: [7 as unknown as string] }, transforms: [] }],
      /non-string/,
    ],
  ]
  for (const [what, structure, message] of refuse) {
    test(`refuses ${what}`, () => {
      assert.throws(() => formatAddress(structure), { code: 'TUN_ERR_ADDRESS_SYNTAX', message })
    })
  }

  test('refuses output longer than MAX_ADDRESS_LENGTH, so everything it writes parses', () => {
    const structure = m([['aa', '!'.repeat(MAX_ADDRESS_LENGTH / 2)]])
    assert.throws(() => formatAddress(structure), {
      code: 'TUN_ERR_ADDRESS_SYNTAX',
      message: /limit is 4096/,
    })
  })
})

describe('round trips', () => {
  test('every escapable character in every position', () => {
    for (const c of ESCAPABLE) {
      for (const arg of [c, `${c}x`, `x${c}`, `${c}${c}`, `x${c}y${c}`]) {
        const structure = m(
          [
            ['aa', arg, ''],
            ['bb', arg],
          ],
          [['cc', '', arg]],
        )
        assert.deepStrictEqual(parseAddress(formatAddress(structure)), structure)
      }
    }
  })

  test('parseAddress(formatAddress(m)) deep-equals m for generated structures', () => {
    fc.assert(
      fc.property(multiArb, (structure) => {
        assert.deepStrictEqual(parseAddress(formatAddress(structure)), structure)
      }),
      { numRuns: 2000 },
    )
  })

  test('formatAddress(parseAddress(s)) === s: every valid string is canonical', () => {
    // An escape can only stand for a character that cannot appear raw, so no valid string has a
    // second spelling; formatting what it parses to must give it back exactly.
    fc.assert(
      fc.property(multiArb, (structure) => {
        const s = formatAddress(structure)
        assert.equal(formatAddress(parseAddress(s)), s)
      }),
      { numRuns: 1000 },
    )
  })
})
