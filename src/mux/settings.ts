/**
 * Applying the peer's SETTINGS frame (the layout and ids are in wire.ts). Unknown ids are ignored;
 * frame sizes are clamped to what the u24 length field can carry; INITIAL_WINDOW, MAX_FRAME and
 * MAX_DATAGRAM may not go below the protocol defaults (they are floors: see PROTOCOL_DEFAULTS).
 */
import { protocolError } from './codes.ts'
import { MAX_CREDIT, MAX_FRAME_LIMIT, PROTOCOL_DEFAULTS, SettingId, type Settings } from './wire.ts'

/** The peer's settings after `entries`; throws TUN_ERR_PROTOCOL for a value out of range. */
export function applyPeerSettings(
  current: Settings,
  entries: ReadonlyArray<readonly [number, number]>,
): Settings {
  const next = { ...current }
  for (const [id, value] of entries) {
    if (id === SettingId.INITIAL_WINDOW) next.initialWindow = value
    else if (id === SettingId.MAX_STREAMS) next.maxStreams = value
    else if (id === SettingId.MAX_FRAME) next.maxFrame = Math.min(value, MAX_FRAME_LIMIT)
    else if (id === SettingId.MAX_DATAGRAM) next.maxDatagram = Math.min(value, MAX_FRAME_LIMIT)
  }
  const floor = PROTOCOL_DEFAULTS
  if (next.initialWindow < floor.initialWindow || next.initialWindow > MAX_CREDIT) {
    throw protocolError(`SETTINGS INITIAL_WINDOW ${next.initialWindow} is out of range`)
  }
  if (next.maxFrame < floor.maxFrame)
    throw protocolError(`SETTINGS MAX_FRAME ${next.maxFrame} is below ${floor.maxFrame}`)
  if (next.maxDatagram < floor.maxDatagram) {
    throw protocolError(`SETTINGS MAX_DATAGRAM ${next.maxDatagram} is below ${floor.maxDatagram}`)
  }
  return next
}
