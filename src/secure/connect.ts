/**
 * Runs the Noise handshake over a Conn and returns the SecureConn (channel.ts). The flow and the
 * frames are in wire.ts; the Noise state machine is handshake.ts.
 */
import { timingSafeEqual } from 'node:crypto'
import { PROTOCOL_VERSION } from '../constants.ts'
import { TunnelError, isTunnelError } from '../errors.ts'
import { ed25519PublicToX25519 } from '../identity/convert.ts'
import { dhPublicKeyFromId, idFromPublicKey, type Identity } from '../identity/keys.ts'
import type { Conn } from '../transport/types.ts'
import { SecureChannel } from './channel.ts'
import { createHandshake, type Handshake, type HandshakePattern } from './handshake.ts'
import { sourceOf } from './gate.ts'
import { HandshakeReader } from './reader.ts'
import type { InboundOptions, OutboundOptions, SecureConn, SecureOptions } from './types.ts'
import {
  FRAME_NOISE,
  FRAME_REJECT,
  HANDSHAKE_TIMEOUT_MS,
  MAGIC,
  MAX_HANDSHAKE_PAYLOAD,
  PATTERN_CODE,
  PREAMBLE_LENGTH,
  REJECT,
  encodeFrame,
  encodePreamble,
  encodeReject,
  prologueFor,
} from './wire.ts'

const EMPTY = new Uint8Array(0)
/** Conns a REJECT frame was written to: they are ended gracefully so the frame arrives. */
const rejectSent = new WeakSet<Conn>()

function sendReject(conn: Conn, code: number, reason: string): void {
  rejectSent.add(conn)
  conn.write(encodeReject(code, reason))
}
/** After a failed handshake, how long a REJECT frame may take to flush before the Conn is destroyed. */
const CLOSE_GRACE_MS = 1000

/** Dials the secure channel: IK when `remoteId` is known, XX otherwise. */
export function secureOutbound(
  conn: Conn,
  identity: Identity,
  options: OutboundOptions = {},
): Promise<SecureConn> {
  return guarded(conn, options, async (reader) => {
    const pattern: HandshakePattern = options.pattern ?? (options.remoteId === undefined ? 'XX' : 'IK')
    const expected = options.remoteId === undefined ? undefined : dhPublicKeyFromId(options.remoteId)
    if (pattern === 'IK' && expected === undefined)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'IK needs remoteId')
    const preamble = encodePreamble(PROTOCOL_VERSION, pattern)
    const hs = createHandshake({
      pattern,
      initiator: true,
      staticKey: identity.dh,
      remoteStatic: expected,
      prologue: prologueFor(preamble),
    })
    const ownPayload = payloadFor(identity, options)
    conn.write(
      Buffer.concat([
        preamble,
        encodeFrame(FRAME_NOISE, hs.writeMessage(pattern === 'IK' ? ownPayload : EMPTY)),
      ]),
    )
    const reply = await reader.frame()
    if (reply.type === FRAME_REJECT) throw rejected(reply.body, options.remoteId)
    if (reply.type !== FRAME_NOISE)
      throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', `unexpected frame type ${reply.type}`)
    const remotePayload = hs.readMessage(reply.body)
    if (pattern === 'XX') conn.write(encodeFrame(FRAME_NOISE, hs.writeMessage(ownPayload)))
    return finish(conn, reader, hs, pattern, remotePayload, options, options.remoteId)
  })
}

/** Accepts the secure channel on a Conn a listener accepted. */
export function secureInbound(
  conn: Conn,
  identity: Identity,
  options: InboundOptions = {},
): Promise<SecureConn> {
  const gate = options.gate
  const source = sourceOf(conn.info.remote)
  if (gate && !gate.tryEnter(source)) {
    conn.on('error', () => {})
    conn.end(encodeReject(REJECT.BUSY, 'too many handshakes in progress'))
    conn.once('finish', () => conn.destroy())
    return Promise.reject(new TunnelError('TUN_ERR_TOO_MANY_HANDSHAKES', 'too many handshakes in progress'))
  }
  const run = guarded(conn, options, async (reader) => {
    const preamble = await reader.read(PREAMBLE_LENGTH)
    if (!preamble.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', 'the remote is not a burrow node (bad preamble)')
    }
    const version = preamble[6]
    if (version !== PROTOCOL_VERSION) {
      sendReject(conn, REJECT.VERSION, `this node speaks burrow protocol version ${PROTOCOL_VERSION}`)
      throw new TunnelError(
        'TUN_ERR_VERSION_MISMATCH',
        `the remote speaks protocol version ${version}, this node ${PROTOCOL_VERSION}`,
      )
    }
    const pattern =
      preamble[7] === PATTERN_CODE.IK ? 'IK' : preamble[7] === PATTERN_CODE.XX ? 'XX' : undefined
    if (pattern === undefined) {
      sendReject(conn, REJECT.MALFORMED, 'unknown handshake pattern')
      throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', `unknown handshake pattern ${preamble[7]}`)
    }
    const hs = createHandshake({
      pattern,
      initiator: false,
      staticKey: identity.dh,
      prologue: prologueFor(preamble),
    })
    let remotePayload: Uint8Array = await readNoise(reader)
    try {
      remotePayload = hs.readMessage(remotePayload)
    } catch (err) {
      const reason =
        pattern === 'IK'
          ? 'cannot read the first message: it was not made for this node key'
          : 'malformed message'
      sendReject(conn, pattern === 'IK' ? REJECT.KEY : REJECT.MALFORMED, reason)
      throw err
    }
    conn.write(encodeFrame(FRAME_NOISE, hs.writeMessage(payloadFor(identity, options))))
    if (pattern === 'XX') remotePayload = hs.readMessage(await readNoise(reader))
    return finish(conn, reader, hs, pattern, remotePayload, options, undefined)
  })
  return gate ? run.finally(() => gate.leave(source)) : run
}

function payloadFor(identity: Identity, options: SecureOptions): Uint8Array {
  const payload = options.payload ?? EMPTY
  if (payload.length > MAX_HANDSHAKE_PAYLOAD) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `handshake payload ${payload.length} > ${MAX_HANDSHAKE_PAYLOAD} bytes`,
    )
  }
  return Buffer.concat([identity.publicKey, payload])
}

async function readNoise(reader: HandshakeReader): Promise<Buffer> {
  const frame = await reader.frame()
  if (frame.type !== FRAME_NOISE)
    throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', `unexpected frame type ${frame.type}`)
  return frame.body
}

/** Checks the Ed25519 key at the head of the remote payload against the proven static key. */
function finish(
  conn: Conn,
  reader: HandshakeReader,
  hs: Handshake,
  pattern: HandshakePattern,
  remotePayload: Uint8Array,
  options: SecureOptions,
  expectedId: string | undefined,
): SecureConn {
  const keys = hs.split()
  if (remotePayload.length < 32)
    throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', 'the remote payload lacks its public key')
  const edPublic = remotePayload.subarray(0, 32)
  let bound = false
  try {
    bound = timingSafeEqual(ed25519PublicToX25519(edPublic), keys.remoteStatic)
  } catch {
    bound = false
  }
  if (!bound)
    throw new TunnelError('TUN_ERR_HANDSHAKE_FAILED', 'the remote id does not match the key it proved')
  const remoteId = idFromPublicKey(new Uint8Array(edPublic))
  if (expectedId !== undefined && remoteId !== expectedId) {
    throw new TunnelError(
      'TUN_ERR_REMOTE_KEY_MISMATCH',
      `expected node ${expectedId}, the remote proved ${remoteId}`,
    )
  }
  keys.send.destroy()
  keys.receive.destroy()
  return new SecureChannel(conn, {
    sendKey: keys.sendKey,
    receiveKey: keys.receiveKey,
    remoteId,
    remotePayload: new Uint8Array(remotePayload.subarray(32)),
    handshakeHash: keys.handshakeHash,
    pattern,
    rekey: options.rekey,
    leftover: reader.detach(),
  })
}

function rejected(body: Buffer, expectedId: string | undefined): TunnelError {
  const code = body[0]
  const reason = body.subarray(1).toString('utf8')
  switch (code) {
    case REJECT.KEY:
      return new TunnelError(
        'TUN_ERR_REMOTE_KEY_MISMATCH',
        `the node there is not ${expectedId ?? 'the expected node'}: ${reason}`,
      )
    case REJECT.VERSION:
      return new TunnelError('TUN_ERR_VERSION_MISMATCH', reason)
    case REJECT.BUSY:
      return new TunnelError('TUN_ERR_TOO_MANY_HANDSHAKES', `the remote is busy: ${reason}`)
    default:
      return new TunnelError('TUN_ERR_HANDSHAKE_FAILED', `the remote refused the handshake: ${reason}`)
  }
}

/** Applies the timeout and abort signal, and destroys the Conn on any failure. */
async function guarded(
  conn: Conn,
  options: SecureOptions,
  run: (reader: HandshakeReader) => Promise<SecureConn>,
): Promise<SecureConn> {
  const reader = new HandshakeReader(conn)
  const timeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TunnelError(
            'TUN_ERR_HANDSHAKE_TIMEOUT',
            `the handshake did not complete within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    )
    onAbort = () => reject(new TunnelError('TUN_ERR_ABORTED', 'the handshake was aborted'))
    if (options.signal?.aborted) onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([run(reader), stop])
  } catch (err) {
    reader.detach()
    const error = isTunnelError(err)
      ? err
      : new TunnelError('TUN_ERR_HANDSHAKE_FAILED', 'the handshake failed', { cause: err })
    // Let a REJECT frame already written reach the peer: end, then destroy once it is flushed.
    conn.on('error', () => {})
    if (rejectSent.has(conn) && conn.writable) {
      conn.end()
      conn.once('finish', () => conn.destroy())
      setTimeout(() => conn.destroy(), CLOSE_GRACE_MS).unref()
    } else conn.destroy()
    throw error
  } finally {
    clearTimeout(timer)
    if (onAbort) options.signal?.removeEventListener('abort', onAbort)
  }
}
