/**
 * The transport layer's entry point: pick a Transport by kind, or dial/listen on a TransportAddress
 * directly. Everything above (secure, mux, relay, peer) goes through here and sees only Conns.
 */
import type { TransportAddress } from '../address/types.ts'
import { TunnelError } from '../errors.ts'
import { tcp } from './tcp.ts'
import type { Conn, DialOptions, ListenOptions, Listener, Transport, TransportKind } from './types.ts'
import { unix } from './unix.ts'
import { ws, wss } from './ws.ts'

export type * from './types.ts'
export { DIAL_TIMEOUT_MS, MAX_CONNECTIONS } from './constants.ts'
export { describeAddress, transportError } from './errors.ts'
export { UNIX_PATH_MAX } from './unix.ts'
export { WS_CLOSE, WS_CLOSE_TIMEOUT_MS, WS_HIGH_WATER_MARK, WS_MAX_MESSAGE } from './ws-conn.ts'
export { WS_HANDSHAKE_TIMEOUT_MS } from './ws.ts'
export { tcp, unix, ws, wss }

const TRANSPORTS: Readonly<Record<TransportKind, Transport>> = { tcp, unix, ws, wss }

/** The Transport for `kind`; TUN_ERR_ADDRESS_UNSUPPORTED for a kind this build does not have. */
export function transportFor(kind: TransportKind): Transport {
  const t = Object.hasOwn(TRANSPORTS, kind) ? TRANSPORTS[kind] : undefined
  if (t === undefined)
    throw new TunnelError('TUN_ERR_ADDRESS_UNSUPPORTED', `no transport for '${String(kind)}'`)
  return t
}

/** Dials `address` with the transport its kind names. */
export async function dial(address: TransportAddress, options?: DialOptions): Promise<Conn> {
  return transportFor(address.kind).dial(address, options)
}

/** Listens on `address` with the transport its kind names; `onConn` gets each accepted Conn. */
export async function listen(
  address: TransportAddress,
  onConn: (conn: Conn) => void,
  options?: ListenOptions,
): Promise<Listener> {
  return transportFor(address.kind).listen(address, onConn, options)
}
