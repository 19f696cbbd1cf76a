// Every parser, fed anything, either returns or throws a TunnelError with a TUN_ERR_ code: never a
// TypeError from deep inside (a URL constructor, an undefined index), never a hang.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseNodeAddresses } from '../../../src/address/node.ts'
import { parseAddress } from '../../../src/address/parse.ts'
import { grammarTextArb, grammarTokensArb, mutatedTextArb, plausibleTextArb } from './arbitraries.ts'

const PARSERS: [string, (text: string) => unknown][] = [
  ['parseAddress', parseAddress],
  ['parseNodeAddresses', (text) => parseNodeAddresses(text)],
  ['parseNodeAddresses skipUnsupported', (text) => parseNodeAddresses(text, { skipUnsupported: true })],
]

/** Codes an address parser may raise. */
const CODES = new Set(['TUN_ERR_ADDRESS_SYNTAX', 'TUN_ERR_ADDRESS_UNSUPPORTED', 'TUN_ERR_ID_INVALID'])

function onlyCodedErrors(parse: (text: string) => unknown, text: string): void {
  try {
    parse(text)
  } catch (err) {
    const e = err as { name?: string; code?: unknown; message?: unknown }
    assert.equal(e.name, 'TunnelError', `not a TunnelError for ${JSON.stringify(text)}: ${String(err)}`)
    assert.ok(typeof e.code === 'string' && e.code.startsWith('TUN_ERR_'), `no code: ${String(err)}`)
    assert.ok(CODES.has(e.code), `unexpected code ${e.code}`)
    assert.equal(typeof e.message, 'string')
  }
}

const INPUTS: [string, fc.Arbitrary<string>][] = [
  ['random bytes as latin1', fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1'))],
  ['random bytes as utf8', fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('utf8'))],
  ['random strings (any code unit)', fc.string({ unit: 'binary', maxLength: 60 })],
  ['random printable ASCII', fc.string({ unit: 'grapheme-ascii', maxLength: 60 })],
  ['grammar alphabet', grammarTextArb],
  ['grammar tokens', grammarTokensArb],
  ['edited valid addresses', mutatedTextArb],
  ['known protocols with hostile arguments', plausibleTextArb],
]

for (const [parserName, parse] of PARSERS) {
  describe(`${parserName} throws only coded TunnelErrors`, () => {
    for (const [inputName, arb] of INPUTS) {
      test(inputName, () => {
        fc.assert(
          fc.property(arb, (text) => onlyCodedErrors(parse, text)),
          { numRuns: 1500 },
        )
      })
    }
    test('inputs around the length limit', () => {
      for (const n of [4095, 4096, 4097, 100_000]) onlyCodedErrors(parse, 'tcp:' + 'a'.repeat(n - 4))
    })
  })
}
