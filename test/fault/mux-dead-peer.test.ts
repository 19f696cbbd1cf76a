/**
 * Dead-peer detection: when the peer goes silent (no TCP error, just nothing), keepalive notices
 * within keepaliveTimeout and every open stream ends with TUN_ERR_PEER_TIMEOUT.
 *   1. Real sockets through a stalling proxy, short real intervals.
 *   2. No proxy: an in-memory link, the default 15 s / 45 s intervals under node:test mock timers.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { mock, test } from 'node:test'
import { isTunnelError } from '../../src/errors.ts'
import { DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_KEEPALIVE_TIMEOUT_MS } from '../../src/mux/keepalive.ts'
import { MuxSession } from '../../src/mux/session.ts'
import type { MuxStream } from '../../src/mux/stream.ts'
import type { MuxClock } from '../../src/mux/types.ts'
import { memoryPair } from '../helpers/pair.ts'
import { createStallProxy } from '../helpers/stall-proxy.ts'

const INTERVAL = 100
const TIMEOUT = 400
/** Timer and event-loop slack allowed on top of the timeout when measuring detection time. */
const DETECTION_SLACK_MS = 150

/** Resolves with the error a stream ends with. */
const ended = (s: MuxStream): Promise<Error | undefined> =>
  new Promise((resolve) => {
    let error: Error | undefined
    s.on('error', (e) => (error = e))
    s.on('close', () => resolve(error))
  })

test(
  'a stalled link is detected within keepaliveTimeout; every stream ends with TUN_ERR_PEER_TIMEOUT',
  { timeout: 20_000 },
  async () => {
    const opts = { keepaliveInterval: INTERVAL, keepaliveTimeout: TIMEOUT, closeLinger: 200 }
    const servers: MuxSession[] = []
    const serverStreams: MuxStream[] = []
    const listener = net.createServer((socket) => {
      socket.setNoDelay(true)
      const s = new MuxSession(socket, { ...opts, initiator: false })
      s.on('stream', (st) => {
        serverStreams.push(st)
        st.pipe(st)
      })
      servers.push(s)
    })
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    const proxy = await createStallProxy((listener.address() as net.AddressInfo).port)
    const socket = net.connect({ port: proxy.port, host: '127.0.0.1', noDelay: true })
    await once(socket, 'connect')
    const client = new MuxSession(socket, { ...opts, initiator: true })

    const streams = [1, 2, 3].map(() => client.openStream())
    for (const s of streams) s.write('ping')
    await Promise.all(streams.map((s) => once(s, 'data')))
    // Idle but alive: keepalive pings keep the link up well past the timeout.
    await new Promise((r) => setTimeout(r, 3 * TIMEOUT))
    assert.equal(client.state, 'open')
    assert.equal(servers[0]?.state, 'open')

    const clientEnds = streams.map(ended)
    const serverEnds = serverStreams.map(ended)
    const whenClosed = (s: MuxSession): Promise<Error | undefined> =>
      once(s, 'close').then(([e]) => e as Error | undefined)
    const closes = [whenClosed(client), whenClosed(servers[0] as MuxSession)]
    const t0 = performance.now()
    proxy.stall()
    const [clientErr, serverErr] = await Promise.all(closes)
    const detectedMs = performance.now() - t0
    console.log(`dead peer detected after ${detectedMs.toFixed(0)} ms (keepaliveTimeout ${TIMEOUT} ms)`)
    assert.ok(detectedMs <= TIMEOUT + DETECTION_SLACK_MS, `${detectedMs} ms`)
    assert.ok(isTunnelError(clientErr, 'TUN_ERR_PEER_TIMEOUT'), String(clientErr))
    assert.ok(isTunnelError(serverErr, 'TUN_ERR_PEER_TIMEOUT'), String(serverErr))
    for (const err of await Promise.all([...clientEnds, ...serverEnds])) {
      assert.ok(isTunnelError(err, 'TUN_ERR_PEER_TIMEOUT'), String(err))
    }
    assert.equal(serverEnds.length, 3)
    assert.ok(proxy.dropped.up + proxy.dropped.down > 0, 'keepalive pings went into the void')
    await proxy.close()
    listener.close()
    if (!socket.closed) await once(socket, 'close')
  },
)

test('fake timers: the default 15 s / 45 s keepalive pings an idle peer and declares a silent one dead', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] })
  t.after(() => mock.timers.reset())
  const clock: MuxClock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  }
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r)) // let the in-memory link deliver
  const [a, b] = memoryPair()
  const client = new MuxSession(a, { initiator: true, clock })
  const server = new MuxSession(b, { initiator: false, clock })
  const serverStreams: MuxStream[] = []
  server.on('stream', (s) => serverStreams.push(s.pipe(s) as MuxStream))
  const stream = client.openStream()
  stream.write('x')
  await once(stream, 'data')
  await turn()

  // An idle but answering peer: a PING after each interval of silence, answered; never a timeout.
  const sentBefore = client.stats.bytes.sent
  for (
    let elapsed = 0;
    elapsed < 4 * DEFAULT_KEEPALIVE_TIMEOUT_MS;
    elapsed += DEFAULT_KEEPALIVE_INTERVAL_MS
  ) {
    mock.timers.tick(DEFAULT_KEEPALIVE_INTERVAL_MS)
    await turn()
  }
  assert.equal(client.state, 'open')
  assert.ok(client.stats.bytes.sent - sentBefore >= 16 * 8, 'keepalive PINGs were sent')

  // Now the link goes silent both ways.
  a.stalled = true
  b.stalled = true
  const ends = [stream, ...serverStreams].map(ended)
  const closed = once(client, 'close') as Promise<[Error | undefined]>
  mock.timers.tick(DEFAULT_KEEPALIVE_TIMEOUT_MS - 1)
  await turn()
  assert.equal(client.state, 'open', 'not before the timeout')
  mock.timers.tick(1)
  await turn()
  const [err] = await closed
  assert.ok(isTunnelError(err, 'TUN_ERR_PEER_TIMEOUT'), String(err))
  assert.equal(ends.length, 2)
  for (const e of await Promise.all(ends)) assert.ok(isTunnelError(e, 'TUN_ERR_PEER_TIMEOUT'), String(e))
  assert.equal(server.state, 'closed', 'the server saw the same silence')
  a.destroy()
  b.destroy()
})
