/**
 * Protocol violations, hand-crafted by a raw peer (frames written byte by byte, no session) against
 * a real session: each closes the link with GOAWAY carrying the right code and the session's
 * 'close' carries the matching TunnelError. Also what is not a link error: frames for a stream
 * that closed recently are ignored, and a DATA after FIN only resets that stream.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import { describe, test } from 'node:test'
import { isTunnelError } from '../../../src/errors.ts'
import { Decoder, type Frame } from '../../../src/mux/decoder.ts'
import { MuxSession } from '../../../src/mux/session.ts'
import type { MuxOptions } from '../../../src/mux/types.ts'
import {
  PROTOCOL_DEFAULTS,
  encodeDataHeader,
  encodeFin,
  encodeHeader,
  encodeOpenHeader,
  encodePing,
  encodeReset,
  encodeSettings,
  encodeSettingsEntries,
  encodeWindow,
} from '../../../src/mux/wire.ts'
import { memoryPair, tcpPair } from '../../helpers/pair.ts'
import { KINDS, type Kind } from './sessions.ts'

const SETTINGS = encodeSettings({
  initialWindow: 1 << 20,
  maxStreams: 16,
  maxFrame: 1 << 20,
  maxDatagram: 65000,
})
const data = (id: number, n: number): Buffer =>
  Buffer.concat([encodeDataHeader(id, n), Buffer.alloc(n, 0x61)])
const open = (id: number): Buffer => encodeOpenHeader(id, 0)

/** A session (the acceptor, even ids) facing a raw peer that writes hand-made bytes and decodes what comes back. */
async function rawPeer(kind: Kind, opts: Partial<MuxOptions> = {}) {
  let raw: Duplex
  let conn: Duplex
  let cleanup = async (): Promise<void> => {}
  if (kind === 'tcp') {
    const p = await tcpPair()
    raw = p.a
    conn = p.b
    cleanup = p.close
  } else [raw, conn] = memoryPair()
  const session = new MuxSession(conn, { keepaliveInterval: 0, ...opts, initiator: false })
  session.on('stream', (s) => s.on('error', () => {})) // accepted, never read
  const frames: Frame[] = []
  const decoder = new Decoder({ maxFrame: 1 << 24, maxDatagram: 1 << 24, maxOpenHeader: 1 << 24 })
  raw.on('data', (c: Buffer) => frames.push(...decoder.push(c)))
  raw.on('error', () => {})
  // The session ends its side once it closes (or the conn is gone): then every frame it wrote has arrived.
  const rawEnded = new Promise((resolve) => raw.once('end', resolve).once('close', resolve))
  const closed = once(session, 'close') as Promise<[Error | undefined]>
  return {
    session,
    frames,
    send: (...bufs: Buffer[]) => raw.write(Buffer.concat(bufs)),
    /** Waits for the session to close; returns its error and the GOAWAY code it sent. */
    async closedWith(): Promise<{ err: Error | undefined; goaway: number | undefined }> {
      const [err] = await closed
      await rawEnded // every frame the session wrote has arrived
      const g = frames.find((f) => f.type === 'goaway')
      await cleanup()
      raw.destroy()
      return { err, goaway: g?.type === 'goaway' ? g.code : undefined }
    },
    async alive(): Promise<void> {
      raw.write(encodePing(Buffer.from('stillup!')))
      for (let i = 0; i < 100 && !frames.some((f) => f.type === 'pong'); i++)
        await new Promise((r) => setTimeout(r, 5))
      assert.ok(
        frames.some((f) => f.type === 'pong'),
        'the link still answers',
      )
      assert.equal(session.state, 'open')
      session.close()
      await cleanup()
    },
  }
}

const CASES: Array<[string, Partial<MuxOptions>, () => Buffer[], string, number]> = [
  ['a first frame that is not SETTINGS', {}, () => [encodePing(Buffer.alloc(8))], 'TUN_ERR_PROTOCOL', 1],
  ['a second SETTINGS', {}, () => [SETTINGS, SETTINGS], 'TUN_ERR_PROTOCOL', 1],
  ['OPEN with the wrong parity', {}, () => [SETTINGS, open(2)], 'TUN_ERR_PROTOCOL', 1],
  ['OPEN with a non-increasing id', {}, () => [SETTINGS, open(3), open(1)], 'TUN_ERR_PROTOCOL', 1],
  ['DATA on a stream that never existed', {}, () => [SETTINGS, data(5, 10)], 'TUN_ERR_PROTOCOL', 1],
  ['FIN on a stream that never existed', {}, () => [SETTINGS, open(1), encodeFin(3)], 'TUN_ERR_PROTOCOL', 1],
  ['an unknown frame type', {}, () => [SETTINGS, encodeHeader(0x0a as never, 0, 0)], 'TUN_ERR_PROTOCOL', 1],
  [
    'SETTINGS INITIAL_WINDOW below the protocol default',
    {},
    () => [encodeSettingsEntries([[1, PROTOCOL_DEFAULTS.initialWindow - 1]])],
    'TUN_ERR_PROTOCOL',
    1,
  ],
  [
    'DATA over the window',
    { initialWindow: 65536, maxWindow: 65536 },
    () => [SETTINGS, open(1), data(1, 65536), data(1, 1)],
    'TUN_ERR_FLOW_CONTROL',
    2,
  ],
  [
    'WINDOW credit past 2^31-1',
    {},
    () => [SETTINGS, open(1), encodeWindow(1, 0xffffffff)],
    'TUN_ERR_FLOW_CONTROL',
    2,
  ],
  [
    'DATA over MAX_FRAME',
    { maxFrame: 16384 },
    () => [SETTINGS, open(1), data(1, 16385)],
    'TUN_ERR_FRAME_TOO_LARGE',
    3,
  ],
]

for (const kind of KINDS) {
  describe(`protocol violations over ${kind}`, { timeout: 20_000 }, () => {
    for (const [name, opts, bytes, code, goaway] of CASES) {
      test(`${name}: GOAWAY ${goaway}, close with ${code}`, async () => {
        const peer = await rawPeer(kind, opts)
        peer.send(...bytes())
        const { err, goaway: sent } = await peer.closedWith()
        assert.ok(isTunnelError(err, code as never), String(err))
        assert.equal(sent, goaway)
      })
    }

    test('frames for a stream that was reset are ignored; the link stays up', async () => {
      const peer = await rawPeer(kind)
      peer.send(
        SETTINGS,
        open(1),
        data(1, 5),
        encodeReset(1, 0),
        data(1, 7),
        encodeFin(1),
        encodeWindow(1, 9),
      )
      await peer.alive()
    })

    test('DATA after FIN resets that stream with PROTOCOL; the link stays up', async () => {
      const peer = await rawPeer(kind)
      peer.send(SETTINGS, open(1), encodeFin(1), data(1, 3))
      await peer.alive()
      const reset = peer.frames.find((f) => f.type === 'reset')
      assert.deepEqual(reset && reset.type === 'reset' ? [reset.streamId, reset.code] : undefined, [1, 1])
    })
  })
}

test(
  'a peer that sends PINGs but never reads is cut off at the control backlog bound',
  { timeout: 20_000 },
  async () => {
    const [raw, conn] = memoryPair()
    const session = new MuxSession(conn, { keepaliveInterval: 0, initiator: false })
    const closed = once(session, 'close') as Promise<[Error | undefined]>
    raw.write(SETTINGS)
    const ping = encodePing(Buffer.alloc(8))
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => ping))
    for (let i = 0; i < 200 && session.state === 'open'; i++) {
      raw.write(burst)
      await new Promise((r) => setImmediate(r))
    }
    const [err] = await closed
    assert.ok(isTunnelError(err, 'TUN_ERR_PROTOCOL'), String(err))
    assert.match(err.message, /not reading/)
    // Bounded by the named limit: what data and datagrams may queue plus MAX_CONTROL_BACKLOG (+ the GOAWAY).
    const limit = session.writer.controlLimit
    assert.ok(limit < 3 * 1024 * 1024)
    assert.ok(conn.writableLength <= limit + 16 + 12 + 256, `backlog ${conn.writableLength} over ${limit}`)
    raw.destroy()
  },
)
