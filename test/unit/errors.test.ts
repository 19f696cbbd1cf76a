import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ERROR_CODES, TunnelError, describeError, isTunnelError } from '../../src/errors.ts'

test('docs/errors.md lists exactly the codes in src/errors.ts', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  const documented = new Set([...doc.matchAll(/^\|\s*`(TUN_ERR_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]))
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort())
})

test('TunnelError carries its code, wire code and cause', () => {
  const cause = new Error('inner')
  const err = new TunnelError('TUN_ERR_STREAM_RESET', 'reset by peer', { cause, wireCode: 7 })
  assert.equal(err.code, 'TUN_ERR_STREAM_RESET')
  assert.equal(err.wireCode, 7)
  assert.equal(err.cause, cause)
  assert.ok(isTunnelError(err))
  assert.ok(isTunnelError(err, 'TUN_ERR_STREAM_RESET', 'TUN_ERR_ABORTED'))
  assert.ok(!isTunnelError(err, 'TUN_ERR_ABORTED'))
  assert.ok(!isTunnelError(new Error('x')))
  assert.equal(describeError(err), 'TUN_ERR_STREAM_RESET: reset by peer')
})
