import { open } from '../../peer/open.ts'
import { commonFlags, positiveInt } from '../args.ts'
import { TunnelError } from '../../errors.ts'
import { defineCommand } from '../command.ts'
import { readToken } from '../tokens.ts'
import { loadIdentity } from '../identity.ts'
import { Output, why } from '../output.ts'
import { untilSignal } from '../signals.ts'

export default defineCommand({
  name: 'open',
  description:
    'Listen locally and carry each connection to a target at a server peer (like ssh -L, without an open port there).',
  positionals: [
    {
      name: 'server',
      description: 'the server address `burrow serve` prints (not needed with --token-file)',
      required: false,
    },
  ],
  flags: {
    target: {
      type: 'string',
      short: 't',
      hint: 'tcp://host:port',
      description: "the target at the server peer (default: the server's --expose-tcp)",
    },
    listen: {
      type: 'string',
      short: 'l',
      hint: 'host:port',
      description: 'local address to listen on, e.g. 127.0.0.1:2222',
      required: true,
    },
    'path-wait': {
      type: 'string',
      hint: 'ms',
      description: 'how long a new connection waits for the path to come up (default 10000)',
    },
    'token-file': {
      type: 'string',
      hint: 'file|-|env:NAME',
      description:
        'a client token (burrow token client): gives the identity, the server and the allowed targets',
    },
    ...commonFlags,
  },
  examples: [
    "burrow open 'tcp:relay.example.com:7000~noise:<relay>~tunnel:<server>' --target tcp://127.0.0.1:22 --listen 127.0.0.1:2222",
  ],
  async run({ flags, positionals }) {
    const out = new Output({ json: flags.json, verbose: flags.verbose })
    const token =
      flags['token-file'] === undefined ? undefined : await readToken(flags['token-file'], 'client')
    if (token === undefined && positionals[0] === undefined) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        'give the SERVER address (as `burrow serve` prints it) or --token-file',
      )
    }
    const identity = token === undefined ? loadIdentity(flags.key, flags['data-dir'], 'id', out) : undefined
    const tunnel = await open({
      identity,
      server: token === undefined ? positionals[0] : undefined,
      token,
      target: flags.target,
      listen: flags.listen,
      pathWaitMs: positiveInt('path-wait', flags['path-wait']),
    })
    const { host, port } = tunnel.localAddress
    const local = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    out.result(
      { id: tunnel.id, listen: local, server: tunnel.path.server.id, target: tunnel.target },
      `listening on ${local} -> ${tunnel.target ?? 'default target'} at ${tunnel.path.server.id} (as ${tunnel.id})`,
    )
    tunnel.on('relay', ({ relay, state, err, delayMs }) =>
      out.detail(
        'relay',
        { relay, state, err, delayMs },
        `relay ${relay}: ${state}${delayMs === undefined ? '' : ` (retry in ${delayMs} ms)`} ${why(err)}`,
      ),
    )
    tunnel.on('session', ({ via }) =>
      out.event('session', { via }, `connected to ${tunnel.path.server.id} via ${via}`),
    )
    tunnel.on('session-end', ({ err }) => out.event('session-end', { err }, `session ended ${why(err)}`))
    tunnel.on('connection', ({ id, from }) =>
      out.detail('connection', { id, from }, `connection ${id} from ${from}`),
    )
    tunnel.on('connection-end', ({ id, bytesIn, bytesOut, err }) => {
      const text = `connection ${id} closed (${bytesOut} up, ${bytesIn} down)${err ? `: ${why(err)}` : ''}`
      if (err) out.event('connection-end', { id, bytesIn, bytesOut, err }, text)
      else out.detail('connection-end', { id, bytesIn, bytesOut }, text)
    })
    await untilSignal()
    await tunnel.close()
  },
})
