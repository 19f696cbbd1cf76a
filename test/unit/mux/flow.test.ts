/**
 * Receive-window arithmetic (flow.ts), then auto-tuning end to end over an in-memory link with
 * 50 ms of round-trip latency: a stream that is read fast grows its window until it fills the path.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import fc from 'fast-check'
import { MuxSession } from '../../../src/mux/session.ts'
import { ReceiveWindow, UPDATE_FRACTION } from '../../../src/mux/flow.ts'
import type { MuxStream } from '../../../src/mux/stream.ts'
import { memoryPair } from '../../helpers/pair.ts'
import { closed } from './sessions.ts'

const KiB = 1024

test('credit is spent by data and returned in batches of a quarter window', () => {
  const w = new ReceiveWindow(64 * KiB, 64 * KiB, 0)
  assert.equal(w.receive(64 * KiB), true)
  assert.equal(w.receive(1), false, 'one byte over the window')
  assert.equal(w.consume(16 * KiB - 1), false)
  assert.equal(w.consume(1), true, `due at ${UPDATE_FRACTION} of the window`)
  assert.equal(w.grant(10, 5), 16 * KiB)
  assert.equal(w.credit, 16 * KiB)
})

test('the window doubles when consumed within 2 RTTs, up to the max, and never for a slow reader', () => {
  const w = new ReceiveWindow(64 * KiB, 256 * KiB, 0)
  w.receive(64 * KiB)
  w.consume(32 * KiB)
  // Half the window in 10 ms with a 50 ms RTT: the whole window would take 20 ms < 2 x 50.
  assert.equal(w.grant(10, 50), 32 * KiB + 64 * KiB)
  assert.equal(w.window, 128 * KiB)
  w.receive(128 * KiB)
  w.consume(128 * KiB)
  assert.equal(w.grant(20, 50), 128 * KiB + 128 * KiB)
  assert.equal(w.window, 256 * KiB, 'capped at max')
  w.consume(64 * KiB)
  assert.equal(w.grant(30, 50), 64 * KiB, 'no growth past max')
  const slow = new ReceiveWindow(64 * KiB, 1024 * KiB, 0)
  slow.receive(64 * KiB)
  slow.consume(32 * KiB)
  assert.equal(slow.grant(1000, 50), 32 * KiB, 'half a window in 20 RTTs: no growth')
  const unknown = new ReceiveWindow(64 * KiB, 1024 * KiB, 0)
  unknown.consume(32 * KiB)
  assert.equal(unknown.grant(1, undefined), 32 * KiB, 'no RTT yet: no growth')
})

test('fast-check: credit + held + unreturned always equals the window', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(100_000), fc.nat(100_000), fc.nat(100))), (steps) => {
      const w = new ReceiveWindow(64 * KiB, 1024 * KiB, 0)
      let held = 0
      let now = 0
      for (const [recv, read, dt] of steps) {
        const n = Math.min(recv, w.credit)
        assert.ok(w.receive(n))
        held += n
        const m = Math.min(read, held)
        held -= m
        now += dt
        if (w.consume(m)) w.grant(now, 20)
        assert.equal(w.credit + held + w.unreturned, w.window)
        assert.ok(w.window <= 1024 * KiB)
      }
    }),
  )
})

test(
  'auto-tuning: over a 50 ms RTT link one stream grows its window and fills the path',
  { timeout: 30_000 },
  async () => {
    const MiB = 1024 * KiB
    const run = async (maxWindow: number, bytes: number): Promise<{ mbps: number; window: number }> => {
      const [a, b] = memoryPair({ latencyMs: 25 })
      const opts = { keepaliveInterval: 0, initialWindow: 64 * KiB, maxWindow }
      const client = new MuxSession(a, { ...opts, initiator: true })
      const server = new MuxSession(b, { ...opts, initiator: false })
      await client.ping()
      const accepted = once(server, 'stream') as Promise<[MuxStream]>
      const s = client.openStream()
      const t0 = performance.now()
      s.end(Buffer.alloc(bytes))
      const [r] = await accepted
      let n = 0
      r.on('data', (d: Buffer) => (n += d.length))
      await once(r, 'end')
      const mbps = n / 1e6 / ((performance.now() - t0) / 1000)
      r.end()
      s.resume()
      await Promise.all([closed(s), closed(r)])
      client.close()
      server.close()
      return { mbps, window: r.window }
    }
    const fixed = await run(64 * KiB, 1 * MiB)
    const tuned = await run(8 * MiB, 32 * MiB)
    console.log(
      `50 ms RTT: fixed 64 KiB window ${fixed.mbps.toFixed(1)} MB/s; auto-tuned ${tuned.mbps.toFixed(1)} MB/s, window grew to ${tuned.window / KiB} KiB`,
    )
    assert.equal(fixed.window, 64 * KiB)
    assert.ok(tuned.window >= 4 * MiB, `window ${tuned.window}`)
    assert.ok(tuned.mbps > 10 * fixed.mbps, 'tuning lifts the window-bound ceiling')
  },
)
