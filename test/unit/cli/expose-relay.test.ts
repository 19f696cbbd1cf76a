import assert from 'node:assert/strict'
import { test } from 'node:test'
import { exposeOptionsFromFlags, parseDuration } from '../../../src/cli/expose-relay.ts'
import { Output } from '../../../src/cli/output.ts'

test('--expose-grace durations', () => {
  assert.equal(parseDuration('expose-grace', '600'), 600_000)
  assert.equal(parseDuration('expose-grace', '90s'), 90_000)
  assert.equal(parseDuration('expose-grace', '10m'), 600_000)
  assert.equal(parseDuration('expose-grace', '1h'), 3_600_000)
  assert.equal(parseDuration('expose-grace', '250ms'), 250)
  assert.equal(parseDuration('expose-grace', '0'), 0)
  for (const bad of ['', '-1', '1.5m', '10 m', '1d', 'm'])
    assert.throws(() => parseDuration('expose-grace', bad), { code: 'TUN_ERR_INVALID_ARGUMENT' }, bad)
})

test('without --expose-allow nobody may expose, and the other --expose-* flags are refused', () => {
  const none = {
    'expose-allow': undefined,
    'expose-ports': undefined,
    'expose-bind': undefined,
    'public-host': undefined,
    'expose-grace': undefined,
    'max-exposures-per-peer': undefined,
    'max-public-ports': undefined,
    'max-visitors': undefined,
  }
  const out = new Output({})
  assert.equal(exposeOptionsFromFlags(none, ['tcp:0.0.0.0:7000'], undefined, out), undefined)
  assert.throws(() => exposeOptionsFromFlags({ ...none, 'expose-ports': '1-2' }, [], undefined, out), {
    code: 'TUN_ERR_INVALID_ARGUMENT',
    message: /--expose-ports needs --expose-allow/,
  })
})
