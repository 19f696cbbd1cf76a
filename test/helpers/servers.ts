/**
 * Small real servers on loopback, the far ends that tunnels carry traffic to: an echo server, a
 * node:http server with known bodies (one large and deterministic, with its sha256) and a banner
 * server that speaks first like SSH or SMTP. Each binds port 0 (no free-port race) and `close()`
 * destroys every open socket before resolving, so no test waits on a lingering connection.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { assertLoopback, type LoopbackHost } from './ports.ts'

/** Size of the `/large` body unless `largeBytes` says otherwise. */
export const LARGE_BODY_BYTES = 8 * 1024 * 1024
/** Cap on `largeBytes`: the body is held in memory. */
export const MAX_LARGE_BODY_BYTES = 256 * 1024 * 1024
/** Cap on a POST /echo request body (it is buffered before being sent back). */
export const MAX_ECHO_BODY_BYTES = 64 * 1024 * 1024
/** The banner server's default first line. */
export const DEFAULT_BANNER = 'BURROW-TEST-BANNER 1.0\r\n'

export interface LoopbackServer {
  readonly host: LoopbackHost
  readonly port: number
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>
}

/** Listens on `host` port 0, tracks sockets, and gives the close-everything `close()`. */
async function listenTracked(server: net.Server, host: LoopbackHost): Promise<LoopbackServer> {
  assertLoopback(host)
  const sockets = new Set<net.Socket>()
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {}) // peers reset connections in fault tests
  })
  server.listen(0, host)
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  return {
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
  }
}

/**
 * Echoes every byte back on the same connection. Half-close is kept: when the client ends its
 * side, the server ends its own after echoing everything.
 */
export function startEchoServer(host: LoopbackHost = '127.0.0.1'): Promise<LoopbackServer> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true)
    socket.pipe(socket)
  })
  return listenTracked(server, host)
}

/**
 * Writes `banner` as soon as a client connects, before reading anything (the client must not have
 * to speak first), then echoes what it receives, like the echo server.
 */
export function startBannerServer(
  banner: string = DEFAULT_BANNER,
  host: LoopbackHost = '127.0.0.1',
): Promise<LoopbackServer> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true)
    socket.write(banner)
    socket.pipe(socket)
  })
  return listenTracked(server, host)
}

/**
 * `bytes` of deterministic pseudo-random data: AES-128-CTR keystream under an all-zero key and IV
 * (fast, incompressible, identical on every run and machine).
 */
export function deterministicBytes(bytes: number): Buffer {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16))
  return cipher.update(Buffer.alloc(bytes))
}

export type FixedPath = '/' | '/hello' | '/json'

export interface HttpFixture extends LoopbackServer {
  /** `http://127.0.0.1:port` (or `http://[::1]:port`), no trailing slash. */
  readonly url: string
  /** The fixed bodies by path: `/` → "ok\n", `/hello` → "hello, burrow\n", `/json` → a small JSON document. */
  readonly bodies: Readonly<Record<FixedPath, string>>
  /** `GET /large`: `bytes` of {@link deterministicBytes}, sent with Content-Length. */
  readonly large: { readonly path: '/large'; readonly bytes: number; readonly sha256: string }
}

export interface HttpFixtureOptions {
  host?: LoopbackHost
  /** Size of `/large` (default {@link LARGE_BODY_BYTES}). */
  largeBytes?: number
}

/**
 * A node:http server with known responses: the {@link HttpFixture.bodies}, `GET /large`, and
 * `POST /echo`, which answers with the request body (up to {@link MAX_ECHO_BODY_BYTES}; 413 past
 * it). Anything else is a 404. Each response carries `x-body-sha256`.
 */
export async function startHttpServer(options: HttpFixtureOptions = {}): Promise<HttpFixture> {
  const largeBytes = options.largeBytes ?? LARGE_BODY_BYTES
  if (!Number.isInteger(largeBytes) || largeBytes < 0 || largeBytes > MAX_LARGE_BODY_BYTES) {
    throw new RangeError(`largeBytes must be 0..${MAX_LARGE_BODY_BYTES}`)
  }
  const bodies: Record<FixedPath, string> = {
    '/': 'ok\n',
    '/hello': 'hello, burrow\n',
    '/json': JSON.stringify({ service: 'burrow-test', ok: true }) + '\n',
  }
  const large = deterministicBytes(largeBytes)
  const largeSha = sha256(large)
  const send = (res: http.ServerResponse, status: number, body: Buffer | string): void => {
    const buf = typeof body === 'string' ? Buffer.from(body) : body
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': buf.length,
      'x-body-sha256': sha256(buf),
    })
    res.end(buf)
  }
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    const fixed = Object.hasOwn(bodies, url) ? bodies[url as FixedPath] : undefined
    if (req.method === 'GET' && fixed !== undefined) return send(res, 200, fixed)
    if (req.method === 'GET' && url === '/large') return send(res, 200, large)
    if (req.method !== 'POST' || url !== '/echo') return send(res, 404, 'not found\n')
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_ECHO_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () =>
      size > MAX_ECHO_BODY_BYTES ? send(res, 413, 'too large\n') : send(res, 200, Buffer.concat(chunks)),
    )
  })
  const base = await listenTracked(server, options.host ?? '127.0.0.1')
  const hostPart = base.host === '::1' ? '[::1]' : base.host
  return {
    ...base,
    url: `http://${hostPart}:${base.port}`,
    bodies,
    large: { path: '/large', bytes: largeBytes, sha256: largeSha },
    close: () => {
      server.closeAllConnections()
      return base.close()
    },
  }
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}
