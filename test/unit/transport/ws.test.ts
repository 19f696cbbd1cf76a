import assert from 'node:assert/strict'
import { once } from 'node:events'
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'
import { type TestContext, test } from 'node:test'
import { WebSocket } from 'ws'
import { isTunnelError } from '../../../src/errors.ts'
import type { TransportAddress } from '../../../src/address/types.ts'
import type { Conn, Listener } from '../../../src/transport/types.ts'
import { WS_MAX_MESSAGE } from '../../../src/transport/ws-conn.ts'
import { ws } from '../../../src/transport/ws.ts'
import { transportCompliance } from '../../compliance/transport.ts'

const LOOPBACK = { kind: 'ws', host: '127.0.0.1', port: 0, path: '/burrow' } as const

transportCompliance('ws', async () => ({ transport: ws, listenAddress: LOOPBACK }))

/** A ws listener whose accepted Conns arrive through `next()`; closed after the test. */
async function server(
  t: TestContext,
): Promise<{ listener: Listener; next(): Promise<Conn>; url: string; http: string }> {
  const waiting: Array<(c: Conn) => void> = []
  const queued: Conn[] = []
  const accepted: Conn[] = []
  const listener = await ws.listen(LOOPBACK, (c) => {
    accepted.push(c)
    c.on('error', () => undefined)
    const w = waiting.shift()
    if (w) w(c)
    else queued.push(c)
  })
  t.after(async () => {
    for (const c of accepted) c.destroy()
    await listener.close()
  })
  const a = listener.address as TransportAddress & { kind: 'ws' }
  return {
    listener,
    next: () => {
      const c = queued.shift()
      return c ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve))
    },
    url: `ws://127.0.0.1:${a.port}${a.path}`,
    http: `http://127.0.0.1:${a.port}`,
  }
}

/** A plain `ws` client: what a foreign peer speaking the convention by hand looks like. */
async function rawClient(t: TestContext, url: string): Promise<WebSocket> {
  const client = new WebSocket(url, { perMessageDeflate: false })
  t.after(() => client.terminate())
  await once(client, 'open')
  return client
}

function read(conn: Conn): Promise<Buffer> {
  const chunks: Buffer[] = []
  conn.on('data', (c: Buffer) => chunks.push(c))
  return once(conn, 'end').then(() => Buffer.concat(chunks))
}

test('bufferutil is loaded as the native binding (masking in JS is 5x slower)', () => {
  assert.equal(process.env.WS_NO_BUFFER_UTIL, undefined, 'WS_NO_BUFFER_UTIL would make ws skip bufferutil')
  const fromWs = createRequire(createRequire(import.meta.url).resolve('ws'))
  const bufferutil = fromWs('bufferutil') as { mask: unknown }
  const fallback = fromWs('bufferutil/fallback') as { mask: unknown }
  assert.notEqual(bufferutil.mask, fallback.mask, 'bufferutil resolved to its JS fallback')
  const native = Object.keys(fromWs.cache).filter((k) => k.includes('bufferutil') && k.endsWith('.node'))
  assert.equal(native.length, 1, `expected one bufferutil .node in the require cache, got ${native}`)
})

test('plain HTTP requests get 404 off the path and 426 on it', { timeout: 10_000 }, async (t) => {
  const { http: base } = await server(t)
  const get = async (path: string) => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(new URL(path, base), { agent: false }, resolve).on('error', reject),
    )
    res.resume()
    return res.statusCode
  }
  assert.equal(await get('/elsewhere'), 404)
  assert.equal(await get('/burrow'), 426)
})

test(
  'an upgrade on another path is refused: TUN_ERR_CONNECT_REFUSED (404)',
  { timeout: 10_000 },
  async (t) => {
    const { listener } = await server(t)
    await assert.rejects(ws.dial({ ...(listener.address as typeof LOOPBACK), path: '/other' }), (err) => {
      assert.ok(isTunnelError(err, 'TUN_ERR_CONNECT_REFUSED'))
      assert.match(err.message, /refused: nothing is listening on that path/)
      return true
    })
  },
)

test(
  'half-close convention: binary = data, empty text = end of data, then close 1000',
  { timeout: 10_000 },
  async (t) => {
    const s = await server(t)
    const client = await rawClient(t, s.url)
    const got: Array<[string, boolean]> = []
    client.on('message', (data: Buffer, isBinary) => got.push([data.toString(), isBinary]))
    const closed = once(client, 'close')
    const conn = await s.next()
    client.send(Buffer.from('hello'))
    client.send('') // end of the client's data
    assert.equal((await read(conn)).toString(), 'hello')
    conn.end('reply') // both ends done: the Conn closes the WebSocket with 1000
    const [code] = await closed
    assert.equal(code, 1000)
    assert.deepEqual(got, [
      ['reply', true],
      ['', false],
    ])
  },
)

test('the Conn sends its end marker first and may still read afterwards', { timeout: 10_000 }, async (t) => {
  const s = await server(t)
  const client = await rawClient(t, s.url)
  const conn = await s.next()
  const [first] = await Promise.all([once(client, 'message'), conn.end()])
  assert.deepEqual([String(first[0]), first[1]], ['', false])
  client.send(Buffer.from('late data'))
  client.send('')
  assert.equal((await read(conn)).toString(), 'late data')
  const [code] = await once(client, 'close')
  assert.equal(code, 1000)
})

test('a non-empty text message is a protocol error (close 1003)', { timeout: 10_000 }, async (t) => {
  const s = await server(t)
  const client = await rawClient(t, s.url)
  const conn = await s.next()
  const failed = once(conn, 'error')
  const closed = once(client, 'close')
  client.send('text is not data')
  const [err] = await failed
  assert.ok(isTunnelError(err, 'TUN_ERR_TRANSPORT'))
  assert.equal(err.wireCode, 1003)
  const [code] = await closed
  assert.equal(code, 1003)
})

test(
  `writes are split into messages of at most WS_MAX_MESSAGE (${WS_MAX_MESSAGE} B); small ones are coalesced`,
  { timeout: 10_000 },
  async (t) => {
    const s = await server(t)
    const client = await rawClient(t, s.url)
    const sizes: number[] = []
    client.on('message', (data: Buffer, isBinary) => isBinary && sizes.push(data.length))
    const conn = await s.next()
    conn.write(Buffer.alloc(2.5 * WS_MAX_MESSAGE))
    conn.cork()
    for (let i = 0; i < 100; i++) conn.write(Buffer.alloc(100))
    process.nextTick(() => conn.uncork())
    const marker = new Promise<void>((resolve) =>
      client.on('message', (_d, isBinary) => isBinary || resolve()),
    )
    conn.end()
    await marker
    assert.deepEqual(sizes.slice(0, 3), [WS_MAX_MESSAGE, WS_MAX_MESSAGE, WS_MAX_MESSAGE / 2])
    assert.deepEqual(sizes.slice(3), [100 * 100], 'the 100 corked writes travel as one message')
  },
)

test(
  'a message over WS_MAX_MESSAGE closes the connection (1009) with an error on the Conn',
  { timeout: 10_000 },
  async (t) => {
    const s = await server(t)
    const client = await rawClient(t, s.url)
    const conn = await s.next()
    const failed = once(conn, 'error')
    const closed = once(client, 'close')
    client.send(Buffer.alloc(WS_MAX_MESSAGE + 1))
    const [err] = await failed
    assert.ok(isTunnelError(err, 'TUN_ERR_TRANSPORT'), String(err))
    assert.equal(err.wireCode, 1009)
    const [code] = await closed
    assert.equal(code, 1009)
  },
)

test(
  'a peer that destroys its Conn gives TUN_ERR_CONN_RESET with the close code (1001)',
  { timeout: 10_000 },
  async (t) => {
    const s = await server(t)
    const conn = await ws.dial(s.listener.address)
    const peer = await s.next()
    const failed = once(conn, 'error')
    peer.destroy()
    const [err] = await failed
    assert.ok(isTunnelError(err, 'TUN_ERR_CONN_RESET'))
    assert.equal(err.wireCode, 1001)
  },
)

test(
  'ConnInfo: the dialer sees the URL, the listener sees the client address',
  { timeout: 10_000 },
  async (t) => {
    const s = await server(t)
    const conn = await ws.dial(s.listener.address)
    t.after(() => conn.destroy())
    const peer = await s.next()
    assert.equal(conn.info.remote, s.url)
    assert.match(conn.info.local, /^127\.0\.0\.1:\d+$/)
    assert.equal(peer.info.remote, conn.info.local)
    assert.equal(peer.info.local, s.url)
  },
)

/** A TCP server that accepts and never answers: an upgrade that never completes, on loopback. */
async function silentServer(t: TestContext): Promise<number> {
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((s) => sockets.add(s.on('error', () => undefined)))
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of sockets) s.destroy()
    srv.close()
  })
  return (srv.address() as net.AddressInfo).port
}

test(
  'dial timeout covers the upgrade: a server that never answers gives TUN_ERR_CONNECT_TIMEOUT',
  { timeout: 10_000 },
  async (t) => {
    const port = await silentServer(t)
    const started = Date.now()
    await assert.rejects(ws.dial({ ...LOOPBACK, port }, { timeoutMs: 200 }), (err) => {
      assert.ok(isTunnelError(err, 'TUN_ERR_CONNECT_TIMEOUT'))
      assert.match(err.message, /timed out after 200 ms/)
      return true
    })
    assert.ok(Date.now() - started < 5_000)
  },
)

test('an AbortSignal aborts a dial stuck in the upgrade', { timeout: 10_000 }, async (t) => {
  const port = await silentServer(t)
  const ac = new AbortController()
  const pending = ws.dial({ ...LOOPBACK, port }, { signal: ac.signal })
  setImmediate(() => ac.abort())
  await assert.rejects(pending, (err) => isTunnelError(err, 'TUN_ERR_ABORTED'))
})
