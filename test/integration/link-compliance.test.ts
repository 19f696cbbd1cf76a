import { after } from 'node:test'
import { linkStreamTransport } from '../helpers/link-transport.ts'
import { transportCompliance } from '../compliance/transport.ts'

// Streams of a link (tcp + Noise + mux) run the same compliance suite as the raw transports.
const transport = linkStreamTransport()
after(() => transport.close())
transportCompliance('link stream', async () => ({
  transport,
  listenAddress: { kind: 'tcp', host: '127.0.0.1', port: 0 },
  // A destroyed stream reaches its peer as a RESET.
  resetCodes: ['TUN_ERR_STREAM_RESET'],
}))
