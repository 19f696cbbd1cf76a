// The expose and visitor requests of the relay protocol (relay/wire.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeRequest, encodeRequest } from '../../../src/relay/wire.ts'

const decode = (text: string) => decodeRequest(Buffer.from(text))

test('expose: port and tls are optional; what is encoded decodes the same', () => {
  assert.deepEqual(decode('{"op":"expose"}'), { op: 'expose' })
  assert.deepEqual(decode('{"op":"expose","port":20080,"tls":true}'), {
    op: 'expose',
    port: 20080,
    tls: true,
  })
  assert.deepEqual(decode('{"op":"expose","tls":false}'), { op: 'expose' })
  for (const r of [
    { op: 'expose' as const, port: 1 },
    { op: 'visitor' as const, port: 65535, from: '[::1]:5' },
  ])
    assert.deepEqual(decodeRequest(encodeRequest(r)), r)
})

test('malformed expose and visitor requests are TUN_ERR_BAD_REQUEST with the BAD_REQUEST reset code', () => {
  for (const text of [
    '{"op":"expose","port":0}',
    '{"op":"expose","port":65536}',
    '{"op":"expose","port":"80"}',
    '{"op":"expose","port":80.5}',
    '{"op":"expose","tls":"yes"}',
    '{"op":"visitor","from":"1.2.3.4:5"}',
    '{"op":"visitor","port":80}',
    '{"op":"visitor","port":80,"from":5}',
  ])
    assert.throws(() => decode(text), { code: 'TUN_ERR_BAD_REQUEST', wireCode: 0x122 }, text)
})
