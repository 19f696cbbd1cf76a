/**
 * The unix transport: unix domain sockets named by a path. The Conn is the net.Socket itself.
 *
 * Socket files outlive crashed processes. On listen, a file at the path that is a socket with
 * nothing accepting on it (a connect is refused) is stale: it is removed and the bind retried once.
 * A socket with a live listener gives TUN_ERR_ADDRESS_IN_USE; anything that is not a socket is never
 * removed (TUN_ERR_ADDRESS_IN_USE too). close() removes the socket file it created, and only that file.
 */
import { lstat, unlink } from 'node:fs/promises'
import net from 'node:net'
import type { TransportAddress } from '../address/types.ts'
import { TunnelError, isTunnelError } from '../errors.ts'
import { checkDial, expectKind } from './dial.ts'
import { describeAddress } from './errors.ts'
import { closeServer, dialSocket, listenSocket } from './socket.ts'
import type { Conn, ConnInfo, DialOptions, ListenOptions, Listener, Transport } from './types.ts'

/**
 * Longest path the kernel accepts: `sun_path` holds 108 bytes on Linux, 104 on macOS and the BSDs,
 * with the terminating NUL. Longer paths are refused up front: the kernel would silently truncate.
 */
export const UNIX_PATH_MAX = process.platform === 'linux' ? 107 : 103

/** A unix client socket has no name; this stands for it in ConnInfo. */
const UNNAMED = '(unnamed)'

function checkPath(path: string): void {
  const bytes = Buffer.byteLength(path)
  if (bytes === 0 || bytes > UNIX_PATH_MAX || path.includes('\0')) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `unix socket path must be 1-${UNIX_PATH_MAX} bytes without NUL, got ${bytes} bytes: ${path}`,
    )
  }
}

async function dial(address: TransportAddress, options: DialOptions = {}): Promise<Conn> {
  const { path } = expectKind('unix', address, 'dial')
  checkPath(path)
  const where = describeAddress(address)
  checkDial(`connect to ${where}`, options)
  return dialSocket('unix', where, { path }, options, () => ({
    transport: 'unix',
    remote: path,
    local: UNNAMED,
  }))
}

/** True when something accepts connections on `path` (any error but "refused"/"gone" counts as live). */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path })
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT')
    })
  })
}

/**
 * After EADDRINUSE: removes `path` if it is a stale socket file and returns true (retry the bind),
 * or throws TUN_ERR_ADDRESS_IN_USE saying why the path cannot be taken.
 */
async function clearStale(path: string, inUse: TunnelError): Promise<true> {
  const where = describeAddress({ kind: 'unix', path })
  const stat = await lstat(path).catch(() => undefined)
  if (stat === undefined) return true // gone meanwhile
  const refuse = (why: string) =>
    new TunnelError('TUN_ERR_ADDRESS_IN_USE', `listen on ${where} failed: ${why}`, { cause: inUse.cause })
  if (!stat.isSocket()) throw refuse('the path exists and is not a socket (left untouched)')
  if (await isLive(path)) throw refuse('another listener is accepting connections on it')
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw refuse(`the stale socket file could not be removed (${err.code})`)
  })
  return true
}

async function listen(
  address: TransportAddress,
  onConn: (conn: Conn) => void,
  options: ListenOptions = {},
): Promise<Listener> {
  const { path } = expectKind('unix', address, 'listen on')
  checkPath(path)
  const where = describeAddress(address)
  const infoOf = (): ConnInfo => ({ transport: 'unix', remote: UNNAMED, local: path })
  const bind = () => listenSocket('unix', where, { path }, onConn, options, infoOf)
  let server: net.Server
  try {
    server = await bind()
  } catch (err) {
    if (!isTunnelError(err, 'TUN_ERR_ADDRESS_IN_USE')) throw err
    await clearStale(path, err)
    server = await bind()
  }
  // Remember which file is ours, so close() never removes a file another listener bound since.
  const own = await lstat(path).catch(() => undefined)
  return {
    address: { kind: 'unix', path },
    close: async () => {
      if (!server.listening) return
      closeServer(server) // libuv unlinks the path here; the check below covers platforms that do not
      const now = await lstat(path).catch(() => undefined)
      if (own !== undefined && now !== undefined && now.ino === own.ino && now.dev === own.dev) {
        await unlink(path).catch(() => undefined)
      }
    },
  }
}

/** Dials and listens on unix domain sockets. */
export const unix: Transport = { kind: 'unix', dial, listen }
