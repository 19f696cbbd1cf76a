/** Keepalive with a hand-driven clock: pings after silence, the dead-peer deadline, RTT smoothing, bounded pings in flight. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Keepalive, MAX_PINGS_IN_FLIGHT } from '../../../src/mux/keepalive.ts'
import type { MuxClock } from '../../../src/mux/types.ts'

/** A manual clock: time moves only through advance(), which fires due timers in order. */
function manualClock() {
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const clock: MuxClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++seq, { at: now + ms, fn })
      return seq
    },
    clearTimeout: (h) => void timers.delete(h as number),
  }
  const advance = (ms: number): void => {
    const end = now + ms
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((x, y) => x[1].at - y[1].at)[0]
      if (due === undefined) break
      timers.delete(due[0])
      now = due[1].at
      due[1].fn()
    }
    now = end
  }
  return { clock, advance, pending: () => timers.size }
}

test('pings after each interval of silence, and declares the peer dead at the timeout, not before', () => {
  const { clock, advance, pending } = manualClock()
  const pings: Buffer[] = []
  let dead = 0
  const k = new Keepalive(clock, 100, 350, { sendPing: (d) => pings.push(d), peerTimedOut: () => dead++ })
  advance(99)
  assert.equal(pings.length, 0)
  advance(1)
  assert.equal(pings.length, 1)
  advance(50)
  k.onReceive() // at t=150: the count restarts
  advance(99)
  assert.equal(pings.length, 1, 'no ping: something arrived 99 ms ago')
  advance(1)
  assert.equal(pings.length, 2)
  advance(249)
  assert.equal(dead, 0)
  advance(1) // 350 ms after t=150
  assert.equal(dead, 1)
  assert.equal(pending(), 0, 'no timer left after the peer is declared dead')
  k.stop(new Error('x'))
})

test('ping() resolves with the RTT, which is smoothed; stop() rejects what is pending and clears the timer', async () => {
  const { clock, advance, pending } = manualClock()
  const pings: Buffer[] = []
  const k = new Keepalive(clock, 1000, 3000, { sendPing: (d) => pings.push(d), peerTimedOut: () => {} })
  const first = k.ping()
  advance(40)
  k.onPong(pings[0] as Buffer)
  assert.equal(await first, 40)
  assert.equal(k.rtt, 40)
  const second = k.ping()
  advance(80)
  k.onPong(pings[1] as Buffer)
  assert.equal(await second, 80)
  assert.equal(k.rtt, 45, '40 + (80 - 40) / 8')
  k.onPong(Buffer.alloc(8, 0xee)) // unknown: ignored
  const third = k.ping()
  k.stop(new Error('closed'))
  await assert.rejects(third, /closed/)
  assert.equal(pending(), 0)
  await assert.rejects(k.ping(), { code: 'TUN_ERR_LINK_CLOSED' })
})

test(`at most ${MAX_PINGS_IN_FLIGHT} PINGs in flight; later callers share the latest answer`, async () => {
  const { clock } = manualClock()
  const pings: Buffer[] = []
  const k = new Keepalive(clock, 0, 1, { sendPing: (d) => pings.push(d), peerTimedOut: () => {} })
  const all = Array.from({ length: 20 }, () => k.ping())
  assert.equal(pings.length, MAX_PINGS_IN_FLIGHT)
  for (const p of pings) k.onPong(p)
  assert.equal((await Promise.all(all)).length, 20)
  k.stop(new Error('done'))
})
