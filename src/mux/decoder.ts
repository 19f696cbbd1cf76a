/**
 * Streaming, sans-IO decoder for mux frames (STYLE principle 2): bytes in, frames out, no sockets,
 * no timers. The session feeds it every chunk read from the link.
 *
 * DATA bodies are never copied or reassembled: each arriving piece of a DATA body is emitted at
 * once as a `data` frame whose `data` is a subarray of the input chunk, so one DATA frame split
 * across three chunks yields three `data` frames for the same stream. Flow control counts bytes,
 * not frames, so the layers above never need the frame boundaries.
 *
 * Every other frame is small and bounded (an open header, a datagram, a reason string), and is
 * emitted whole: as a subarray when it sits in one chunk, else reassembled into a buffer of exactly
 * its declared length, checked against the limits before a byte is buffered. So the decoder holds
 * at most FRAME_HEADER_SIZE + maxBody(limits) bytes, whatever it is fed (`bufferedBytes`).
 *
 * Malformed input throws a coded TunnelError (TUN_ERR_PROTOCOL or TUN_ERR_FRAME_TOO_LARGE, with the
 * GOAWAY code to send as `wireCode`), after which the decoder stays failed.
 *
 * Decoder states:
 * ```
 *           8 header bytes                body done
 * header ------------------> data-body -------------> header
 *    |                       (DATA: pieces out as they come)
 *    +---------------------> body ------------------> header
 *    |                       (others: reassembled)
 *    +-- bad input --> failed (terminal)
 * ```
 */
import { TunnelError } from '../errors.ts'
import {
  FRAME_HEADER_SIZE,
  FrameType,
  GoawayCode,
  MAX_REASON_BYTES,
  MAX_SETTINGS_ENTRIES,
  PING_SIZE,
} from './wire.ts'

/** A decoded frame. `data` frames are DATA body fragments (see the file comment). */
export type Frame =
  | { type: 'settings'; entries: Array<[id: number, value: number]> }
  | { type: 'open'; streamId: number; header: Uint8Array }
  | { type: 'data'; streamId: number; data: Uint8Array }
  | { type: 'fin'; streamId: number }
  | { type: 'reset'; streamId: number; code: number; reason: string }
  | { type: 'window'; streamId: number; increment: number }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | { type: 'goaway'; code: number; reason: string }
  | { type: 'datagram'; channel: number; data: Uint8Array }

/** Receives frames from `Decoder.feed`; an object (not a closure) so the hot path allocates nothing extra. */
export interface FrameSink {
  onFrame(frame: Frame): void
}

/** What this side accepts: the values it advertised in its SETTINGS (plus the fixed open-header bound). */
export interface DecoderLimits {
  maxFrame: number
  maxDatagram: number
  maxOpenHeader: number
}

export type DecoderState = 'header' | 'data-body' | 'body' | 'failed'

const EMPTY = new Uint8Array(0)

/** Per frame type (indexed by type): its name, its stream-id rule, and its body size bounds. */
interface Rule {
  name: string
  /** link: id must be 0; stream: id must not be 0; channel: any u32. */
  id: 'link' | 'stream' | 'channel'
  min: number
  max: (limits: DecoderLimits) => number
}
const REASON_MAX = (): number => 4 + MAX_REASON_BYTES
const RULES: Rule[] = [
  { name: 'SETTINGS', id: 'link', min: 0, max: () => 6 * MAX_SETTINGS_ENTRIES },
  { name: 'OPEN', id: 'stream', min: 0, max: (l) => l.maxOpenHeader },
  { name: 'DATA', id: 'stream', min: 0, max: (l) => l.maxFrame },
  { name: 'FIN', id: 'stream', min: 0, max: () => 0 },
  { name: 'RESET', id: 'stream', min: 4, max: REASON_MAX },
  { name: 'WINDOW', id: 'stream', min: 4, max: () => 4 },
  { name: 'PING', id: 'link', min: PING_SIZE, max: () => PING_SIZE },
  { name: 'PONG', id: 'link', min: PING_SIZE, max: () => PING_SIZE },
  { name: 'GOAWAY', id: 'link', min: 4, max: REASON_MAX },
  { name: 'DATAGRAM', id: 'channel', min: 0, max: (l) => l.maxDatagram },
]

export class Decoder {
  state: DecoderState = 'header'
  private readonly limits: DecoderLimits
  private readonly max: number[] // RULES[type].max for these limits
  private readonly head = Buffer.alloc(FRAME_HEADER_SIZE) // a header split across chunks
  private headFill = 0
  private type = 0
  private streamId = 0
  private remaining = 0 // body bytes still expected
  private body: Buffer | null = null // reassembly buffer for a split non-DATA body
  private bodyFill = 0

  constructor(limits: DecoderLimits) {
    this.limits = limits
    this.max = RULES.map((r) => r.max(limits))
  }

  /** Bytes held between calls: a partial header plus a partial non-DATA body. Never above maxBufferedBytes(). */
  get bufferedBytes(): number {
    return this.headFill + (this.body === null ? 0 : this.body.length)
  }

  /** The bound on bufferedBytes for these limits. */
  maxBufferedBytes(): number {
    return FRAME_HEADER_SIZE + maxControlBody(this.limits)
  }

  /** Decodes `chunk` and returns the frames it completes (and DATA pieces it carries). Throws a coded TunnelError on bad input. */
  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = []
    this.feed(chunk, { onFrame: (f) => out.push(f) })
    return out
  }

  /** Like push(), but hands each frame to `sink` as soon as it is decoded (what the session uses). */
  feed(chunk: Uint8Array, sink: FrameSink): void {
    if (this.state === 'failed') throw protocolError('the decoder already failed')
    const len = chunk.length
    let p = 0
    while (p < len) {
      switch (this.state) {
        case 'header': {
          let h: Uint8Array = chunk
          let at = p
          if (this.headFill === 0 && len - p >= FRAME_HEADER_SIZE) {
            p += FRAME_HEADER_SIZE // fast path: the whole header is in this chunk
          } else {
            const n = Math.min(FRAME_HEADER_SIZE - this.headFill, len - p)
            this.head.set(chunk.subarray(p, p + n), this.headFill)
            this.headFill += n
            p += n
            if (this.headFill < FRAME_HEADER_SIZE) return
            this.headFill = 0
            h = this.head
            at = 0
          }
          const type = h[at] as number
          const length = ((h[at + 1] as number) << 16) | ((h[at + 2] as number) << 8) | (h[at + 3] as number)
          const id =
            (((h[at + 4] as number) << 24) |
              ((h[at + 5] as number) << 16) |
              ((h[at + 6] as number) << 8) |
              (h[at + 7] as number)) >>>
            0
          this.begin(type, length, id)
          if (type === FrameType.DATA) {
            if (length === 0) sink.onFrame({ type: 'data', streamId: id, data: EMPTY })
            else this.state = 'data-body'
          } else if (length === 0) {
            sink.onFrame(this.parse(EMPTY))
          } else if (len - p >= length) {
            sink.onFrame(this.parse(chunk.subarray(p, p + length))) // whole body here: no copy
            p += length
          } else {
            this.body = Buffer.allocUnsafe(length) // bounded: begin() checked length
            this.bodyFill = 0
            this.state = 'body'
          }
          break
        }
        case 'data-body': {
          const n = Math.min(this.remaining, len - p)
          this.remaining -= n
          if (this.remaining === 0) this.state = 'header'
          sink.onFrame({ type: 'data', streamId: this.streamId, data: chunk.subarray(p, p + n) })
          p += n
          break
        }
        case 'body': {
          const body = this.body as Buffer
          const n = Math.min(body.length - this.bodyFill, len - p)
          body.set(chunk.subarray(p, p + n), this.bodyFill)
          this.bodyFill += n
          p += n
          if (this.bodyFill === body.length) {
            this.body = null
            this.state = 'header'
            sink.onFrame(this.parse(body))
          }
          break
        }
        default: {
          const never: never = this.state
          throw new Error(`unreachable decoder state ${String(never)}`)
        }
      }
    }
  }

  /** Checks a header before any of its body is accepted: type, stream id rule and size limit. */
  private begin(type: number, length: number, id: number): void {
    this.type = type
    this.streamId = id
    this.remaining = length
    const rule = RULES[type]
    if (rule === undefined) return this.fail(protocolError(`unknown frame type 0x${type.toString(16)}`))
    if (rule.id === 'link' ? id !== 0 : rule.id === 'stream' && id === 0) {
      this.fail(
        protocolError(`${rule.name} on stream ${id}: ${rule.id === 'link' ? 'must be 0' : 'needs a stream'}`),
      )
    }
    const max = this.max[type] as number
    if (length < rule.min || (length > max && rule.min === max)) {
      this.fail(protocolError(`${rule.name} body of ${length} bytes (must be ${rule.min}..${max})`))
    }
    if (length > max) {
      this.fail(
        new TunnelError('TUN_ERR_FRAME_TOO_LARGE', `${rule.name} body of ${length} bytes is over ${max}`, {
          wireCode: GoawayCode.FRAME_TOO_LARGE,
        }),
      )
    }
    if (type === FrameType.SETTINGS && length % 6 !== 0)
      this.fail(protocolError(`SETTINGS of ${length} bytes`))
  }

  /** Turns a complete non-DATA body into a frame. Sizes were checked by begin(). */
  private parse(b: Uint8Array): Frame {
    const id = this.streamId
    switch (this.type) {
      case FrameType.SETTINGS: {
        const entries: Array<[number, number]> = []
        for (let p = 0; p < b.length; p += 6) entries.push([readU16(b, p), readU32(b, p + 2)])
        return { type: 'settings', entries }
      }
      case FrameType.OPEN:
        return { type: 'open', streamId: id, header: b }
      case FrameType.FIN:
        return { type: 'fin', streamId: id }
      case FrameType.RESET:
        return { type: 'reset', streamId: id, code: readU32(b, 0), reason: utf8(b.subarray(4)) }
      case FrameType.WINDOW: {
        const increment = readU32(b, 0)
        if (increment === 0) this.fail(protocolError(`WINDOW increment 0 on stream ${id}`))
        return { type: 'window', streamId: id, increment }
      }
      case FrameType.PING:
        return { type: 'ping', data: b }
      case FrameType.PONG:
        return { type: 'pong', data: b }
      case FrameType.GOAWAY:
        return { type: 'goaway', code: readU32(b, 0), reason: utf8(b.subarray(4)) }
      case FrameType.DATAGRAM:
        return { type: 'datagram', channel: id, data: b }
      default:
        return this.fail(protocolError(`unknown frame type ${this.type}`)) // begin() already refused it
    }
  }

  private fail(err: TunnelError): never {
    this.state = 'failed'
    this.body = null
    throw err
  }
}

/** The largest non-DATA body these limits allow: the decoder's reassembly bound. */
export function maxControlBody(limits: DecoderLimits): number {
  return Math.max(...RULES.filter((r) => r.name !== 'DATA').map((r) => r.max(limits)))
}

function readU16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number)
}

function readU32(b: Uint8Array, p: number): number {
  return (
    (((b[p] as number) << 24) |
      ((b[p + 1] as number) << 16) |
      ((b[p + 2] as number) << 8) |
      (b[p + 3] as number)) >>>
    0
  )
}

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8')
}

function protocolError(message: string): TunnelError {
  return new TunnelError('TUN_ERR_PROTOCOL', message, { wireCode: GoawayCode.PROTOCOL })
}
