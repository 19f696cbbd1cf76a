/**
 * The multiplexer's wire format, in one file (STYLE principle 1). docs/protocol.md, section
 * "Multiplexer", has the same layouts with the open / half-close / reset flows drawn out.
 *
 * Every frame is an 8-byte header and a body:
 *
 * ```
 *  0        1                    4                                  8
 * +--------+--------------------+----------------------------------+---------------
 * | type u8| length u24 BE      | stream id u32 BE                 | body (length bytes)
 * +--------+--------------------+----------------------------------+---------------
 * ```
 *
 * Why this shape: a fixed header is parsed without a varint loop; 24 bits of length is plenty for
 * a 64 KiB DATA frame and keeps the header at 8 bytes; the stream id is 32 bits so ids are never
 * reused on a long-lived link (2^31 streams per side). All integers are big-endian.
 *
 * Flow (each side, on a fresh link):
 * ```
 * SETTINGS ->                (first frame, exactly once; until it arrives, PROTOCOL_DEFAULTS)
 * OPEN(id, header) DATA* ->  (optimistic: data follows the OPEN at once, within the default window)
 *                 <- WINDOW  (receiver returns credit as its reader consumes)
 * FIN ->        <- FIN       (half-close each way; both sent = stream closed)
 * RESET <->                  (aborts both directions at once)
 * GOAWAY ->                  (no new streams; the link ends when the last stream does)
 * ```
 */

/** Bytes in every frame header. */
export const FRAME_HEADER_SIZE = 8

/** Frame types (the first header byte). Any other value is a link-level PROTOCOL error. */
export const FrameType = {
  /** stream 0; body: repeated `id u16 | value u32` (6 bytes each). First frame of each side, exactly once. */
  SETTINGS: 0x00,
  /** new stream id; body: the open header, opaque to the mux (≤ MAX_OPEN_HEADER). */
  OPEN: 0x01,
  /** stream id; body: stream bytes (≤ the receiver's MAX_FRAME and ≤ the sender's credit). */
  DATA: 0x02,
  /** stream id; empty body: the sender sends no more DATA on this stream (half-close). */
  FIN: 0x03,
  /** stream id; body: `code u32 | reason UTF-8 (≤ MAX_REASON_BYTES)`. Closes the stream both ways. */
  RESET: 0x04,
  /** stream id; body: `increment u32` (> 0): the receiver of this frame may send that many more DATA bytes. */
  WINDOW: 0x05,
  /** stream 0; body: 8 opaque bytes, echoed by the PONG. */
  PING: 0x06,
  /** stream 0; body: the 8 bytes of the PING it answers. */
  PONG: 0x07,
  /** stream 0; body: `code u32 | reason UTF-8 (≤ MAX_REASON_BYTES)`. No new streams; existing ones finish. */
  GOAWAY: 0x08,
  /** channel (an app-chosen u32, not a stream); body: one unreliable datagram (≤ the receiver's MAX_DATAGRAM). */
  DATAGRAM: 0x09,
} as const
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType]

/** SETTINGS ids. Unknown ids are ignored, so new settings can be added without a version bump. */
export const SettingId = {
  /** Bytes the sender grants each new stream, those it opens and those it accepts. ≥ the protocol default. */
  INITIAL_WINDOW: 1,
  /** Concurrent streams opened by the peer that the sender accepts; more are refused (RESET REFUSED). */
  MAX_STREAMS: 2,
  /** Largest DATA body the sender accepts. ≥ the protocol default, ≤ MAX_FRAME_LIMIT. */
  MAX_FRAME: 3,
  /** Largest DATAGRAM body the sender accepts. ≥ the protocol default, ≤ MAX_FRAME_LIMIT. */
  MAX_DATAGRAM: 4,
} as const

/** RESET codes. Codes ≥ APP_CODE_BASE belong to the layers above and pass through unchanged. */
export const ResetCode = {
  CANCEL: 0,
  PROTOCOL: 1,
  REFUSED: 2,
  INTERNAL: 3,
  FLOW_CONTROL: 4,
  LINK_CLOSED: 5,
} as const

/** GOAWAY codes. Codes ≥ APP_CODE_BASE belong to the layers above. */
export const GoawayCode = {
  NORMAL: 0,
  PROTOCOL: 1,
  FLOW_CONTROL: 2,
  FRAME_TOO_LARGE: 3,
  PEER_TIMEOUT: 4,
  INTERNAL: 5,
} as const

/** First RESET/GOAWAY code owned by the layers above the mux. */
export const APP_CODE_BASE = 0x100

const KiB = 1024
const MiB = 1024 * KiB

/**
 * What a peer may assume before the other side's SETTINGS arrives. INITIAL_WINDOW, MAX_FRAME and
 * MAX_DATAGRAM are also floors: SETTINGS may raise them, never lower them. Why floors: a stream is
 * opened optimistically and may carry data before the opener has seen the peer's SETTINGS; a
 * lowered value could not be honoured by bytes already in flight, and there is no SETTINGS ack.
 * They are small (HTTP/2's window and frame size, QUIC's minimum datagram) so every node can
 * afford them; the defaults burrow advertises are larger (DEFAULT_* below).
 */
export const PROTOCOL_DEFAULTS = {
  initialWindow: 64 * KiB,
  maxStreams: 1024,
  maxFrame: 16 * KiB,
  maxDatagram: 1200,
} as const

/**
 * Largest DATA body burrow accepts by default: one socket read, and one AEAD record of the secure
 * channel (records carry up to 64 KiB, DESIGN decision 2), so a frame rarely spans two records.
 */
export const DEFAULT_MAX_FRAME = 64 * KiB
/** Stream window granted at open. 1 MiB fills ~20 ms RTT at 50 MB/s before auto-tuning kicks in. */
export const DEFAULT_INITIAL_WINDOW = 1 * MiB
/** Auto-tuning ceiling: 16 MiB per stream fills a 50 ms RTT path at 320 MB/s. Also what a stalled stream can hold at worst. */
export const DEFAULT_MAX_WINDOW = 16 * MiB
/** Concurrent peer-opened streams accepted per link. */
export const DEFAULT_MAX_STREAMS = 1024
/**
 * Largest datagram accepted: a full UDP payload (65,507 bytes on IPv4) minus room for the tunnel
 * layer's own datagram header, and small enough that header + frame fit one secure-channel record.
 */
export const DEFAULT_MAX_DATAGRAM = 65_000
/** Largest OPEN body (the stream's open header). A protocol constant: there is no setting for it. */
export const MAX_OPEN_HEADER = 8 * KiB
/** Largest RESET/GOAWAY reason in UTF-8 bytes; longer reasons are cut at a character boundary. */
export const MAX_REASON_BYTES = 256
/** Most SETTINGS entries in one frame (bounds the frame at 6 × 32 bytes). */
export const MAX_SETTINGS_ENTRIES = 32
/** The u24 length field's ceiling: no frame body can be larger, whatever SETTINGS says. */
export const MAX_FRAME_LIMIT = 0xff_ffff
/** Largest send credit a stream may hold; a WINDOW beyond it is a FLOW_CONTROL error (as in HTTP/2). */
export const MAX_CREDIT = 0x7fff_ffff
/** Largest stream id; an opener that runs out behaves as if it had received GOAWAY. */
export const MAX_STREAM_ID = 0xffff_ffff
/** PING/PONG body size. */
export const PING_SIZE = 8

/** One SETTINGS frame's values, as advertised (all four always sent by burrow). */
export interface Settings {
  initialWindow: number
  maxStreams: number
  maxFrame: number
  maxDatagram: number
}

/** Builds a frame header. `length` is the body length; bodies are written separately, never copied. */
export function encodeHeader(type: FrameTypeValue, length: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_SIZE)
  h.writeUInt32BE(((type << 24) | length) >>> 0, 0)
  h.writeUInt32BE(streamId, 4)
  return h
}

/** DATA header for `length` body bytes; the body (subarrays of the caller's chunks) follows. */
export function encodeDataHeader(streamId: number, length: number): Buffer {
  return encodeHeader(FrameType.DATA, length, streamId)
}

/** OPEN header; the open header bytes follow as the body. */
export function encodeOpenHeader(streamId: number, headerLength: number): Buffer {
  return encodeHeader(FrameType.OPEN, headerLength, streamId)
}

/** DATAGRAM header; the payload follows as the body. */
export function encodeDatagramHeader(channel: number, length: number): Buffer {
  return encodeHeader(FrameType.DATAGRAM, length, channel)
}

// Control frames are tiny: each encoder below returns the whole frame (header + body) in one
// buffer, so it costs one write.

/** A complete SETTINGS frame carrying all four settings. */
export function encodeSettings(s: Settings): Buffer {
  const entries: Array<[number, number]> = [
    [SettingId.INITIAL_WINDOW, s.initialWindow],
    [SettingId.MAX_STREAMS, s.maxStreams],
    [SettingId.MAX_FRAME, s.maxFrame],
    [SettingId.MAX_DATAGRAM, s.maxDatagram],
  ]
  return encodeSettingsEntries(entries)
}

/** A complete SETTINGS frame with arbitrary entries (tests use it for unknown ids). */
export function encodeSettingsEntries(entries: ReadonlyArray<readonly [number, number]>): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEADER_SIZE + 6 * entries.length)
  writeHeader(f, FrameType.SETTINGS, 6 * entries.length, 0)
  let p = FRAME_HEADER_SIZE
  for (const [id, value] of entries) {
    f.writeUInt16BE(id, p)
    f.writeUInt32BE(value, p + 2)
    p += 6
  }
  return f
}

/** A complete FIN frame. */
export function encodeFin(streamId: number): Buffer {
  return encodeHeader(FrameType.FIN, 0, streamId)
}

/** A complete WINDOW frame. `increment` must be 1..2^32-1. */
export function encodeWindow(streamId: number, increment: number): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEADER_SIZE + 4)
  writeHeader(f, FrameType.WINDOW, 4, streamId)
  f.writeUInt32BE(increment, FRAME_HEADER_SIZE)
  return f
}

/** A complete RESET frame; the reason is cut to MAX_REASON_BYTES. */
export function encodeReset(streamId: number, code: number, reason = ''): Buffer {
  return encodeCodeReason(FrameType.RESET, streamId, code, reason)
}

/** A complete GOAWAY frame; the reason is cut to MAX_REASON_BYTES. */
export function encodeGoaway(code: number, reason = ''): Buffer {
  return encodeCodeReason(FrameType.GOAWAY, 0, code, reason)
}

/** A complete PING (or PONG, with `type`) frame; `data` must be PING_SIZE bytes. */
export function encodePing(data: Uint8Array, type: FrameTypeValue = FrameType.PING): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEADER_SIZE + PING_SIZE)
  writeHeader(f, type, PING_SIZE, 0)
  f.set(data.subarray(0, PING_SIZE), FRAME_HEADER_SIZE)
  return f
}

/** A complete PONG frame answering a PING with `data`. */
export function encodePong(data: Uint8Array): Buffer {
  return encodePing(data, FrameType.PONG)
}

/** UTF-8 bytes of `reason`, cut to at most `max` bytes without splitting a character. */
export function reasonBytes(reason: string, max = MAX_REASON_BYTES): Buffer {
  const b = Buffer.from(reason, 'utf8')
  if (b.length <= max) return b
  let end = max
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--
  return b.subarray(0, end)
}

function encodeCodeReason(type: FrameTypeValue, streamId: number, code: number, reason: string): Buffer {
  const r = reasonBytes(reason)
  const f = Buffer.allocUnsafe(FRAME_HEADER_SIZE + 4 + r.length)
  writeHeader(f, type, 4 + r.length, streamId)
  f.writeUInt32BE(code, FRAME_HEADER_SIZE)
  r.copy(f, FRAME_HEADER_SIZE + 4)
  return f
}

function writeHeader(f: Buffer, type: FrameTypeValue, length: number, streamId: number): void {
  f.writeUInt32BE(((type << 24) | length) >>> 0, 0)
  f.writeUInt32BE(streamId, 4)
}
