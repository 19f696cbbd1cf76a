/**
 * Byte vectors for every mux frame type (docs/protocol.md, "Multiplexer"): each frame is written
 * by hand in hex, encoded by wire.ts to exactly those bytes, and decoded back.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Decoder, type Frame } from '../../../src/mux/decoder.ts'
import {
  DEFAULT_MAX_DATAGRAM,
  DEFAULT_MAX_FRAME,
  MAX_OPEN_HEADER,
  MAX_REASON_BYTES,
  encodeDataHeader,
  encodeDatagramHeader,
  encodeFin,
  encodeGoaway,
  encodeOpenHeader,
  encodePing,
  encodePong,
  encodeReset,
  encodeSettings,
  encodeWindow,
  reasonBytes,
} from '../../../src/mux/wire.ts'

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex')
const limits = {
  maxFrame: DEFAULT_MAX_FRAME,
  maxDatagram: DEFAULT_MAX_DATAGRAM,
  maxOpenHeader: MAX_OPEN_HEADER,
}

interface Vector {
  name: string
  hex: string
  encode: () => Buffer
  frames: Frame[]
}

// Header: type u8 | length u24 | stream id u32, then the body.
const VECTORS: Vector[] = [
  {
    name: 'SETTINGS with all four settings',
    hex: '00 000018 00000000 | 0001 00100000 | 0002 00000400 | 0003 00010000 | 0004 0000fde8',
    encode: () =>
      encodeSettings({ initialWindow: 1 << 20, maxStreams: 1024, maxFrame: 65536, maxDatagram: 65000 }),
    frames: [
      {
        type: 'settings',
        entries: [
          [1, 1 << 20],
          [2, 1024],
          [3, 65536],
          [4, 65000],
        ],
      },
    ],
  },
  {
    name: 'OPEN stream 1 with header "hi"',
    hex: '01 000002 00000001 | 6869',
    encode: () => Buffer.concat([encodeOpenHeader(1, 2), Buffer.from('hi')]),
    frames: [{ type: 'open', streamId: 1, header: Buffer.from('hi') }],
  },
  {
    name: 'OPEN stream 2 with an empty header',
    hex: '01 000000 00000002',
    encode: () => encodeOpenHeader(2, 0),
    frames: [{ type: 'open', streamId: 2, header: new Uint8Array(0) }],
  },
  {
    name: 'DATA on stream 0x01020304',
    hex: '02 000003 01020304 | 616263',
    encode: () => Buffer.concat([encodeDataHeader(0x01020304, 3), Buffer.from('abc')]),
    frames: [{ type: 'data', streamId: 0x01020304, data: Buffer.from('abc') }],
  },
  {
    name: 'FIN on stream 3',
    hex: '03 000000 00000003',
    encode: () => encodeFin(3),
    frames: [{ type: 'fin', streamId: 3 }],
  },
  {
    name: 'RESET stream 5, REFUSED, reason "full"',
    hex: '04 000008 00000005 | 00000002 | 66756c6c',
    encode: () => encodeReset(5, 2, 'full'),
    frames: [{ type: 'reset', streamId: 5, code: 2, reason: 'full' }],
  },
  {
    name: 'RESET with an app code (0x101) and no reason',
    hex: '04 000004 00000007 | 00000101',
    encode: () => encodeReset(7, 0x101),
    frames: [{ type: 'reset', streamId: 7, code: 0x101, reason: '' }],
  },
  {
    name: 'WINDOW stream 1, +65536',
    hex: '05 000004 00000001 | 00010000',
    encode: () => encodeWindow(1, 65536),
    frames: [{ type: 'window', streamId: 1, increment: 65536 }],
  },
  {
    name: 'PING',
    hex: '06 000008 00000000 | 0102030405060708',
    encode: () => encodePing(hex('0102030405060708')),
    frames: [{ type: 'ping', data: hex('0102030405060708') }],
  },
  {
    name: 'PONG',
    hex: '07 000008 00000000 | 0102030405060708',
    encode: () => encodePong(hex('0102030405060708')),
    frames: [{ type: 'pong', data: hex('0102030405060708') }],
  },
  {
    name: 'GOAWAY NORMAL "bye"',
    hex: '08 000007 00000000 | 00000000 | 627965',
    encode: () => encodeGoaway(0, 'bye'),
    frames: [{ type: 'goaway', code: 0, reason: 'bye' }],
  },
  {
    name: 'DATAGRAM on channel 0xffffffff',
    hex: '09 000002 ffffffff | beef',
    encode: () => Buffer.concat([encodeDatagramHeader(0xffffffff, 2), hex('beef')]),
    frames: [{ type: 'datagram', channel: 0xffffffff, data: hex('beef') }],
  },
]

const plain = (frames: Frame[]): unknown =>
  frames.map((f) =>
    JSON.parse(
      JSON.stringify(f, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
    ),
  )

for (const v of VECTORS) {
  test(`vector: ${v.name}`, () => {
    assert.equal(v.encode().toString('hex'), hex(v.hex).toString('hex'), 'encoding')
    assert.deepEqual(plain(new Decoder(limits).push(hex(v.hex))), plain(v.frames), 'decoding')
  })
}

test('reasons are cut to MAX_REASON_BYTES at a character boundary', () => {
  assert.equal(reasonBytes('a'.repeat(300)).length, MAX_REASON_BYTES)
  const cut = reasonBytes('a' + 'é'.repeat(200)) // 1 + 400 bytes; 'é' is 2 bytes
  assert.equal(cut.length, MAX_REASON_BYTES - 1)
  assert.equal(cut.toString('utf8'), 'a' + 'é'.repeat(127))
  const frame = encodeReset(1, 0, 'x'.repeat(1000))
  assert.equal(frame.length, 8 + 4 + MAX_REASON_BYTES)
})
