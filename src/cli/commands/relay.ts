import { readFileSync } from 'node:fs'
import { parseNodeAddresses } from '../../address/node.ts'
import type { Scope, TransportAddress } from '../../address/types.ts'
import { TunnelError } from '../../errors.ts'
import { DEFAULT_RELAY_LISTEN, startRelay } from '../../relay/server.ts'
import { commonFlags, positiveInt } from '../args.ts'
import { loadAllowList } from '../allow.ts'
import { defineCommand } from '../command.ts'
import { exposeFlags, exposeOptionsFromFlags, printExposures } from '../expose-relay.ts'
import { loadIdentity } from '../identity.ts'
import { Output, why } from '../output.ts'
import { untilSignal } from '../signals.ts'

export default defineCommand({
  name: 'relay',
  description:
    'Run a relay: peers link to it, server peers announce themselves, and it splices client streams to them (it only ever sees ciphertext).',
  flags: {
    listen: {
      type: 'string',
      multiple: true,
      hint: 'address',
      description: `listen address: tcp:HOST:PORT, ws://HOST:PORT/PATH, wss://..., unix:PATH (default ${DEFAULT_RELAY_LISTEN})`,
    },
    advertise: {
      type: 'string',
      multiple: true,
      hint: 'host:port',
      description: 'a public address to print besides the bound ones (a DNS name, a forwarded port)',
    },
    'allow-peers': {
      type: 'string',
      hint: 'file',
      description: 'only peers whose ids are in this file may link (reloaded on change and on SIGHUP)',
    },
    'tls-cert': {
      type: 'string',
      hint: 'file',
      description: 'certificate chain (PEM) for wss:// listeners and TLS public ports',
    },
    'tls-key': {
      type: 'string',
      hint: 'file',
      description: 'private key (PEM) for wss:// listeners and TLS public ports',
    },
    'max-links': { type: 'string', hint: 'n', description: 'peers linked at once (default 4096)' },
    'max-streams-per-link': {
      type: 'string',
      hint: 'n',
      description: 'streams one peer may have open through the relay (default 1024)',
    },
    ...exposeFlags,
    ...commonFlags,
    key: {
      type: 'string',
      short: 'k',
      hint: 'file',
      description: 'relay key file (default: <data-dir>/relay.key, created on first start)',
    },
  },
  examples: [
    'burrow relay',
    'burrow relay --listen tcp:0.0.0.0:7000 --listen wss://0.0.0.0:443/burrow --tls-cert cert.pem --tls-key key.pem',
  ],
  async run({ flags }) {
    const out = new Output({ json: flags.json, verbose: flags.verbose })
    const identity = loadIdentity(flags.key, flags['data-dir'], 'relay', out)
    const allow =
      flags['allow-peers'] === undefined
        ? undefined
        : await loadAllowList([], flags['allow-peers'], out, 'peer')
    const listen = flags.listen.length > 0 ? flags.listen : [DEFAULT_RELAY_LISTEN]
    const wss =
      flags['tls-cert'] !== undefined && flags['tls-key'] !== undefined
        ? { cert: readFileSync(flags['tls-cert']), key: readFileSync(flags['tls-key']) }
        : undefined
    if (listen.some((a) => a.startsWith('wss:')) && wss === undefined) {
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', 'a wss:// listener needs --tls-cert and --tls-key')
    }
    const expose = exposeOptionsFromFlags(flags, listen, wss, out)
    const relay = await startRelay({
      identity,
      listen,
      allowPeer: allow ? (id) => allow.has(id) : undefined,
      advertise: flags.advertise.flatMap((a) => advertised(a, listen)),
      limits: {
        maxLinks: positiveInt('max-links', flags['max-links']),
        maxStreamsPerLink: positiveInt('max-streams-per-link', flags['max-streams-per-link']),
      },
      transport: wss ? { wss } : undefined,
      expose,
    })
    printExposures(relay, out)
    allow?.on('change', ({ removed }) => {
      for (const id of removed) relay.disconnect(id, 'removed from the relay allow list')
    })
    relay.on('link', ({ id, conn }) =>
      out.detail('link', { peer: id, from: conn.remote }, `peer ${id} linked from ${conn.remote}`),
    )
    relay.on('unlink', ({ id, err }) =>
      out.detail('unlink', { peer: id, err }, `peer ${id} unlinked ${why(err)}`),
    )
    relay.on('announce', ({ id }) => out.event('announce', { peer: id }, `peer ${id} announced`))
    relay.on('withdraw', ({ id }) => out.detail('withdraw', { peer: id }, `peer ${id} withdrawn`))
    relay.on('splice', ({ from, to }) => out.detail('splice', { from, to }, `splice ${from} -> ${to}`))
    relay.on('splice-end', ({ from, to, bytes }) =>
      out.detail('splice-end', { from, to, bytes }, `splice ${from} -> ${to} ended (${bytes} bytes)`),
    )
    relay.on('refused', ({ err, conn }) =>
      out.detail('refused', { from: conn.remote, err }, `refused ${conn.remote}: ${why(err)}`),
    )
    printAddresses(relay.id, (scope) => relay.address(scope), out)
    await untilSignal({ reload: () => void Promise.all([allow?.reload(), expose?.policy.reload()]) })
    allow?.close()
    expose?.policy.close()
    await relay.close()
  },
})

function printAddresses(id: string, addressFor: (scope: Scope) => string, out: Output): void {
  const scopes = ['public', 'local', 'device'] as const
  const addresses = Object.fromEntries(scopes.map((s) => [s, addressFor(s)]))
  const best = scopes.map((s) => addresses[s]).find((a) => a !== '') ?? ''
  const lines = [
    `burrow relay ${id}`,
    ...scopes.map(
      (s) => `  ${s.padEnd(7)} ${addresses[s] || '(none: no address in this scope; see --advertise)'}`,
    ),
    '',
    'server peers join with:',
    `  burrow serve --relay '${best}' --expose-tcp 127.0.0.1:22 --allow-client <client id>`,
  ]
  out.result({ id, addresses }, lines.join('\n'))
}

/** `--advertise host[:port]` as tcp addresses (port: that of the first tcp listener). */
function advertised(text: string, listen: string[]): TransportAddress[] {
  const firstTcp = listen.flatMap((l) => parseNodeAddresses(l)).find((a) => a.transport.kind === 'tcp')
  const port = firstTcp?.transport.kind === 'tcp' ? firstTcp.transport.port : 7000
  const withPort =
    /:\d+$/.test(text) && !text.startsWith('[')
      ? text
      : text.match(/^\[.*\]:\d+$/)
        ? text
        : `${text.replace(/^\[(.*)\]$/, '[$1]')}:${port}`
  return parseNodeAddresses(`tcp:${withPort}`).map((a) => a.transport)
}
