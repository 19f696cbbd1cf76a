import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import { dial, listen, tcp, transportFor, unix, ws, wss } from '../../../src/transport/index.ts'
import type { TransportAddress } from '../../../src/address/types.ts'

test('transportFor returns the transport of each kind', () => {
  assert.equal(transportFor('tcp'), tcp)
  assert.equal(transportFor('unix'), unix)
  assert.equal(transportFor('ws'), ws)
  assert.equal(transportFor('wss'), wss)
  for (const k of ['tcp', 'unix', 'ws', 'wss'] as const) assert.equal(transportFor(k).kind, k)
})

test('an unknown kind is TUN_ERR_ADDRESS_UNSUPPORTED (also from dial, as a rejection)', async () => {
  assert.throws(
    () => transportFor('udp' as never),
    (err) => isTunnelError(err, 'TUN_ERR_ADDRESS_UNSUPPORTED'),
  )
  assert.throws(
    () => transportFor('toString' as never),
    (err) => isTunnelError(err, 'TUN_ERR_ADDRESS_UNSUPPORTED'),
  )
  const bogus = { kind: 'udp', host: '127.0.0.1', port: 1 } as unknown as TransportAddress
  await assert.rejects(dial(bogus), (err) => isTunnelError(err, 'TUN_ERR_ADDRESS_UNSUPPORTED'))
})

test('dial and listen dispatch on address.kind', { timeout: 10_000 }, async () => {
  const listener = await listen({ kind: 'ws', host: '127.0.0.1', port: 0, path: '/x' }, (c) =>
    c.on('error', () => undefined).end('hi'),
  )
  try {
    const conn = await dial(listener.address)
    assert.equal(conn.info.transport, 'ws')
    const [data] = await once(conn, 'data')
    assert.equal(String(data), 'hi')
    conn.destroy()
  } finally {
    await listener.close()
  }
})
