/**
 * The session's input side: decodes the conn's bytes and applies each frame's link-level rules
 * (SETTINGS first and once, stream ids that exist, windows respected) before handing it on. What a
 * frame does to a stream is the stream's business (stream.ts); what it does to the session goes
 * through `InboundHost`, so this file holds the rules and session.ts the state.
 *
 * A frame for a stream not in the table is ignored if the stream existed (it closed recently:
 * DATA still in flight after a RESET) and is a protocol error if it never did (table.ts).
 */
import { isTunnelError, type TunnelError } from '../errors.ts'
import { flowControlError, protocolError } from './codes.ts'
import { Decoder, type DecoderLimits, type Frame, type FrameSink } from './decoder.ts'
import { applyPeerSettings } from './settings.ts'
import type { MuxStream } from './stream.ts'
import type { StreamTable } from './table.ts'
import { type Settings, encodePong } from './wire.ts'

export interface InboundHost {
  readonly table: StreamTable
  readonly peer: Settings
  /** The session is closed: frames are dropped. */
  closed(): boolean
  /** A valid OPEN from the peer: accept it, or refuse it (RESET REFUSED). */
  open(id: number, header: Uint8Array): void
  settings(next: Settings): void
  goaway(code: number, reason: string): void
  datagram(channel: number, data: Uint8Array): void
  pong(data: Uint8Array): void
  sendControl(frame: Buffer): void
  /** A link-level error: GOAWAY with its code, then close. */
  fail(err: TunnelError): void
}

export class Inbound implements FrameSink {
  private readonly decoder: Decoder
  private readonly host: InboundHost
  private settingsReceived = false

  constructor(limits: DecoderLimits, host: InboundHost) {
    this.decoder = new Decoder(limits)
    this.host = host
  }

  /** Decodes one chunk from the conn and applies its frames. */
  push(chunk: Buffer): void {
    try {
      this.decoder.feed(chunk, this)
    } catch (err) {
      if (this.decoder.state === 'failed' && isTunnelError(err)) this.host.fail(err)
      else throw err // an exception from a listener: not ours to swallow
    }
  }

  onFrame(f: Frame): void {
    const host = this.host
    if (host.closed()) return
    if (this.settingsReceived === (f.type === 'settings')) {
      return host.fail(
        protocolError(f.type === 'settings' ? 'a second SETTINGS' : `${f.type} before SETTINGS`),
      )
    }
    switch (f.type) {
      case 'data': {
        const s = this.stream(f.streamId, 'DATA')
        if (s !== undefined && !s.onData(f.data)) {
          host.fail(flowControlError(`stream ${f.streamId}: DATA over the granted window`))
        }
        return
      }
      case 'open': {
        const bad = host.table.admitRemote(f.streamId)
        return bad === undefined ? host.open(f.streamId, f.header) : host.fail(protocolError(bad))
      }
      case 'fin':
        return this.stream(f.streamId, 'FIN')?.onFin()
      case 'reset':
        return this.stream(f.streamId, 'RESET')?.onReset(f.code, f.reason)
      case 'window': {
        const s = this.stream(f.streamId, 'WINDOW')
        if (s !== undefined && !s.onWindow(f.increment)) {
          host.fail(flowControlError(`stream ${f.streamId}: credit over 2^31-1`))
        }
        return
      }
      case 'settings': {
        this.settingsReceived = true
        let next: Settings
        try {
          next = applyPeerSettings(host.peer, f.entries)
        } catch (err) {
          return host.fail(err as TunnelError)
        }
        return host.settings(next)
      }
      case 'ping':
        return host.sendControl(encodePong(f.data))
      case 'pong':
        return host.pong(f.data)
      case 'goaway':
        return host.goaway(f.code, f.reason)
      case 'datagram':
        return host.datagram(f.channel, f.data)
      default: {
        const never: never = f
        throw new Error(`unreachable frame ${String(never)}`)
      }
    }
  }

  /** The stream a frame is for; undefined when it is gone (ignored) or never existed (link error). */
  private stream(id: number, what: string): MuxStream | undefined {
    const s = this.host.table.get(id)
    if (s === undefined && !this.host.table.existed(id)) {
      this.host.fail(protocolError(`${what} for stream ${id}, which was never opened`))
    }
    return s
  }
}
