// Reservations of public ports, under a fake clock.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateIdentity } from '../../../src/identity/keys.ts'
import { PortBook } from '../../../src/relay/port-book.ts'

const range = { from: 20000, to: 20009 }
const [alice, bob] = [generateIdentity().id, generateIdentity().id]
const GRACE = 10 * 60_000

function book() {
  const clock = { t: Date.UTC(2026, 0, 1) }
  const b = new PortBook<{ peer: string }>({ graceMs: GRACE, now: () => clock.t })
  return { b, clock }
}
const first = (it: Iterable<number>) => {
  for (const x of it) return x
  return undefined
}

test('a released port is reserved for its peer for the grace period; another peer is refused until then', () => {
  const { b, clock } = book()
  const h = { peer: alice }
  assert.deepEqual(b.check(alice, 20003, '*', range), { port: 20003 })
  b.hold(20003, h)
  assert.equal(b.countOf(alice), 1)
  b.release(20003, h)
  assert.equal(b.countOf(alice), 0)
  clock.t += GRACE - 1
  assert.throws(() => b.check(bob, 20003, '*', range), {
    code: 'TUN_ERR_PORT_UNAVAILABLE',
    message: /reserved for another peer until 2026-01-01T00:10:00.000Z/,
  })
  assert.deepEqual(b.check(alice, 20003, '*', range), { port: 20003 }, 'the same peer gets it back')
  clock.t += 1
  assert.deepEqual(b.check(bob, 20003, '*', range), { port: 20003 }, 'expired: free for anyone')
  assert.equal(b.reservations().size, 0)
})

test('asking for no port: the peer gets its reserved port back, others skip it', () => {
  const { b, clock } = book()
  const h = { peer: alice }
  b.hold(20005, h)
  b.release(20005, h)
  clock.t += 1000
  assert.equal(first(b.candidates(alice, '*', range, 0)), 20005)
  assert.equal(first(b.candidates(alice, '*', range, 5)), 20005)
  assert.ok(![...b.candidates(bob, '*', range, 0)].includes(20005))
  assert.equal(first(b.candidates(bob, '*', range, 5)), 20006, 'starts at the given index')
  clock.t += GRACE
  assert.equal(first(b.candidates(bob, '*', range, 5)), 20005, 'expired reservations free the port')
})

test('the latest reservation of a peer comes first; a reservation outside the grant is not offered', () => {
  const { b, clock } = book()
  for (const port of [20001, 20002]) {
    const h = { peer: alice }
    b.hold(port, h)
    b.release(port, h)
    clock.t += 10
  }
  assert.deepEqual([...b.candidates(alice, '*', range)].slice(0, 2), [20002, 20001])
  assert.equal(first(b.candidates(alice, [{ from: 20001, to: 20001 }], range)), 20001)
})

test('held ports: another peer is refused, the same peer replaces its older exposure', () => {
  const { b } = book()
  const old = { peer: alice }
  b.hold(20000, old)
  assert.throws(() => b.check(bob, 20000, '*', range), {
    code: 'TUN_ERR_PORT_UNAVAILABLE',
    message: /in use by another peer/,
  })
  assert.deepEqual(b.check(alice, 20000, '*', range), { port: 20000, replaces: old })
  const next = { peer: alice }
  b.hold(20000, next)
  b.release(20000, old) // the old exposure ends later: it no longer holds the port
  assert.equal(b.held.get(20000), next)
  assert.ok(![...b.candidates(bob, '*', range)].includes(20000))
})

test('a port outside the grant is TUN_ERR_EXPOSE_DENIED', () => {
  const { b } = book()
  assert.throws(() => b.check(alice, 19999, '*', range), { code: 'TUN_ERR_EXPOSE_DENIED' })
  assert.throws(() => b.check(alice, 20001, [{ from: 8080, to: 8080 }], range), {
    code: 'TUN_ERR_EXPOSE_DENIED',
    message: /\(8080\)/,
  })
  assert.deepEqual(b.check(alice, 8080, [{ from: 8080, to: 8080 }], range), { port: 8080 })
})

test('a failed bind drops the hold without a reservation; grace 0 reserves nothing', () => {
  const { b } = book()
  const h = { peer: alice }
  b.hold(20000, h)
  b.drop(20000, h)
  assert.equal(b.held.size, 0)
  assert.equal(b.reservation(20000), undefined)
  const none = new PortBook<{ peer: string }>({ graceMs: 0 })
  none.hold(20000, h)
  none.release(20000, h)
  assert.equal(none.reservation(20000), undefined)
  assert.throws(() => new PortBook({ graceMs: -1 }), { code: 'TUN_ERR_INVALID_ARGUMENT' })
})

test('every free granted port is a candidate exactly once', () => {
  const { b } = book()
  b.hold(20004, { peer: bob })
  const all = [...b.candidates(alice, '*', range, 7)]
  assert.equal(all.length, 9)
  assert.equal(new Set(all).size, 9)
  assert.deepEqual(all.slice(0, 3), [20007, 20008, 20009])
})
