import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isTunnelError } from '../../../src/errors.ts'
import { idFromPublicKey } from '../../../src/identity/keys.ts'
import {
  MAX_ALLOW_FILE_BYTES,
  MAX_CLIENT_NAME_LENGTH,
  checkClientIds,
  parseAllowFile,
} from '../../../src/policy/allow-file.ts'

const newId = (): string => idFromPublicKey(randomBytes(32))
const [a, b, c] = [newId(), newId(), newId()]

describe('parseAllowFile', () => {
  test('ids, names, comments, blank lines, CRLF, BOM, duplicates', () => {
    const text = [
      '\uFEFF# allowed clients',
      '',
      `${a}`,
      `  ${b}\tlaptop   # Alice's laptop`,
      `${c}   build   server  `,
      '   # indented comment',
      `${a} phone`,
      '',
    ].join('\r\n')
    assert.deepEqual(parseAllowFile(text, 'clients.txt'), [
      { id: a, name: undefined, line: 3 },
      { id: b, name: 'laptop', line: 4 },
      { id: c, name: 'build server', line: 5 },
      { id: a, name: 'phone', line: 7 },
    ])
  })

  test('an empty file, or comments only, allows nobody', () => {
    assert.deepEqual(parseAllowFile('', 'f'), [])
    assert.deepEqual(parseAllowFile('# nobody yet\n\n', 'f'), [])
  })

  const bad: [string, string, RegExp][] = [
    [`${a}\nnot-an-id\n`, 'TUN_ERR_ID_INVALID', /^clients\.txt:2: an id is 52 characters, got 9$/],
    [
      `\n\n${a.toUpperCase()}`,
      'TUN_ERR_ID_INVALID',
      /^clients\.txt:3: .*bad character "[A-Z]" at position \d+/,
    ],
    [`${a.slice(0, 51)}1`, 'TUN_ERR_ID_INVALID', /^clients\.txt:1: .*bad character "1" at position 51/],
    [`${a},${b}`, 'TUN_ERR_ID_INVALID', /^clients\.txt:1: an id is 52 characters/],
    [
      `${a} ${'n'.repeat(MAX_CLIENT_NAME_LENGTH + 1)}`,
      'TUN_ERR_INVALID_ARGUMENT',
      /^clients\.txt:1: a client name/,
    ],
    [`${a} bad\u0007name`, 'TUN_ERR_INVALID_ARGUMENT', /^clients\.txt:1: a client name/],
  ]
  for (const [text, code, message] of bad) {
    test(`refuses ${JSON.stringify(text.slice(0, 30))}... with ${code}`, () => {
      assert.throws(() => parseAllowFile(text, 'clients.txt'), { code, message })
    })
  }

  test('a non-canonical id (trailing bits set) is refused', () => {
    const last = a.at(-1) === 'a' ? 'b' : 'r'
    assert.throws(() => parseAllowFile(`${a.slice(0, 51)}${last}`, 'f'), {
      code: 'TUN_ERR_ID_INVALID',
      message: /^f:1: /,
    })
  })

  test('a file over MAX_ALLOW_FILE_BYTES is refused', () => {
    assert.throws(() => parseAllowFile(' '.repeat(MAX_ALLOW_FILE_BYTES + 1), 'big.txt'), {
      code: 'TUN_ERR_INVALID_ARGUMENT',
      message: /^big\.txt: larger than/,
    })
  })

  test('random text throws nothing but coded errors naming the source', () => {
    const unit = fc.constantFrom(...`${a.slice(0, 8)} \t\n#x`.split(''))
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit, maxLength: 80 })), (text) => {
        try {
          for (const entry of parseAllowFile(text, 'f')) assert.equal(entry.id.length, 52)
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_ID_INVALID', 'TUN_ERR_INVALID_ARGUMENT'), String(err))
          assert.match((err as Error).message, /^f:\d+: /)
        }
      }),
      { numRuns: 2000 },
    )
  })
})

describe('checkClientIds', () => {
  test('passes ids through and quotes a bad one', () => {
    assert.deepEqual(checkClientIds([a, b]), [a, b])
    assert.throws(() => checkClientIds([a, 'nope'], '--allow'), {
      code: 'TUN_ERR_ID_INVALID',
      message: /^--allow "nope": an id is 52 characters/,
    })
  })
})
