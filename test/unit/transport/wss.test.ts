import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type TestContext, test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import type { Conn, Listener } from '../../../src/transport/types.ts'
import { wss } from '../../../src/transport/ws.ts'
import { transportCompliance } from '../../compliance/transport.ts'
import { testCert } from '../../helpers/tls.ts'

const LOOPBACK = { kind: 'wss', host: '127.0.0.1', port: 0, path: '/burrow' } as const

transportCompliance('wss', async () => {
  const { cert, key } = await testCert()
  return { transport: wss, listenAddress: LOOPBACK, listenOptions: { cert, key }, dialOptions: { ca: cert } }
})

/** A wss listener that answers every Conn with `pong` and ends; closed after the test. */
async function pongServer(t: TestContext): Promise<Listener> {
  const { cert, key } = await testCert()
  const conns: Conn[] = []
  const listener = await wss.listen(LOOPBACK, (c) => conns.push(c.on('error', () => undefined).end('pong')), {
    cert,
    key,
  })
  t.after(async () => {
    for (const c of conns) c.destroy()
    await listener.close()
  })
  return listener
}

async function readAll(conn: Conn): Promise<string> {
  const chunks: Buffer[] = []
  conn.on('data', (c: Buffer) => chunks.push(c))
  conn.end()
  await once(conn, 'end')
  return Buffer.concat(chunks).toString()
}

test(
  'the certificate is verified by default: a self-signed one without `ca` is refused',
  { timeout: 10_000 },
  async (t) => {
    const listener = await pongServer(t)
    await assert.rejects(wss.dial(listener.address), (err) => {
      assert.ok(isTunnelError(err, 'TUN_ERR_TRANSPORT'))
      assert.match(err.message, /TLS certificate was rejected \(DEPTH_ZERO_SELF_SIGNED_CERT\)/)
      return true
    })
  },
)

test(
  'with `ca` the certificate is checked against the name: localhost and 127.0.0.1 pass',
  { timeout: 10_000 },
  async (t) => {
    const listener = await pongServer(t)
    const { cert } = await testCert()
    const a = listener.address as typeof LOOPBACK
    for (const host of ['127.0.0.1', 'localhost']) {
      const conn = await wss.dial({ ...a, host }, { ca: cert })
      assert.equal(conn.info.remote, `wss://${host}:${a.port}/burrow`)
      assert.equal(await readAll(conn), 'pong')
    }
  },
)

test(
  'rejectUnauthorized: false accepts any certificate (Noise authenticates the node anyway)',
  { timeout: 10_000 },
  async (t) => {
    const listener = await pongServer(t)
    const conn = await wss.dial(listener.address, { rejectUnauthorized: false })
    assert.equal(await readAll(conn), 'pong')
  },
)

test('listening on wss without cert and key is TUN_ERR_INVALID_ARGUMENT', async () => {
  const { cert } = await testCert()
  await assert.rejects(
    wss.listen(LOOPBACK, () => undefined),
    (err) => isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
  )
  await assert.rejects(
    wss.listen(LOOPBACK, () => undefined, { cert }),
    (err) => isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
  )
})
