/**
 * Transports turn a TransportAddress into a byte stream (`Conn`). Every layer above (Noise,
 * the multiplexer) runs over a Conn and never sees which transport carries it.
 *
 * The backpressure contract (one for all of burrow): `write()` returns false when the Conn's
 * outgoing buffer is over its high-water mark; the writer then waits for 'drain'. A reader that
 * stops reading (pause(), or not consuming) makes the transport stop reading from the network, so
 * the remote writer sees false in turn. Memory per Conn stays bounded by the high-water marks.
 */
import type { Duplex } from 'node:stream'
import type { TransportAddress } from '../address/types.ts'

export type TransportKind = TransportAddress['kind']

export interface ConnInfo {
  readonly transport: TransportKind
  /** Human-readable remote end, e.g. `127.0.0.1:51234`, `[::1]:7000`, a socket path, a URL. */
  readonly remote: string
  /** Human-readable local end. */
  readonly local: string
}

/**
 * A connected byte stream: a Node Duplex (bytes, not objects) with its endpoint description.
 * `end()` half-closes (the remote reads EOF, and may keep writing); `destroy(err)` aborts both ways.
 * For tcp and unix the Conn is the net.Socket itself (no wrapper on the data path).
 */
export interface Conn extends Duplex {
  readonly info: ConnInfo
}

export interface DialOptions {
  /** Aborts the attempt (TUN_ERR_ABORTED). */
  signal?: AbortSignal
  /** Gives up after this many milliseconds (TUN_ERR_CONNECT_TIMEOUT). Default DIAL_TIMEOUT_MS. */
  timeoutMs?: number
  /** wss only: extra CA certificates (PEM) to trust, e.g. a self-signed relay certificate. */
  ca?: string | Buffer | Array<string | Buffer>
  /** wss only: verify the server certificate (default true; the Noise layer authenticates regardless). */
  rejectUnauthorized?: boolean
}

export interface ListenOptions {
  /** wss only: certificate chain and private key in PEM. */
  cert?: string | Buffer
  key?: string | Buffer
  /** Refuse new connections beyond this many open ones. Default MAX_CONNECTIONS. */
  maxConnections?: number
}

export interface Listener {
  /** The bound address (with the real port when 0 was asked for). */
  readonly address: TransportAddress
  /** Stops accepting and closes the listening socket; open Conns are not touched. */
  close(): Promise<void>
}

export interface Transport {
  readonly kind: TransportKind
  dial(address: TransportAddress, options?: DialOptions): Promise<Conn>
  listen(address: TransportAddress, onConn: (conn: Conn) => void, options?: ListenOptions): Promise<Listener>
}
