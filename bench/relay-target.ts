/**
 * The echo/accept target of bench/relay.ts in its own process (so the client's event loop times
 * only the client): a TCP server on 127.0.0.1 speaking the benchmark stream protocol
 * (bench/lib/modes.ts). Prints `{"port":N}` once listening; exits when stdin ends.
 */
import net from 'node:net'
import { serveBenchStream } from './lib/modes.ts'

const server = net.createServer({ noDelay: true }, serveBenchStream)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`)
})
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
