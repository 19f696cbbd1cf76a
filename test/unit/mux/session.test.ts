/**
 * Session behaviour over an in-memory pair and over real TCP sockets on loopback: open/accept with
 * a header, echo, half-close both ways, resets with codes, REFUSED over MAX_STREAMS, GOAWAY,
 * close, ping, optimistic open, frame splitting and stream backpressure.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { afterEach, describe, test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import { MuxSession } from '../../../src/mux/session.ts'
import type { MuxStream } from '../../../src/mux/stream.ts'
import { memoryPair } from '../../helpers/pair.ts'
import { KINDS, closeAllPairs, closed, readAll, sessionPair } from './sessions.ts'

afterEach(closeAllPairs)

for (const kind of KINDS) {
  describe(`session over ${kind}`, { timeout: 20_000 }, () => {
    test('open with a header, accept, echo', async () => {
      const p = await sessionPair(kind)
      p.server.on('stream', (s) => {
        assert.equal(Buffer.from(s.header).toString(), 'tcp://127.0.0.1:22')
        s.pipe(s)
      })
      const s = p.client.openStream(Buffer.from('tcp://127.0.0.1:22'))
      assert.equal(s.id, 1)
      const payload = Buffer.alloc(300_000).map((_, i) => i * 7)
      s.end(payload)
      assert.deepEqual(await readAll(s), payload)
      await closed(s)
      assert.equal(p.client.stats.streams.open, 0, 'fully closed streams leave the table')
      assert.equal(p.client.stats.streams.opened, 1)
      assert.equal(p.server.stats.streams.accepted, 1)
      await p.close()
    })

    test('half-close: each direction ends on its own, the other keeps working', async () => {
      const p = await sessionPair(kind)
      const accepted = once(p.server, 'stream') as Promise<[MuxStream]>
      const c = p.client.openStream()
      c.end('request') // client -> server ends first
      const [s] = await accepted
      assert.equal((await readAll(s)).toString(), 'request')
      assert.equal(s.state, 'remote-closed')
      assert.equal(c.state, 'local-closed')
      const reply = readAll(c)
      s.write('reply part 1, ')
      await new Promise((r) => setTimeout(r, 10))
      s.end('part 2')
      assert.equal((await reply).toString(), 'reply part 1, part 2')
      await Promise.all([closed(c), closed(s)])
      assert.equal(c.state, 'closed')
      assert.equal(s.state, 'closed')
      assert.equal(p.server.stats.streams.open, 0)
      // And the other way round: the server ends first, the client keeps sending.
      const accepted2 = once(p.server, 'stream') as Promise<[MuxStream]>
      const c2 = p.client.openStream()
      c2.write('x')
      const [s2] = await accepted2
      s2.end('server done')
      assert.equal((await readAll(c2)).toString(), 'server done')
      const got = readAll(s2)
      c2.end('y')
      assert.equal((await got).toString(), 'xy')
      await p.close()
    })

    test('reset with a code reaches the peer as TUN_ERR_STREAM_RESET with wireCode and reason', async () => {
      const p = await sessionPair(kind)
      const accepted = once(p.server, 'stream') as Promise<[MuxStream]>
      const c = p.client.openStream()
      c.write('hi')
      const [s] = await accepted
      const serverEnd = closed(s)
      c.reset(0x123, 'target refused')
      const err = await serverEnd
      assert.ok(isTunnelError(err, 'TUN_ERR_STREAM_RESET'), String(err))
      assert.equal(err.wireCode, 0x123)
      assert.match(err.message, /target refused/)
      assert.equal(s.state, 'reset')
      assert.equal(c.state, 'reset')
      assert.equal(await closed(c), undefined, 'a local reset is not an error locally')
      // destroy() without an error sends CANCEL (0); the link stays up.
      const accepted2 = once(p.server, 'stream') as Promise<[MuxStream]>
      const c2 = p.client.openStream()
      c2.write('x')
      const [s2] = await accepted2
      const e2 = closed(s2)
      c2.destroy()
      assert.equal((await e2)?.message.includes('code 0'), true)
      assert.equal(p.client.state, 'open')
      await p.close()
    })

    test('an OPEN beyond MAX_STREAMS is refused (RESET REFUSED) and the link stays up', async () => {
      const p = await sessionPair(kind, {}, { maxStreams: 2 })
      const held: MuxStream[] = []
      p.server.on('stream', (s) => held.push(s.on('error', () => {})))
      // Opened at once, before the server's SETTINGS arrive: the client cannot know the limit yet.
      const streams = [1, 2, 3].map(() => p.client.openStream().on('error', () => {}))
      for (const s of streams) s.write('x')
      const err = await closed(streams[2] as MuxStream)
      assert.ok(isTunnelError(err, 'TUN_ERR_STREAM_REFUSED'), String(err))
      assert.equal(err.wireCode, 2)
      assert.equal(p.server.stats.streams.refused, 1)
      // Now the client knows the limit and refuses locally, at once.
      assert.throws(() => p.client.openStream(), { code: 'TUN_ERR_TOO_MANY_STREAMS' })
      // Free a slot: the link still works.
      const freed = closed(held[0] as MuxStream) // the server frees the slot when the RESET arrives
      streams[0]?.destroy()
      await freed
      const third = once(p.server, 'stream') as Promise<[MuxStream]>
      const again = p.client.openStream().on('error', () => {})
      again.end('still up')
      const [s3] = await third
      assert.equal((await readAll(s3)).toString(), 'still up')
      await p.close()
    })

    test('no stream listener: OPENs are refused; a header over 8 KiB is refused locally', async () => {
      const p = await sessionPair(kind)
      const c = p.client.openStream(Buffer.from('nobody home'))
      c.write('x')
      const err = await closed(c)
      assert.ok(isTunnelError(err, 'TUN_ERR_STREAM_REFUSED'), String(err))
      assert.equal(p.server.stats.streams.refused, 1)
      assert.throws(() => p.client.openStream(Buffer.alloc(8193)), { code: 'TUN_ERR_FRAME_TOO_LARGE' })
      assert.equal(p.client.state, 'open')
      await p.close()
    })

    test('GOAWAY: no new streams either way, existing streams finish, then the link closes cleanly', async () => {
      const p = await sessionPair(kind)
      p.server.on('stream', (s) => s.pipe(s))
      const c = p.client.openStream()
      c.write('before')
      await once(c, 'data')
      const goaway = once(p.client, 'goaway')
      p.server.goaway(0, 'maintenance')
      assert.deepEqual(await goaway, [0, 'maintenance'])
      assert.equal(p.client.state, 'draining')
      assert.throws(() => p.client.openStream(), { code: 'TUN_ERR_GOAWAY' })
      assert.throws(() => p.server.openStream(), { code: 'TUN_ERR_GOAWAY' })
      const closes = [p.client, p.server].map((x) => once(x, 'close').then(([e]) => e as Error | undefined))
      const rest = readAll(c)
      c.end('after')
      assert.equal((await rest).toString(), 'after')
      const [ce, se] = await Promise.all(closes)
      assert.equal(ce, undefined)
      assert.equal(se, undefined)
      await p.close()
    })

    test('close() ends every stream with TUN_ERR_LINK_CLOSED on both sides; idempotent', async () => {
      const p = await sessionPair(kind)
      const accepted = once(p.server, 'stream') as Promise<[MuxStream]>
      const c = p.client.openStream()
      c.write('x')
      const [s] = await accepted
      const ends = [closed(c), closed(s)]
      const serverClose = once(p.server, 'close')
      p.client.close()
      p.client.close()
      const [ce, se] = await Promise.all(ends)
      assert.ok(isTunnelError(ce, 'TUN_ERR_LINK_CLOSED'), String(ce))
      assert.ok(isTunnelError(se, 'TUN_ERR_LINK_CLOSED'), String(se))
      await serverClose
      assert.throws(() => p.client.openStream(), { code: 'TUN_ERR_LINK_CLOSED' })
      await assert.rejects(p.client.ping(), { code: 'TUN_ERR_LINK_CLOSED' })
      await Promise.all([p.a, p.b].map((c) => (c.closed ? undefined : once(c, 'close'))))
      await p.close()
    })

    test('ping measures the RTT; the server can speak first on an optimistic stream', async () => {
      const p = await sessionPair(kind)
      const rtt = await p.client.ping()
      assert.ok(rtt >= 0 && rtt < 1000)
      assert.ok(p.client.rtt !== undefined)
      const accepted = once(p.server, 'stream') as Promise<[MuxStream]>
      p.server.on('stream', (s) => s.end('220 greeting from the server\r\n').resume())
      const c = p.client.openStream(Buffer.from('smtp'))
      assert.equal((await readAll(c)).toString(), '220 greeting from the server\r\n')
      c.end()
      const [s] = await accepted
      await Promise.all([closed(c), closed(s)])
      await p.close()
    })

    test('writes larger than the peer MAX_FRAME are split; a reader that stops stops the writer', async () => {
      const p = await sessionPair(
        kind,
        { initialWindow: 64 * 1024, maxWindow: 64 * 1024 },
        { maxFrame: 16 * 1024, initialWindow: 64 * 1024, maxWindow: 64 * 1024 },
      )
      const accepted = once(p.server, 'stream') as Promise<[MuxStream]>
      const c = p.client.openStream()
      const big = Buffer.alloc(1 << 20).map((_, i) => i % 251)
      const writeOk = c.write(big)
      assert.equal(writeOk, false, 'over the writable high-water mark')
      const [s] = await accepted
      while (s.readableLength < 64 * 1024) await new Promise((r) => setImmediate(r)) // the window fills up
      await p.client.ping() // a round trip later, still no more than the window
      assert.equal(s.readableLength, 64 * 1024)
      assert.ok(c.writableLength > 0, 'the writer waits for credit')
      c.end()
      assert.deepEqual(await readAll(s), big)
      s.end()
      c.resume()
      await Promise.all([closed(c), closed(s)])
      await p.close()
    })
  })
}

test('options are validated: out-of-range values throw TUN_ERR_INVALID_ARGUMENT', () => {
  const [a] = memoryPair()
  for (const bad of [
    { initialWindow: 1000 },
    { maxFrame: 1 << 24 },
    { maxDatagram: 100 },
    { keepaliveInterval: 5000, keepaliveTimeout: 5000 },
    { maxStreams: -1 },
    { initialWindow: 1.5 },
  ]) {
    assert.throws(
      () => new MuxSession(a, { initiator: true, ...bad }),
      { code: 'TUN_ERR_INVALID_ARGUMENT' },
      JSON.stringify(bad),
    )
  }
  assert.throws(() => new MuxSession(a, {} as never), { code: 'TUN_ERR_INVALID_ARGUMENT' })
  a.destroy()
})

test("'settings' reports the peer's SETTINGS (its first frame)", async () => {
  const [a, b] = memoryPair()
  const client = new MuxSession(a, { initiator: true, keepaliveInterval: 0 })
  const server = new MuxSession(b, { initiator: false, keepaliveInterval: 0, maxStreams: 7, maxFrame: 32768 })
  const [peer] = await once(client, 'settings')
  assert.deepEqual(peer, { initialWindow: 1 << 20, maxStreams: 7, maxFrame: 32768, maxDatagram: 65000 })
  assert.equal(client.peerMaxFrame, 32768)
  client.close()
  server.close()
  a.destroy()
})
