import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { TunnelError } from '../../errors.ts'
import { serve } from '../../peer/serve.ts'
import { formatTargetUrl, parseTargetUrl } from '../../policy/resolve.ts'
import { TargetPolicy } from '../../policy/targets.ts'
import { commonFlags, positiveInt } from '../args.ts'
import { loadAllowList } from '../allow.ts'
import { readToken, watchRevocations } from '../tokens.ts'
import { defineCommand } from '../command.ts'
import { loadIdentity } from '../identity.ts'
import { Output, why } from '../output.ts'
import { untilSignal } from '../signals.ts'

export default defineCommand({
  name: 'serve',
  description:
    'Offer local TCP services to allowed client peers, through one or more relays (no open port needed).',
  flags: {
    relay: {
      type: 'string',
      multiple: true,
      hint: 'address',
      description: 'relay address, as printed by `burrow relay` (repeat for redundancy)',
    },
    'token-file': {
      type: 'string',
      hint: 'file|-|env:NAME',
      description:
        'a server token (burrow token server): gives the identity and relays, and admits holders of client tokens minted from it',
    },
    'revoked-file': {
      type: 'string',
      hint: 'file',
      description:
        'revoked token ids and client ids, one per line (reloaded on change and SIGHUP; their sessions are closed)',
    },
    'expose-tcp': {
      type: 'string',
      hint: 'host:port',
      description: 'shorthand: allow exactly this target and make it the default (e.g. 127.0.0.1:22)',
    },
    'allow-tcp': {
      type: 'string',
      multiple: true,
      hint: 'cidr[:ports]',
      description:
        'allow TCP targets: CIDR and ports, e.g. 127.0.0.1:22 or 10.0.0.0/8:80,443 (none: nothing allowed)',
    },
    'allow-client': {
      type: 'string',
      multiple: true,
      hint: 'id',
      description: 'a client id allowed to connect',
    },
    'allow-clients-file': {
      type: 'string',
      hint: 'file',
      description: 'file of allowed client ids, one per line (reloaded on change and on SIGHUP)',
    },
    'allow-any-client': {
      type: 'boolean',
      description: 'let any client connect (each still proves its id; targets are still limited)',
    },
    'max-sessions': { type: 'string', hint: 'n', description: 'client sessions at once (default 64)' },
    'max-streams-per-client': {
      type: 'string',
      hint: 'n',
      description: 'streams one client may have open (default 256)',
    },
    ...commonFlags,
  },
  examples: [
    "burrow serve --relay 'tcp:relay.example.com:7000~noise:<relay id>' --expose-tcp 127.0.0.1:22 --allow-client <client id>",
    'burrow serve --relay R1 --relay R2 --allow-tcp 127.0.0.1:22 --allow-tcp 10.0.0.0/24:80,443 --allow-clients-file clients.txt',
  ],
  async run({ flags }) {
    const out = new Output({ json: flags.json, verbose: flags.verbose })
    const token =
      flags['token-file'] === undefined ? undefined : await readToken(flags['token-file'], 'server')
    if (token !== undefined && flags.key !== undefined) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        '--key and --token-file both name an identity: give one',
      )
    }
    if (flags.relay.length === 0 && (token?.relays.length ?? 0) === 0)
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        '--relay is required (or a server token that names relays): the address `burrow relay` prints',
      )
    const rules = [...flags['allow-tcp']]
    let defaultTarget: string | undefined
    if (flags['expose-tcp'] !== undefined) {
      const target = parseTargetUrl(`tcp://${flags['expose-tcp'].replace(/^tcp:\/\//, '')}`)
      // Resolved once, now: the address is both the rule and the default target (resolve-once rule).
      const address = isIP(target.host) ? target.host : await resolveHost(target.host)
      defaultTarget = formatTargetUrl({ ...target, host: address })
      rules.push(address.includes(':') ? `[${address}]:${target.port}` : `${address}:${target.port}`)
    }
    if (rules.length === 0) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        'nothing to serve: give --expose-tcp HOST:PORT or --allow-tcp CIDR[:PORTS]',
      )
    }
    const tcp = new TargetPolicy(rules)
    const anyClient = flags['allow-any-client']
    const byId = flags['allow-client'].length > 0 || flags['allow-clients-file'] !== undefined
    if (!anyClient && !byId && token === undefined) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        'say who may connect: --allow-client ID, --allow-clients-file FILE, --token-file (client tokens), or --allow-any-client',
      )
    }
    const clients =
      anyClient || !byId
        ? undefined
        : await loadAllowList(flags['allow-client'], flags['allow-clients-file'], out, 'client')
    const revocations =
      flags['revoked-file'] === undefined ? undefined : watchRevocations(flags['revoked-file'], out)
    const identity = token === undefined ? loadIdentity(flags.key, flags['data-dir'], 'id', out) : undefined
    const server = serve({
      identity,
      token,
      revocations,
      relays: flags.relay,
      clients: clients ?? (token !== undefined && !anyClient ? { has: () => false } : undefined),
      allowAnyClient: anyClient,
      tcp,
      defaultTarget,
      maxSessions: positiveInt('max-sessions', flags['max-sessions']),
      maxStreamsPerClient: positiveInt('max-streams-per-client', flags['max-streams-per-client']),
    })
    const address = server.address
    const target = defaultTarget ?? 'tcp://HOST:PORT'
    out.result(
      { id: server.id, address, targets: rules, defaultTarget },
      [
        `serving as ${server.id}`,
        `targets: ${rules.join(', ')}`,
        '',
        'clients connect with:',
        `  burrow open '${address}' --target ${target} --listen 127.0.0.1:2222`,
        `  ssh -o ProxyCommand="burrow connect '${address}' --target ${target} --stdio" user@server`,
      ].join('\n'),
    )
    server.on('relay', ({ relay, state, err, delayMs }) => {
      const text = `relay ${relay}: ${state}${delayMs === undefined ? '' : ` (retry in ${delayMs} ms)`}${err ? ` ${why(err)}` : ''}`
      if (state === 'ready') out.event('relay', { relay, state }, text)
      else out.detail('relay', { relay, state, err, delayMs }, text)
    })
    server.on('session', ({ client, via }) =>
      out.event('session', { client, via }, `session from ${client} via ${via}`),
    )
    server.on('session-end', ({ client, err }) =>
      out.event('session-end', { client, err }, `session from ${client} ended ${why(err)}`),
    )
    server.on('refused', ({ client, err }) =>
      out.event('refused', { client, err }, `refused ${client ?? 'a client'}: ${why(err)}`),
    )
    server.on('stream', ({ client, target }) =>
      out.detail('stream', { client, target }, `stream ${client} -> ${target}`),
    )
    server.on('stream-end', ({ client, target, bytesIn, bytesOut, err }) =>
      out.detail(
        'stream-end',
        { client, target, bytesIn, bytesOut, err },
        `stream ${client} -> ${target} ended (${bytesOut} up, ${bytesIn} down) ${why(err)}`,
      ),
    )
    await untilSignal({
      reload: () => {
        void clients?.reload()
        void revocations?.reload()
      },
    })
    clients?.close()
    revocations?.close()
    server.close()
  },
})

async function resolveHost(host: string): Promise<string> {
  try {
    return (await lookup(host)).address
  } catch (err) {
    throw new TunnelError('TUN_ERR_HOST_NOT_FOUND', `--expose-tcp: cannot resolve ${host}`, { cause: err })
  }
}
