/** The benchmark servers (TCP, TLS 1.3, a burrow link listener), started in-process or in a child. */
import net from 'node:net'
import tls from 'node:tls'
import { generateIdentity } from '../../src/identity/keys.ts'
import { listen } from '../../src/mux/link.ts'
import { serveBenchStream } from './modes.ts'

export interface BenchServers {
  tcp: number
  tls: number
  /** TLS 1.3 forced to TLS_CHACHA20_POLY1305_SHA256: the same AEAD as burrow, in OpenSSL's record layer. */
  tlsChacha: number
  burrow: string
}

export async function startBenchServers(
  cert: Buffer,
  key: Buffer,
): Promise<BenchServers & { close(): void }> {
  const tcp = net.createServer({ noDelay: true }, serveBenchStream)
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
  const tlsServer = tls.createServer({ cert, key, minVersion: 'TLSv1.3' }, (s) => {
    s.setNoDelay(true)
    serveBenchStream(s)
  })
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r))
  const tlsChacha = tls.createServer(
    { cert, key, minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' },
    (s) => {
      s.setNoDelay(true)
      serveBenchStream(s)
    },
  )
  await new Promise<void>((r) => tlsChacha.listen(0, '127.0.0.1', r))
  const links = await listen('tcp:127.0.0.1:0', generateIdentity())
  links.on('link', (link) => link.on('stream', serveBenchStream))
  return {
    tcp: (tcp.address() as net.AddressInfo).port,
    tls: (tlsServer.address() as net.AddressInfo).port,
    tlsChacha: (tlsChacha.address() as net.AddressInfo).port,
    burrow: links.toString(),
    close() {
      tcp.close()
      tlsServer.close()
      tlsChacha.close()
      void links.close()
    },
  }
}
