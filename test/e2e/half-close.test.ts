/**
 * Half-close through a relayed tunnel: a client that sends its request and shuts down its write
 * side (FIN) through `burrow open` must still receive the whole reply, which the target only starts
 * to send once it has read EOF (like `nc -N`, an HTTP/1.0 request, or a sort filter).
 */
import assert from 'node:assert/strict'
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, test } from 'node:test'
import {
  makeClientKey,
  runConnect,
  startOpen,
  startRelay,
  startServe,
  tempDir,
  type OpenDaemon,
  type RelayDaemon,
  type ServeDaemon,
} from '../helpers/burrow-procs.ts'
import { sha256Hex } from '../helpers/files.ts'

/** Bounds each test, whatever hangs. */
const TEST_TIMEOUT_MS = 60_000
const REQUEST_BYTES = 3 * 1024 * 1024 + 17
const REPLY_BYTES = 8 * 1024 * 1024 + 5
/** Bounds one exchange (the reply crosses the relay in well under a second here). */
const EXCHANGE_TIMEOUT_MS = 30_000

const dir = tempDir('half-close')
let target: ReplyAfterEof
let relay: RelayDaemon
let serve: ServeDaemon
let open: OpenDaemon
let key: string

before(async () => {
  const [r, client, t] = await Promise.all([startRelay(), makeClientKey(dir), startReplyAfterEof()])
  relay = r
  target = t
  key = client.key
  serve = await startServe({
    relay: relay.address,
    exposeTcp: `127.0.0.1:${target.port}`,
    allowClients: [client.id],
  })
  open = await startOpen({ server: serve.address, key })
})
after(async () => {
  await Promise.all([open?.stop(), serve?.stop()])
  await Promise.all([relay?.stop(), target?.close()])
})

test(
  'through burrow open: send, shut down the write side, receive the full multi-MiB reply',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const request = randomBytes(REQUEST_BYTES)
    const s = net.connect({ host: '127.0.0.1', port: open.port, allowHalfOpen: true })
    s.setTimeout(EXCHANGE_TIMEOUT_MS, () => s.destroy(new Error(`no reply within ${EXCHANGE_TIMEOUT_MS} ms`)))
    await once(s, 'connect')
    const reply = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      s.on('data', (d: Buffer) => chunks.push(d))
      s.once('end', () => resolve(Buffer.concat(chunks)))
      s.once('error', reject)
    })
    s.end(request) // FIN after the request: our side is done writing, reading goes on
    const got = await reply
    s.destroy()
    const expected = target.replyFor(request)
    assert.equal(got.length, expected.length)
    assert.equal(sha256Hex(got), sha256Hex(expected))
  },
)

test(
  'through burrow connect --stdio: stdin EOF is a half-close, the reply still arrives whole',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const request = randomBytes(64 * 1024)
    const r = await runConnect(serve.address, key, { input: request, timeoutMs: EXCHANGE_TIMEOUT_MS })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(sha256Hex(r.stdout), sha256Hex(target.replyFor(request)))
  },
)

interface ReplyAfterEof {
  port: number
  /** The reply the target sends for `request`: its sha256 line, then REPLY_BYTES derived from it. */
  replyFor(request: Buffer): Buffer
  close(): Promise<void>
}

/**
 * A target that reads until EOF and only then answers: the request's sha256 (hex) and length on one
 * line, then REPLY_BYTES of AES-256-CTR keystream keyed by that digest (so the reply proves the whole request
 * arrived, and cannot come from anywhere else), then FIN.
 */
async function startReplyAfterEof(): Promise<ReplyAfterEof> {
  const replyFor = (request: Buffer): Buffer => {
    const digest = createHash('sha256').update(request).digest()
    const body = createCipheriv('aes-256-ctr', digest, Buffer.alloc(16)).update(Buffer.alloc(REPLY_BYTES))
    return Buffer.concat([Buffer.from(`${digest.toString('hex')} ${request.length}\n`), body])
  }
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.once('end', () => socket.end(replyFor(Buffer.concat(chunks))))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    replyFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}
