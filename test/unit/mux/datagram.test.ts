/**
 * Datagrams: delivered whole with their channel, never queued past the budget, and every drop
 * counted with its reason (congested, too-large, closed on send; no-listener on receive).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { afterEach, describe, test } from 'node:test'
import { DEFAULT_DATAGRAM_BUDGET } from '../../../src/mux/options.ts'
import { KINDS, closeAllPairs, sessionPair } from './sessions.ts'

afterEach(closeAllPairs)

for (const kind of KINDS) {
  describe(`datagrams over ${kind}`, { timeout: 20_000 }, () => {
    test('delivered with their channel; too-large, no-listener and closed drops are counted', async () => {
      const p = await sessionPair(kind, {}, { maxDatagram: 2000 })
      await p.client.ping() // the server's SETTINGS (maxDatagram) have arrived
      const got: Array<[number, string]> = []
      p.server.on('datagram', (channel, payload) => got.push([channel, Buffer.from(payload).toString()]))
      assert.equal(p.client.sendDatagram(7, Buffer.from('one')), true)
      assert.equal(p.client.sendDatagram(0xffffffff, Buffer.from('two')), true)
      assert.equal(p.client.sendDatagram(3, Buffer.alloc(2001)), false)
      assert.equal(p.client.sendDatagram(3, Buffer.alloc(2000)), true)
      await p.client.ping()
      assert.deepEqual(got.slice(0, 2), [
        [7, 'one'],
        [0xffffffff, 'two'],
      ])
      assert.equal(got.length, 3)
      // The client has no 'datagram' listener: the server's datagrams are dropped there, counted.
      p.server.sendDatagram(1, Buffer.from('nobody listens'))
      await p.server.ping()
      const c = p.client.stats.datagrams
      assert.deepEqual(c, {
        sent: 3,
        received: 0,
        dropped: { congested: 0, 'too-large': 1, closed: 0, 'no-listener': 1 },
      })
      assert.equal(p.server.stats.datagrams.received, 3)
      assert.throws(() => p.client.sendDatagram(-1, Buffer.alloc(1)), { code: 'TUN_ERR_INVALID_ARGUMENT' })
      await p.close()
      assert.equal(p.client.sendDatagram(1, Buffer.alloc(1)), false)
      assert.equal(p.client.stats.datagrams.dropped.closed, 1)
    })

    test('a burst beyond the budget is dropped as congested, never queued; what was sent arrives', async () => {
      const p = await sessionPair(kind)
      await p.client.ping()
      let received = 0
      p.server.on('datagram', () => received++)
      const payload = Buffer.alloc(1000)
      let sent = 0
      let maxBacklog = 0
      for (let i = 0; i < 2000; i++) {
        if (p.client.sendDatagram(1, payload)) sent++
        maxBacklog = Math.max(maxBacklog, p.a.writableLength)
      }
      const dropped = p.client.stats.datagrams.dropped.congested
      assert.equal(sent + dropped, 2000)
      assert.ok(dropped > 0, 'some were dropped')
      assert.ok(maxBacklog <= DEFAULT_DATAGRAM_BUDGET + 1008 + 64, `backlog ${maxBacklog}`)
      // Once the link drains, datagrams flow again, and stream data was never stuck behind them.
      p.server.on('stream', (s) => s.pipe(s))
      const st = p.client.openStream()
      st.end('after the burst')
      const [echo] = (await once(st, 'data')) as [Buffer]
      assert.equal(echo.toString(), 'after the burst')
      await p.client.ping()
      assert.equal(received, sent)
      assert.equal(p.client.sendDatagram(1, payload), true)
      await p.close()
    })
  })
}
