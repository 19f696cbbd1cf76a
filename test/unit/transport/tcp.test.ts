import assert from 'node:assert/strict'
import { once } from 'node:events'
import { networkInterfaces } from 'node:os'
import { test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import { tcp } from '../../../src/transport/tcp.ts'
import type { Conn } from '../../../src/transport/types.ts'
import { transportCompliance } from '../../compliance/transport.ts'

transportCompliance('tcp', async () => ({
  transport: tcp,
  listenAddress: { kind: 'tcp', host: '127.0.0.1', port: 0 },
}))

const hasIPv6Loopback = Object.values(networkInterfaces())
  .flat()
  .some((i) => i?.address === '::1')

test(
  'tcp over IPv6 loopback: [::1] in the address and in ConnInfo',
  { timeout: 10_000, skip: !hasIPv6Loopback && 'no ::1 on this machine' },
  async () => {
    const accepted: Conn[] = []
    const listener = await tcp.listen({ kind: 'tcp', host: '::1', port: 0 }, (c) =>
      accepted.push(c.end('pong')),
    )
    try {
      assert.equal(listener.address.kind === 'tcp' && listener.address.host, '::1')
      const conn = await tcp.dial(listener.address)
      assert.match(conn.info.remote, /^\[::1\]:\d+$/)
      assert.match(conn.info.local, /^\[::1\]:\d+$/)
      conn.end()
      const [data] = await once(conn, 'data')
      assert.equal(String(data), 'pong')
      await once(conn, 'close')
    } finally {
      await listener.close()
    }
  },
)

test(
  'listening on a port in use gives TUN_ERR_ADDRESS_IN_USE and names the address',
  { timeout: 10_000 },
  async () => {
    const first = await tcp.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, (c) => c.destroy())
    try {
      await assert.rejects(
        tcp.listen(first.address, () => undefined),
        (err) => {
          assert.ok(isTunnelError(err, 'TUN_ERR_ADDRESS_IN_USE'))
          assert.match(err.message, /^listen on tcp 127\.0\.0\.1:\d+ failed: /)
          assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE')
          return true
        },
      )
    } finally {
      await first.close()
    }
  },
)

test('a refused dial says where, and keeps the system error as cause', { timeout: 10_000 }, async () => {
  const l = await tcp.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => undefined)
  await l.close()
  const port = l.address.kind === 'tcp' ? l.address.port : 0
  await assert.rejects(tcp.dial(l.address), (err) => {
    assert.ok(isTunnelError(err, 'TUN_ERR_CONNECT_REFUSED'))
    assert.equal(err.message, `connect to tcp 127.0.0.1:${port} refused: nothing is listening there`)
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED')
    return true
  })
})

test('maxConnections: a listener closes connections beyond the limit', { timeout: 10_000 }, async () => {
  const accepted: Conn[] = []
  const listener = await tcp.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, (c) => accepted.push(c), {
    maxConnections: 1,
  })
  const first = await tcp.dial(listener.address)
  const second = await tcp.dial(listener.address) // the kernel accepts; the listener then drops it
  try {
    second.on('error', () => undefined).resume()
    await once(second, 'end') // allowHalfOpen: the listener's close is an EOF here

    assert.equal(accepted.length, 1)
  } finally {
    first.destroy()
    for (const c of accepted) c.destroy()
    await listener.close()
  }
})

test('bad arguments are TUN_ERR_INVALID_ARGUMENT, as rejections', async () => {
  const unixAddr = { kind: 'unix', path: '/tmp/x.sock' } as const
  await assert.rejects(tcp.dial(unixAddr), (err) => isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'))
  await assert.rejects(
    tcp.listen(unixAddr, () => undefined),
    (err) => isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
  )
  for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
    await assert.rejects(tcp.dial({ kind: 'tcp', host: '127.0.0.1', port: 1 }, { timeoutMs }), (err) =>
      isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
    )
  }
  await assert.rejects(
    tcp.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => undefined, { maxConnections: 0 }),
    (err) => isTunnelError(err, 'TUN_ERR_INVALID_ARGUMENT'),
  )
})
