/**
 * A PROXY protocol v2 receiver for tests (HAProxy doc/proxy-protocol.txt, 2.2), written from the
 * spec independently of src/peer/proxy-v2.ts: the far end of `expose --proxy-protocol` in the
 * integration tests, and the decoder of the encoder's round-trip property.
 */
import net from 'node:net'

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

export interface DecodedProxyV2 {
  command: 'LOCAL' | 'PROXY'
  family: 'INET' | 'INET6' | 'UNSPEC'
  source?: { address: string; port: number }
  destination?: { address: string; port: number }
  /** Bytes the header took (16 + its length field). */
  length: number
}

/** Decodes a complete header at the start of `buf`; undefined when more bytes are needed. */
export function decodeProxyV2(buf: Buffer): DecodedProxyV2 | undefined {
  if (buf.length < 16) return undefined
  if (!buf.subarray(0, 12).equals(SIGNATURE)) throw new Error('not a PROXY v2 signature')
  const verCmd = buf[12] as number
  if (verCmd >> 4 !== 2) throw new Error(`PROXY version ${verCmd >> 4}`)
  const command = (verCmd & 0xf) === 0 ? 'LOCAL' : (verCmd & 0xf) === 1 ? 'PROXY' : undefined
  if (command === undefined) throw new Error(`PROXY command ${verCmd & 0xf}`)
  const len = buf.readUInt16BE(14)
  if (buf.length < 16 + len) return undefined
  const fam = (buf[13] as number) >> 4
  const body = buf.subarray(16, 16 + len)
  if (fam === 1 && len >= 12) {
    const ip = (o: number) => [...body.subarray(o, o + 4)].join('.')
    return {
      command,
      family: 'INET',
      source: { address: ip(0), port: body.readUInt16BE(8) },
      destination: { address: ip(4), port: body.readUInt16BE(10) },
      length: 16 + len,
    }
  }
  if (fam === 2 && len >= 36) {
    const ip = (o: number) => {
      const groups: string[] = []
      for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(o + i).toString(16))
      return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
    }
    return {
      command,
      family: 'INET6',
      source: { address: ip(0), port: body.readUInt16BE(32) },
      destination: { address: ip(16), port: body.readUInt16BE(34) },
      length: 16 + len,
    }
  }
  return { command, family: 'UNSPEC', length: 16 + len }
}

/**
 * A TCP server on 127.0.0.1 that expects a PROXY v2 header on every connection, then answers
 * `{"source":...,"destination":...}\n` and echoes the rest. A connection without a valid header is
 * destroyed, as the spec asks.
 */
export async function startProxyV2Server(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      let header: DecodedProxyV2 | undefined
      try {
        header = decodeProxyV2(buf)
      } catch {
        socket.destroy()
        return
      }
      if (header === undefined) return
      socket.off('data', onData)
      socket.write(`${JSON.stringify({ source: header.source, destination: header.destination })}\n`)
      const rest = buf.subarray(header.length)
      if (rest.length > 0) socket.write(rest)
      socket.pipe(socket)
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
