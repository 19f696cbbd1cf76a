// Differential tests against the reference implementation of the grammar, npm `multiserver-address`
// (dominictarr, v1.0.1: a nearley grammar for decode, a regex for check). Both must agree on which
// strings are valid and on what valid strings decode to. The one known disagreement, its encode
// not re-escaping, is pinned by its own test at the end.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatAddress, parseAddress } from '../../../src/address/parse.ts'
import type { MultiAddress } from '../../../src/address/types.ts'
import { grammarTextArb, grammarTokensArb, multiArb, mutatedTextArb } from './arbitraries.ts'

interface RefPart {
  name: string
  data: string[]
}
interface Reference {
  decode(text: string): RefPart[][]
  encode(data: RefPart[][]): string
  check(text: string): boolean
}
const require = createRequire(import.meta.url)
const ref = require('multiserver-address') as Reference

/** The reference's structure in ours: each alternative's first part is the protocol, the rest transforms. */
function fromRef(decoded: RefPart[][]): MultiAddress {
  return decoded.map((parts) => {
    const [protocol, ...transforms] = parts.map((p) => ({ name: p.name, args: [...p.data] }))
    assert.ok(protocol !== undefined, 'the reference never yields an empty alternative')
    return { protocol, transforms }
  })
}

/** What the reference makes of a string: undefined when invalid (check and decode must agree). */
function refParse(text: string): MultiAddress | undefined {
  let decoded: RefPart[][] | undefined
  try {
    decoded = ref.decode(text)
  } catch {
    decoded = undefined
  }
  assert.equal(
    ref.check(text),
    decoded !== undefined,
    `reference check and decode disagree on ${JSON.stringify(text)}`,
  )
  return decoded === undefined ? undefined : fromRef(decoded)
}

function ourParse(text: string): MultiAddress | undefined {
  try {
    return parseAddress(text)
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'TUN_ERR_ADDRESS_SYNTAX')
    return undefined
  }
}

function agree(text: string): void {
  const theirs = refParse(text)
  const ours = ourParse(text)
  assert.equal(ours !== undefined, theirs !== undefined, `validity of ${JSON.stringify(text)}`)
  assert.deepStrictEqual(ours, theirs, `structure of ${JSON.stringify(text)}`)
}

// The examples from the reference's test/index.js (not importable: it runs tape on load).
const REF_VALID = [
  'net:host.com:8008',
  'net:host.com:8008~shs:oaercuhroaecuh',
  'net:host.com:8008~shs:oaercuhroaecuh~gzip',
  'ws://host.com:8008~shs:oaercuhroaecuh~gzip',
  'ws://host.com:8008~shs:oaercuhroaecuh~gzip;net:host.com:8008~shs:oaercuhroaecuh~gzip',
  'shs:::',
]
const REF_INVALID = [
  '',
  ':host.com:8008',
  '1a:host.com:8008',
  'ABC:host.com:8008',
  'a.b:host.com:8008',
  '~:host.com:8008',
  ';:host.com:8008',
  '!:host.com:8008',
  'net:host.com:8008~',
  'net:host.com:8008~~gzip',
]
// The examples in the multiserver README (seeds/002), including its {placeholder} and <placeholder> forms.
const README_VALID = [
  'net:wx.larpa.net:8008~shs:DTNmX+4SjsgZ7xyDh5xxmNtFqa6pWi5Qtw7cE8aR9TQ=',
  'wss://wx.larpa.net~shs:DTNmX+4SjsgZ7xyDh5xxmNtFqa6pWi5Qtw7cE8aR9TQ=',
  'net:wx.larpa.net:8008~shs:DTNmX+4SjsgZ7xyDh5xxmNtFqa6pWi5Qtw7cE8aR9TQ=;wss://wx.larpa.net~shs:DTNmX+4SjsgZ7xyDh5xxmNtFqa6pWi5Qtw7cE8aR9TQ=',
  'net:<host>:3333~shs:<key>;net:<host>:4444~shs2:<key>',
  'net:{host}:{port}~shs:{key};ws:{host}:{port}~shs:{key}',
  'ws://localhost:1234',
  'net:mydomain.com:8889',
  'onion:{host}:{port}',
  'unix:{where_to_put_socket}',
  "shs:{keys.publicKey.toString('base64')}",
]
// Near variants of the README's examples that the grammar refuses (a space, a one-letter name, uppercase).
const README_INVALID = ['net:<host>:3333 ~shs:<key>', 'a:b', 'Net:wx.larpa.net:8008', 'ws://my host:1234']

/** The 100 strings the reference's tests generated from its grammar with nearley-unparse. */
function referenceRandomStrings(): string[] {
  const file = path.join(path.dirname(require.resolve('multiserver-address')), 'test', 'random.txt')
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
}

describe('published examples', () => {
  for (const text of [...REF_VALID, ...README_VALID]) {
    test(`valid: ${text}`, () => {
      assert.notEqual(ourParse(text), undefined)
      agree(text)
      assert.equal(formatAddress(parseAddress(text)), text)
    })
  }
  for (const text of [...REF_INVALID, ...README_INVALID]) {
    test(`invalid: ${JSON.stringify(text)}`, () => {
      assert.equal(ourParse(text), undefined)
      agree(text)
    })
  }
  test('the 100 generated strings in the reference tests (test/random.txt)', () => {
    const strings = referenceRandomStrings()
    assert.equal(strings.length, 100)
    for (const text of strings) {
      assert.notEqual(ourParse(text), undefined, text)
      agree(text)
      assert.equal(formatAddress(parseAddress(text)), text)
    }
  })
})

describe('fast-check: both implementations agree', () => {
  test('random strings over the grammar alphabet', () => {
    fc.assert(fc.property(grammarTextArb, agree), { numRuns: 3000 })
  })
  test('random sequences of grammar tokens', () => {
    fc.assert(fc.property(grammarTokensArb, agree), { numRuns: 3000 })
  })
  test('valid strings from generated structures', () => {
    fc.assert(
      fc.property(multiArb, (m) => agree(formatAddress(m))),
      { numRuns: 1000 },
    )
  })
  test('generated strings with one random edit', () => {
    fc.assert(fc.property(mutatedTextArb, agree), { numRuns: 3000 })
  })
  test('printable ASCII strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 30 }), agree), { numRuns: 2000 })
  })
})

describe('deliberate differences', () => {
  test('the reference encode does not re-escape; ours does', () => {
    const text = 'tcp:!:!:1:7000~xx:a!~bb'
    const decoded = ref.decode(text)
    assert.deepStrictEqual(fromRef(decoded), parseAddress(text))
    // The reference writes the arguments raw: the result names another address...
    assert.equal(ref.encode(decoded), 'tcp:::1:7000~xx:a~bb')
    assert.deepStrictEqual(fromRef(ref.decode(ref.encode(decoded))), [
      {
        protocol: { name: 'tcp', args: ['', '', '1', '7000'] },
        transforms: [
          { name: 'xx', args: ['a'] },
          { name: 'bb', args: [] },
        ],
      },
    ])
    // ...or no address at all.
    assert.equal(ref.check(ref.encode([[{ name: 'xx', data: ['a~b'] }]])), false)
    // Ours gives back the original string.
    assert.equal(formatAddress(parseAddress(text)), text)
  })

  test('ours bounds the length; the reference accepts any length', () => {
    const text = 'aa:' + 'x'.repeat(5000)
    assert.equal(ref.check(text), true)
    assert.equal(ourParse(text), undefined)
  })
})
