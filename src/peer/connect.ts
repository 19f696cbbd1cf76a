/**
 * One stream to a target at a server peer, for `burrow connect --stdio` (OpenSSH ProxyCommand) and
 * for library users who want a Duplex. Resolves once the end-to-end session is up and the stream is
 * open. A refusal by the server peer arrives later as the stream's 'error' (a stream reset);
 * `explainError(err)` turns it into the coded error (TUN_ERR_TARGET_REFUSED, ...).
 */
import type { Duplex } from 'node:stream'
import type { Identity } from '../identity/keys.ts'
import type { LinkOptions } from '../mux/link.ts'
import type { ClientToken } from '../token/index.ts'
import { explain } from './codes.ts'
import { clientCredentials } from './open.ts'
import { PATH_WAIT_MS, ServerPath, parseServerAddress } from './paths.ts'
import { encodeOpen } from './wire.ts'

export interface ConnectOptions {
  identity?: Identity
  server?: string
  /** A client token: gives the identity, the server address and the grant presented at the handshake. */
  token?: ClientToken
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
  const c = clientCredentials(options)
  const path = new ServerPath(parseServerAddress(c.server), c.identity, {
    link: { ...options.link, payload: c.payload ?? options.link?.payload },
    relayLink: options.relayLink,
  })
  try {
    const session = await path.session(options.pathWaitMs ?? PATH_WAIT_MS, options.signal)
    const stream = session.openStream(encodeOpen({ target: options.target ?? c.target }))
    // close() is the caller's own decision: the stream ends quietly (a reset to the peer, no
    // 'error' here), then the session and relay links are released.
    return {
      stream,
      close: () => {
        stream.destroy()
        path.close()
      },
    }
  } catch (err) {
    path.close()
    throw explain(err)
  }
}
