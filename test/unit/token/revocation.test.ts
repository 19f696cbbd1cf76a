// The revocation file: token ids and client ids, comments, blank lines; errors name file and line.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_REVOCATION_FILE_BYTES, parseRevocationList } from '../../../src/token/index.ts'
import { assertCode, fixedIdentity } from './fixtures.ts'

const CLIENT = fixedIdentity(7).id
const TOKEN = '3f1c0a9e5b7d42e8a6c4f0b1d2e3a4b5'

test('token ids (any case) and client ids, with comments, blank lines, CRLF and a BOM', () => {
  const list = parseRevocationList(
    `\uFEFF# revoked\r\n\r\n${TOKEN.toUpperCase()}   # lost laptop\r\n  ${CLIENT}\n#${'ab'.repeat(16)}\n`,
    'revoked.txt',
  )
  assert.deepEqual([...list.tokenIds], [TOKEN])
  assert.deepEqual([...list.clientIds], [CLIENT])
  assert.equal(list.isRevoked({ tokenId: TOKEN, clientId: fixedIdentity(8).id }), true)
  assert.equal(list.isRevoked({ tokenId: 'ab'.repeat(16), clientId: CLIENT }), true)
  assert.equal(list.isRevoked({ tokenId: 'ab'.repeat(16), clientId: fixedIdentity(8).id }), false)
  assert.equal(parseRevocationList('', 'empty').isRevoked({ tokenId: TOKEN, clientId: CLIENT }), false)
})

test('anything else is refused with the file and the line', () => {
  for (const [text, line] of [
    [`${TOKEN}\n${TOKEN}0`, 2],
    [`\n\n${CLIENT.toUpperCase()}`, 3],
    [`${TOKEN} laptop`, 1],
    [`${CLIENT.slice(0, 51)}b`, 1],
  ] as const) {
    const err = assertCode(() => parseRevocationList(text, 'revoked.txt'), ['TUN_ERR_INVALID_ARGUMENT'])
    assert.match(err.message, new RegExp(`^revoked\\.txt:${line}: .*neither a token id`))
  }
  assertCode(
    () => parseRevocationList('#'.repeat(MAX_REVOCATION_FILE_BYTES + 1), 'big'),
    ['TUN_ERR_INVALID_ARGUMENT'],
  )
})
