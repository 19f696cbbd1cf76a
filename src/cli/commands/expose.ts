import { expose } from '../../peer/expose.ts'
import { commonFlags, positiveInt } from '../args.ts'
import { defineCommand } from '../command.ts'
import { loadIdentity } from '../identity.ts'
import { Output, why } from '../output.ts'
import { untilSignal } from '../signals.ts'

export default defineCommand({
  name: 'expose',
  description:
    'Open a public TCP port on a relay that forwards plain visitors (no burrow needed) to a local service, like ssh -R.',
  flags: {
    relay: {
      type: 'string',
      hint: 'address',
      description: 'relay address, as printed by `burrow relay`',
      required: true,
    },
    local: {
      type: 'string',
      hint: 'host:port',
      description: 'the local service visitors reach, e.g. 127.0.0.1:3000',
      required: true,
    },
    port: {
      type: 'string',
      hint: 'n',
      description: "the public port wanted (default: one from the relay's range, kept across reconnects)",
    },
    'proxy-protocol': {
      type: 'boolean',
      description: "send a PROXY protocol v2 header with each visitor's address to the local service",
    },
    tls: {
      type: 'boolean',
      description: "terminate TLS on the public port at the relay, with the relay's certificate",
    },
    ...commonFlags,
  },
  examples: [
    "burrow expose --relay 'tcp:relay.example.com:7000~noise:<relay id>' --local 127.0.0.1:3000",
    'burrow expose --relay RELAY --local 127.0.0.1:8080 --port 20080 --tls --proxy-protocol',
  ],
  async run({ flags }) {
    const out = new Output({ json: flags.json, verbose: flags.verbose })
    const identity = loadIdentity(flags.key, flags['data-dir'], 'id', out)
    const exposer = expose({
      identity,
      relay: flags.relay,
      local: flags.local,
      port: positiveInt('port', flags.port),
      proxyProtocol: flags['proxy-protocol'],
      tls: flags.tls,
    })
    const local = `${exposer.local.host}:${exposer.local.port}`
    if (flags.json) out.result({ id: identity.id, relay: exposer.relay.relayAddress, local }, '')
    exposer.on('relay', ({ relay, state, err, delayMs }) =>
      out.detail(
        'relay',
        { relay, state, err, delayMs },
        `relay ${relay}: ${state}${delayMs === undefined ? '' : ` (retry in ${delayMs} ms)`} ${why(err)}`,
      ),
    )
    let first = true
    exposer.on('exposed', ({ port, host, address, tls }) => {
      const fields = { port, host, address, tcp: `tcp:${address}`, tls }
      const text = `${local} is public at tcp:${address} (${address})${tls ? ', TLS' : ''}`
      if (first && !flags.json) out.result(fields, text)
      else out.event('exposed', fields, first ? text : `exposed again: ${text}`)
      first = false
    })
    exposer.on('unexposed', ({ err, port, retryMs }) =>
      out.event(
        'unexposed',
        { port, err, retryMs },
        `${port === undefined ? 'not exposed' : `port ${port} no longer exposed`}: ${why(err)}${retryMs === undefined ? '' : ` (asking again in ${retryMs} ms)`}`,
      ),
    )
    exposer.on('visitor', ({ from }) => out.detail('visitor', { from }, `visitor from ${from}`))
    exposer.on('visitor-end', ({ from, bytesIn, bytesOut, err }) =>
      out.detail(
        'visitor-end',
        { from, bytesIn, bytesOut, err },
        `visitor from ${from} left (${bytesIn} in, ${bytesOut} out) ${why(err)}`,
      ),
    )
    // The first answer decides: a refusal is an error exit; later ones are retried in the background.
    try {
      await exposer.ready(0)
    } catch (err) {
      exposer.close()
      throw err
    }
    const stopped = new Promise<Error | undefined>((resolve) => exposer.once('close', resolve))
    const outcome = await Promise.race([untilSignal(), stopped])
    exposer.close()
    if (outcome instanceof Error) throw outcome
  },
})
