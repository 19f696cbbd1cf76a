/**
 * burrow's public API. The CLI is a thin layer over these functions.
 *
 *   const r = await relay({ identity, listen: ['tcp:0.0.0.0:7000'] })
 *   const s = serve({ identity, relays: [r.address('local')], tcp: new TargetPolicy(['127.0.0.1:22']), clients })
 *   const t = await open({ identity, server: s.address, target: 'tcp://127.0.0.1:22', listen: '127.0.0.1:2222' })
 *   const { stream } = await connect({ identity, server: s.address, target: 'tcp://127.0.0.1:22' })
 *   const e = expose({ identity, relay: r.address('local'), local: '127.0.0.1:3000' })
 *   const { address } = await e.ready()   // the public host:port on the relay
 *
 * Every long-lived object has close(), which releases every socket and timer; each factory takes
 * an optional AbortSignal that closes it.
 */
import { expose as startExpose, type ExposeOptions, type Exposer } from './peer/expose.ts'
import { open as openTunnel, type OpenOptions, type Tunnel } from './peer/open.ts'
import { serve as startServe, type ServeOptions, type Server } from './peer/serve.ts'
import { startRelay, type Relay, type RelayOptions } from './relay/server.ts'

export interface WithSignal {
  /** Aborting it closes the relay, server or tunnel. */
  signal?: AbortSignal
}

function closeOnAbort(signal: AbortSignal | undefined, close: () => unknown): void {
  if (signal === undefined) return
  if (signal.aborted) void close()
  else signal.addEventListener('abort', () => void close(), { once: true })
}

/** Starts a relay on every listen address. */
export async function relay(options: RelayOptions & WithSignal): Promise<Relay> {
  const r = await startRelay(options)
  closeOnAbort(options.signal, () => r.close())
  return r
}

/** Serves local targets to allowed clients through relays (they are dialed in the background). */
export function serve(options: ServeOptions & WithSignal): Server {
  const s = startServe(options)
  closeOnAbort(options.signal, () => s.close())
  return s
}

/** Opens a local listener that tunnels each connection to a target at a server peer. */
export async function open(options: OpenOptions & WithSignal): Promise<Tunnel> {
  const t = await openTunnel(options)
  closeOnAbort(options.signal, () => t.close())
  return t
}

/** Exposes a local service on a public port of a relay (in the background: see `ready()`). */
export function expose(options: ExposeOptions & WithSignal): Exposer {
  const e = startExpose(options)
  closeOnAbort(options.signal, () => e.close())
  return e
}

export type { ExposeOptions, Exposer, ExposedInfo } from './peer/expose.ts'
export { ExposeAllowList, type ExposePolicy } from './relay/expose-allow-list.ts'
export { parseExposeAllowFile, type ExposePorts } from './relay/expose-allow.ts'
export type { ExposeOptions as RelayExposeOptions } from './relay/exposures.ts'
export { connect, type ConnectOptions, type Connection } from './peer/connect.ts'
export { explain as explainError } from './peer/codes.ts'
export { parseServerAddress } from './peer/paths.ts'
export type { Relay, RelayOptions, Server, ServeOptions, Tunnel, OpenOptions }
export { TunnelError, isTunnelError, describeError, ERROR_CODES, type ErrorCode } from './errors.ts'
export { generateIdentity, identityFromSeed, publicKeyFromId, isId, type Identity } from './identity/keys.ts'
export { readKeyFile, writeKeyFile } from './identity/keyfile.ts'
export { parseNodeAddresses, formatNodeAddress, formatNodeAddresses } from './address/node.ts'
export type { NodeAddress, TransportAddress, Scope } from './address/types.ts'
export { TargetPolicy } from './policy/targets.ts'
export { dial, listen, type Link, type LinkListener } from './mux/link.ts'
