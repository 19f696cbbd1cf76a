/** The stream and session state transitions (state.ts): every legal move, and the refused ones. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isStreamDone, nextSessionState, nextStreamState } from '../../../src/mux/state.ts'

test('stream: FINs each way close it; reset ends it from anywhere; terminal states stay put', () => {
  assert.equal(nextStreamState('open', 'fin-sent'), 'local-closed')
  assert.equal(nextStreamState('open', 'fin-received'), 'remote-closed')
  assert.equal(nextStreamState('local-closed', 'fin-received'), 'closed')
  assert.equal(nextStreamState('remote-closed', 'fin-sent'), 'closed')
  for (const s of ['open', 'local-closed', 'remote-closed'] as const)
    assert.equal(nextStreamState(s, 'reset'), 'reset')
  assert.equal(nextStreamState('remote-closed', 'fin-received'), undefined, 'a second FIN is refused')
  assert.equal(nextStreamState('local-closed', 'fin-sent'), undefined)
  for (const s of ['closed', 'reset'] as const) {
    assert.ok(isStreamDone(s))
    for (const e of ['fin-sent', 'fin-received', 'reset'] as const)
      assert.equal(nextStreamState(s, e), undefined)
  }
  assert.ok(!isStreamDone('open'))
})

test('session: goaway drains, the last stream or close() closes, closed is terminal', () => {
  assert.equal(nextSessionState('open', 'goaway'), 'draining')
  assert.equal(nextSessionState('open', 'last-stream-ended'), 'open')
  assert.equal(nextSessionState('open', 'close'), 'closed')
  assert.equal(nextSessionState('draining', 'goaway'), 'draining')
  assert.equal(nextSessionState('draining', 'last-stream-ended'), 'closed')
  assert.equal(nextSessionState('draining', 'close'), 'closed')
  for (const e of ['goaway', 'last-stream-ended', 'close'] as const)
    assert.equal(nextSessionState('closed', e), 'closed')
})
