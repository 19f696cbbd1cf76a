/**
 * Session options: the named defaults for everything wire.ts does not fix, and their validation.
 * Every option has a finite default (STYLE principle 5); out-of-range values are refused with
 * TUN_ERR_INVALID_ARGUMENT rather than clamped, so a typo does not become a silent limit.
 */
import { TunnelError } from '../errors.ts'
import { DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_KEEPALIVE_TIMEOUT_MS, systemClock } from './keepalive.ts'
import type { MuxClock, MuxOptions } from './types.ts'
import {
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_MAX_DATAGRAM,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_WINDOW,
  MAX_CREDIT,
  MAX_FRAME_LIMIT,
  PROTOCOL_DEFAULTS,
} from './wire.ts'

/**
 * Datagrams are dropped (`congested`) while the link's unsent backlog is over this: 256 KiB is
 * ~20 ms at 100 Mbit/s, the most queueing delay worth adding to real-time traffic, and the most
 * that datagrams can put ahead of stream data.
 */
export const DEFAULT_DATAGRAM_BUDGET = 256 * 1024
/** Per-stream writable high-water mark: one DATA frame's worth buffered before write() says false. */
export const DEFAULT_STREAM_HIGH_WATER_MARK = 64 * 1024
/** How long a closed session waits for the peer to end the conn before destroying it (ms). */
export const DEFAULT_CLOSE_LINGER_MS = 2_000
/**
 * Control-frame backlog: bytes of conn backlog allowed beyond what data (one frame past the conn's
 * high-water mark) and datagrams (their budget) can legitimately queue. Past it the peer has
 * stopped reading while still making us answer (PINGs, refused OPENs): the link is failed
 * instead of queueing PONGs and RESETs without bound.
 */
export const MAX_CONTROL_BACKLOG = 1024 * 1024

const U32_MAX = 0xffff_ffff
const TIME_MAX = 0x7fff_ffff // setTimeout's ceiling

export interface ResolvedOptions {
  initiator: boolean
  initialWindow: number
  maxWindow: number
  maxStreams: number
  maxFrame: number
  maxDatagram: number
  datagramBudget: number
  streamHighWaterMark: number
  keepaliveInterval: number
  keepaliveTimeout: number
  closeLinger: number
  clock: MuxClock
}

export function resolveOptions(o: MuxOptions): ResolvedOptions {
  if (typeof o?.initiator !== 'boolean') throw invalid('initiator must be true or false')
  const initialWindow = int(
    'initialWindow',
    o.initialWindow,
    DEFAULT_INITIAL_WINDOW,
    PROTOCOL_DEFAULTS.initialWindow,
    MAX_CREDIT,
  )
  const keepaliveInterval = int(
    'keepaliveInterval',
    o.keepaliveInterval,
    DEFAULT_KEEPALIVE_INTERVAL_MS,
    0,
    TIME_MAX,
  )
  const keepaliveTimeout = int(
    'keepaliveTimeout',
    o.keepaliveTimeout,
    DEFAULT_KEEPALIVE_TIMEOUT_MS,
    1,
    TIME_MAX,
  )
  if (keepaliveInterval > 0 && keepaliveTimeout <= keepaliveInterval) {
    throw invalid(
      `keepaliveTimeout (${keepaliveTimeout}) must be longer than keepaliveInterval (${keepaliveInterval})`,
    )
  }
  return {
    initiator: o.initiator,
    initialWindow,
    maxWindow: int(
      'maxWindow',
      o.maxWindow,
      Math.max(DEFAULT_MAX_WINDOW, initialWindow),
      initialWindow,
      MAX_CREDIT,
    ),
    maxStreams: int('maxStreams', o.maxStreams, DEFAULT_MAX_STREAMS, 0, U32_MAX),
    maxFrame: int('maxFrame', o.maxFrame, DEFAULT_MAX_FRAME, PROTOCOL_DEFAULTS.maxFrame, MAX_FRAME_LIMIT),
    maxDatagram: int(
      'maxDatagram',
      o.maxDatagram,
      DEFAULT_MAX_DATAGRAM,
      PROTOCOL_DEFAULTS.maxDatagram,
      MAX_FRAME_LIMIT,
    ),
    datagramBudget: int('datagramBudget', o.datagramBudget, DEFAULT_DATAGRAM_BUDGET, 0, MAX_CREDIT),
    streamHighWaterMark: int(
      'streamHighWaterMark',
      o.streamHighWaterMark,
      DEFAULT_STREAM_HIGH_WATER_MARK,
      1,
      MAX_CREDIT,
    ),
    keepaliveInterval,
    keepaliveTimeout,
    closeLinger: int('closeLinger', o.closeLinger, DEFAULT_CLOSE_LINGER_MS, 0, TIME_MAX),
    clock: o.clock ?? systemClock,
  }
}

function int(name: string, value: number | undefined, def: number, min: number, max: number): number {
  if (value === undefined) return def
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`)
  }
  return value
}

function invalid(message: string): TunnelError {
  return new TunnelError('TUN_ERR_INVALID_ARGUMENT', message)
}
