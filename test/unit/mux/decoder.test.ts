/**
 * The streaming decoder: split-write vectors (every split offset, byte by byte), zero-copy DATA,
 * coded errors for malformed input, and fast-check properties (random bytes never throw anything
 * but a coded TunnelError and never grow the buffer past its bound; random frame sequences round-trip).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isTunnelError } from '../../../src/errors.ts'
import { Decoder, type Frame } from '../../../src/mux/decoder.ts'
import {
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
  encodeSettingsEntries,
  encodeWindow,
} from '../../../src/mux/wire.ts'

const limits = { maxFrame: 16 * 1024, maxDatagram: 1200, maxOpenHeader: MAX_OPEN_HEADER }
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex')

/** Encodes any decoded frame back to bytes (DATA fragments become whole DATA frames). */
function encode(f: Frame): Buffer {
  switch (f.type) {
    case 'settings':
      return encodeSettingsEntries(f.entries)
    case 'open':
      return Buffer.concat([encodeOpenHeader(f.streamId, f.header.length), f.header])
    case 'data':
      return Buffer.concat([encodeDataHeader(f.streamId, f.data.length), f.data])
    case 'fin':
      return encodeFin(f.streamId)
    case 'reset':
      return encodeReset(f.streamId, f.code, f.reason)
    case 'window':
      return encodeWindow(f.streamId, f.increment)
    case 'ping':
      return encodePing(f.data)
    case 'pong':
      return encodePong(f.data)
    case 'goaway':
      return encodeGoaway(f.code, f.reason)
    case 'datagram':
      return Buffer.concat([encodeDatagramHeader(f.channel, f.data.length), f.data])
  }
}

/** Comparable form: bytes as hex, and consecutive DATA pieces of one stream merged. */
function normalize(frames: Frame[]): unknown[] {
  const out: Array<Record<string, unknown>> = []
  for (const f of frames) {
    const last = out.at(-1)
    if (f.type === 'data' && last?.type === 'data' && last.streamId === f.streamId) {
      last.data = (last.data as string) + Buffer.from(f.data).toString('hex')
      continue
    }
    const o: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(f))
      o[k] = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v
    out.push(o)
  }
  return out
}

function decodeChunks(chunks: Uint8Array[], d = new Decoder(limits)): Frame[] {
  const frames: Frame[] = []
  for (const c of chunks) frames.push(...d.push(c))
  return frames
}

const SEQUENCE: Frame[] = [
  {
    type: 'settings',
    entries: [
      [1, 65536],
      [2, 8],
      [99, 7],
    ],
  },
  { type: 'open', streamId: 1, header: Buffer.from('tcp://127.0.0.1:22') },
  { type: 'data', streamId: 1, data: Buffer.from('hello, stream one') },
  { type: 'datagram', channel: 7, data: Buffer.from('a datagram') },
  { type: 'data', streamId: 3, data: Buffer.alloc(300, 0xab) },
  { type: 'window', streamId: 1, increment: 4096 },
  { type: 'ping', data: hex('0001020304050607') },
  { type: 'pong', data: hex('0706050403020100') },
  { type: 'data', streamId: 1, data: new Uint8Array(0) },
  { type: 'fin', streamId: 1 },
  { type: 'reset', streamId: 3, code: 0x105, reason: 'upstream said no' },
  { type: 'goaway', code: 0, reason: 'restart' },
]
const WIRE = Buffer.concat(SEQUENCE.map(encode))
const EXPECTED = normalize(SEQUENCE)

test('a frame sequence decodes from one chunk', () => {
  assert.deepEqual(normalize(decodeChunks([WIRE])), EXPECTED)
})

test('the same sequence fed byte by byte decodes identically', () => {
  const bytes = [...WIRE].map((b) => Uint8Array.of(b))
  assert.deepEqual(normalize(decodeChunks(bytes)), EXPECTED)
})

test('the same sequence split at every offset (and every pair of offsets) decodes identically', () => {
  for (let i = 0; i <= WIRE.length; i++) {
    assert.deepEqual(
      normalize(decodeChunks([WIRE.subarray(0, i), WIRE.subarray(i)])),
      EXPECTED,
      `split at ${i}`,
    )
  }
  for (let i = 0; i <= WIRE.length; i += 3) {
    for (let j = i; j <= WIRE.length; j += 5) {
      const chunks = [WIRE.subarray(0, i), WIRE.subarray(i, j), WIRE.subarray(j)]
      assert.deepEqual(normalize(decodeChunks(chunks)), EXPECTED, `split at ${i}, ${j}`)
    }
  }
})

test('DATA bodies are views into the input, emitted piece by piece as they arrive', () => {
  const body = Buffer.alloc(1000, 1)
  const wire = Buffer.concat([encodeDataHeader(5, 1000), body])
  const d = new Decoder(limits)
  const first = d.push(wire.subarray(0, 400))
  assert.equal(first.length, 1)
  const f = first[0] as Extract<Frame, { type: 'data' }>
  assert.equal(f.data.length, 392)
  assert.equal(f.data.buffer, wire.buffer, 'no copy')
  assert.equal(d.bufferedBytes, 0, 'nothing held for DATA')
  const rest = d.push(wire.subarray(400))
  assert.deepEqual(
    rest.map((r) => (r.type === 'data' ? [r.streamId, r.data.length] : r.type)),
    [[5, 608]],
  )
  assert.equal(d.state, 'header')
})

const BAD: Array<[string, string, string]> = [
  ['unknown frame type', '0a 000000 00000000', 'TUN_ERR_PROTOCOL'],
  ['DATA over maxFrame', '02 004001 00000001', 'TUN_ERR_FRAME_TOO_LARGE'],
  ['OPEN header over MAX_OPEN_HEADER', '01 002001 00000001', 'TUN_ERR_FRAME_TOO_LARGE'],
  ['DATAGRAM over maxDatagram', '09 0004b1 00000001', 'TUN_ERR_FRAME_TOO_LARGE'],
  ['SETTINGS not a multiple of 6', '00 000005 00000000', 'TUN_ERR_PROTOCOL'],
  ['SETTINGS with too many entries', '00 0000c6 00000000', 'TUN_ERR_FRAME_TOO_LARGE'],
  ['SETTINGS on a stream', '00 000000 00000001', 'TUN_ERR_PROTOCOL'],
  ['PING on a stream', '06 000008 00000001', 'TUN_ERR_PROTOCOL'],
  ['PING of 7 bytes', '06 000007 00000000', 'TUN_ERR_PROTOCOL'],
  ['GOAWAY on a stream', '08 000004 00000002', 'TUN_ERR_PROTOCOL'],
  ['DATA on stream 0', '02 000001 00000000', 'TUN_ERR_PROTOCOL'],
  ['OPEN on stream 0', '01 000000 00000000', 'TUN_ERR_PROTOCOL'],
  ['FIN with a body', '03 000001 00000001', 'TUN_ERR_PROTOCOL'],
  ['WINDOW of 3 bytes', '05 000003 00000001', 'TUN_ERR_PROTOCOL'],
  ['WINDOW increment 0', '05 000004 00000001 00000000', 'TUN_ERR_PROTOCOL'],
  ['RESET without a code', '04 000003 00000001', 'TUN_ERR_PROTOCOL'],
  [
    'RESET reason over 256 bytes',
    `04 ${(4 + MAX_REASON_BYTES + 1).toString(16).padStart(6, '0')} 00000001`,
    'TUN_ERR_FRAME_TOO_LARGE',
  ],
]

for (const [name, bytes, code] of BAD) {
  test(`malformed: ${name} -> ${code}, checked on the header alone, and the decoder stays failed`, () => {
    const d = new Decoder(limits)
    assert.throws(
      () => d.push(hex(bytes)),
      (err: unknown) => isTunnelError(err, code as never) && err.wireCode !== undefined,
    )
    assert.equal(d.state, 'failed')
    assert.throws(() => d.push(hex('03000000 00000001')), { code: 'TUN_ERR_PROTOCOL' })
  })
}

test('fast-check: random bytes in random chunks give frames or a coded error; the buffer stays bounded', () => {
  const d0 = new Decoder(limits)
  const bound = d0.maxBufferedBytes()
  assert.ok(bound <= 8 + Math.max(limits.maxDatagram, MAX_OPEN_HEADER))
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), (chunks) => {
      const d = new Decoder(limits)
      for (const c of chunks) {
        try {
          d.push(c)
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_PROTOCOL', 'TUN_ERR_FRAME_TOO_LARGE'), String(err))
          return
        }
        assert.ok(d.bufferedBytes <= bound)
      }
    }),
    { numRuns: 2000 },
  )
})

const arbId = fc.integer({ min: 1, max: 0xffffffff })
const arbBytes = (max: number) => fc.uint8Array({ maxLength: max })
const arbReason = fc.string({ maxLength: 40 })
const arbFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant('settings' as const),
    entries: fc.array(
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff })),
      { maxLength: 8 },
    ),
  }),
  fc.record({ type: fc.constant('open' as const), streamId: arbId, header: arbBytes(100) }),
  fc.record({ type: fc.constant('data' as const), streamId: arbId, data: arbBytes(3000) }),
  fc.record({ type: fc.constant('fin' as const), streamId: arbId }),
  fc.record({
    type: fc.constant('reset' as const),
    streamId: arbId,
    code: fc.integer({ min: 0, max: 0xffffffff }),
    reason: arbReason,
  }),
  fc.record({
    type: fc.constant('window' as const),
    streamId: arbId,
    increment: fc.integer({ min: 1, max: 0xffffffff }),
  }),
  fc.record({ type: fc.constant('ping' as const), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({ type: fc.constant('pong' as const), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({
    type: fc.constant('goaway' as const),
    code: fc.integer({ min: 0, max: 0xffffffff }),
    reason: arbReason,
  }),
  fc.record({
    type: fc.constant('datagram' as const),
    channel: fc.integer({ min: 0, max: 0xffffffff }),
    data: arbBytes(1200),
  }),
)

test('fast-check: random frame sequences round-trip through any chunking', () => {
  fc.assert(
    fc.property(
      fc.array(arbFrame, { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
      (frames, sizes) => {
        const wire = Buffer.concat(frames.map(encode))
        const chunks: Buffer[] = []
        for (let p = 0, i = 0; p < wire.length; i++) {
          const n = sizes[i % sizes.length] as number
          chunks.push(wire.subarray(p, p + n))
          p += n
        }
        // Reasons are UTF-8: lone surrogates do not survive, so compare against the encoded-then-decoded form.
        const expected = frames.map((f) =>
          'reason' in f ? { ...f, reason: Buffer.from(f.reason).toString() } : f,
        )
        assert.deepEqual(normalize(decodeChunks(chunks)), normalize(expected))
      },
    ),
    { numRuns: 500 },
  )
})

test('fast-check: valid frames with one corrupted byte never throw anything but a coded error', () => {
  fc.assert(
    fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 10 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      (frames, at, byte) => {
        const wire = Buffer.concat(frames.map(encode))
        wire[at % wire.length] = byte
        const d = new Decoder(limits)
        try {
          d.push(wire)
        } catch (err) {
          assert.ok(isTunnelError(err, 'TUN_ERR_PROTOCOL', 'TUN_ERR_FRAME_TOO_LARGE'), String(err))
        }
        assert.ok(d.bufferedBytes <= d.maxBufferedBytes())
      },
    ),
    { numRuns: 1000 },
  )
})
