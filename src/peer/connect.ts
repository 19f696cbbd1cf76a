/**
 * One stream to a target at a server peer, for `burrow connect --stdio` (OpenSSH ProxyCommand) and
 * for library users who want a Duplex. Resolves once the end-to-end session is up and the stream is
 * open. A refusal by the server peer arrives later as the stream's 'error' (a stream reset);
 * `explainError(err)` turns it into the coded error (TUN_ERR_TARGET_REFUSED, ...).
 */
import type { Duplex } from 'node:stream'
import type { Identity } from '../identity/keys.ts'
import type { LinkOptions } from '../mux/link.ts'
import { explain } from './codes.ts'
import { PATH_WAIT_MS, ServerPath, parseServerAddress } from './paths.ts'
import { encodeOpen } from './wire.ts'

export interface ConnectOptions {
  identity: Identity
  server: string
  target?: string
  pathWaitMs?: number
  link?: LinkOptions
  relayLink?: LinkOptions
  signal?: AbortSignal
}

export interface Connection {
  stream: Duplex
  /** Closes the stream's session and relay links. */
  close(): void
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  const path = new ServerPath(parseServerAddress(options.server), options.identity, {
    link: options.link,
    relayLink: options.relayLink,
  })
  try {
    const session = await path.session(options.pathWaitMs ?? PATH_WAIT_MS, options.signal)
    const stream = session.openStream(encodeOpen({ target: options.target }))
    return { stream, close: () => path.close() }
  } catch (err) {
    path.close()
    throw explain(err)
  }
}
