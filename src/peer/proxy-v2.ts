/**
 * PROXY protocol version 2 (HAProxy, doc/proxy-protocol.txt section 2.2), the sending side only
 * (pure). `burrow expose --proxy-protocol` writes one header before the visitor's bytes, so a
 * local service behind the relay (nginx `proxy_protocol`, HAProxy `accept-proxy`, Postfix
 * `smtpd_upstream_proxy_protocol`) logs and filters on the visitor's real address instead of
 * 127.0.0.1.
 *
 * Why version 2 and not the text version 1: fixed offsets, no text parsing on the receiver, and the
 * signature makes a service that was not configured for it fail at once (the spec's section 6)
 * instead of taking "PROXY TCP4 ..." as the start of a request.
 *
 * ```
 * offset  bytes  field
 *   0      12    signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *  12       1    version (high nibble, 2) | command (low nibble: 0 LOCAL, 1 PROXY)
 *  13       1    family (high nibble: 1 INET, 2 INET6) | transport (low nibble: 1 STREAM)
 *  14       2    length of what follows, big endian: 12 (IPv4) or 36 (IPv6)
 *  16     4|16   source address          } network byte order
 *   .     4|16   destination address     }
 *   .       2    source port             }
 *   .       2    destination port        }
 * ```
 *
 * No TLVs are sent. Both addresses must be of one family: when they differ, the IPv4 one is written
 * as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), which a receiver reads as the same host.
 */
import { TunnelError } from '../errors.ts'
import { parseIpRaw, unmap, type IpValue } from '../policy/ip.ts'

/** The 12-byte signature every v2 header starts with. */
export const PROXY_V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')
/** Version 2, command PROXY (the connection was relayed on behalf of `source`). */
export const PROXY_V2_VERSION_PROXY = 0x21
/** TCP over IPv4 (AF_INET, STREAM). */
export const PROXY_V2_TCP4 = 0x11
/** TCP over IPv6 (AF_INET6, STREAM). */
export const PROXY_V2_TCP6 = 0x21
/** The fixed part: signature, version/command, family/transport, length. */
export const PROXY_V2_FIXED_BYTES = 16

/** One end of the relayed connection. */
export interface ProxyEndpoint {
  /** An IPv4 or IPv6 address (no brackets, no zone id). IPv4-mapped IPv6 counts as IPv4. */
  address: string
  port: number
}

/**
 * The v2 header for a TCP connection from `source` (the visitor) to `destination` (the public
 * port it connected to).
 *
 * @throws TunnelError `TUN_ERR_INVALID_ARGUMENT` for an address that is not an IP or a port
 *   outside 0-65535.
 */
export function encodeProxyV2(source: ProxyEndpoint, destination: ProxyEndpoint): Buffer {
  let src = ipOf(source.address, 'source')
  let dst = ipOf(destination.address, 'destination')
  if (src.family !== dst.family) {
    src = toV6(src)
    dst = toV6(dst)
  }
  const addressBytes = src.family === 4 ? 4 : 16
  const length = 2 * addressBytes + 4
  const out = Buffer.alloc(PROXY_V2_FIXED_BYTES + length)
  PROXY_V2_SIGNATURE.copy(out, 0)
  out[12] = PROXY_V2_VERSION_PROXY
  out[13] = src.family === 4 ? PROXY_V2_TCP4 : PROXY_V2_TCP6
  out.writeUInt16BE(length, 14)
  writeIp(out, PROXY_V2_FIXED_BYTES, src, addressBytes)
  writeIp(out, PROXY_V2_FIXED_BYTES + addressBytes, dst, addressBytes)
  out.writeUInt16BE(portOf(source.port, 'source'), PROXY_V2_FIXED_BYTES + 2 * addressBytes)
  out.writeUInt16BE(portOf(destination.port, 'destination'), PROXY_V2_FIXED_BYTES + 2 * addressBytes + 2)
  return out
}

/** Parses `ip:port` or `[ipv6]:port` (the relay's `from` field) into an endpoint. */
export function parseEndpoint(text: string): ProxyEndpoint {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text)
  if (m === null)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `not an ip:port endpoint: ${JSON.stringify(text)}`)
  const address = m[1] as string
  ipOf(address, 'endpoint')
  return { address, port: portOf(Number(m[2]), 'endpoint') }
}

function ipOf(text: string, what: string): IpValue {
  const ip = parseIpRaw(text)
  if (ip === undefined)
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `PROXY header: ${what} ${JSON.stringify(text)} is not an IP`,
    )
  return unmap(ip)
}

function portOf(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff)
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `PROXY header: ${what} port ${port} is not 0-65535`)
  return port
}

function toV6(ip: IpValue): IpValue {
  return ip.family === 6 ? ip : { family: 6, value: (0xffffn << 32n) | ip.value }
}

function writeIp(out: Buffer, offset: number, ip: IpValue, bytes: number): void {
  for (let i = 0; i < bytes; i++) out[offset + i] = Number((ip.value >> BigInt(8 * (bytes - 1 - i))) & 0xffn)
}
