/**
 * The relay's public-port flags (`burrow relay --expose-allow FILE ...`), kept out of relay.ts: the
 * flag table, turning flags into the relay's expose options, and printing exposure events.
 */
import { parseNodeAddresses } from '../address/node.ts'
import { TunnelError } from '../errors.ts'
import { DEFAULT_EXPOSE_RANGE, parsePortRange } from '../relay/expose-allow.ts'
import { ExposeAllowList } from '../relay/expose-allow-list.ts'
import {
  DEFAULT_EXPOSE_BIND,
  MAX_EXPOSURES_PER_PEER,
  MAX_PUBLIC_PORTS,
  type ExposeOptions,
} from '../relay/exposures.ts'
import { PUBLIC_PORT_MAX_VISITORS } from '../relay/public-port.ts'
import type { Relay } from '../relay/server.ts'
import { positiveInt } from './args.ts'
import type { FlagDef } from './command.ts'
import { why, type Output } from './output.ts'

const range = `${DEFAULT_EXPOSE_RANGE.from}-${DEFAULT_EXPOSE_RANGE.to}`

export const exposeFlags = {
  'expose-allow': {
    type: 'string',
    hint: 'file',
    description:
      'peers that may open public ports, one `<id> <ports>` per line (`*` = the range); reloaded on change and SIGHUP. Without it nobody may',
  },
  'expose-ports': {
    type: 'string',
    hint: 'from-to',
    description: `the range public ports are picked from and \`*\` grants (default ${range})`,
  },
  'expose-bind': {
    type: 'string',
    hint: 'host',
    description: 'address public ports bind to (default: the host of the first tcp --listen, else 0.0.0.0)',
  },
  'public-host': {
    type: 'string',
    hint: 'host',
    description: 'the host name visitors use, reported to exposing peers (default: the bind address)',
  },
  'expose-grace': {
    type: 'string',
    hint: 'duration',
    description:
      'how long a port stays reserved for its peer after its exposure ends: 600, 90s, 10m, 1h (default 10m)',
  },
  'max-exposures-per-peer': {
    type: 'string',
    hint: 'n',
    description: `public ports one peer may hold (default ${MAX_EXPOSURES_PER_PEER})`,
  },
  'max-public-ports': {
    type: 'string',
    hint: 'n',
    description: `public ports in all (default ${MAX_PUBLIC_PORTS})`,
  },
  'max-visitors': {
    type: 'string',
    hint: 'n',
    description: `visitors at once per public port (default ${PUBLIC_PORT_MAX_VISITORS})`,
  },
} as const satisfies Record<string, FlagDef>

type ExposeFlagValues = { [K in keyof typeof exposeFlags]: string | undefined }

/** The expose options for `startRelay`, or undefined when `--expose-allow` is not given. */
export function exposeOptionsFromFlags(
  flags: ExposeFlagValues,
  listen: string[],
  tls: ExposeOptions['tls'],
  out: Output,
): (ExposeOptions & { policy: ExposeAllowList }) | undefined {
  const file = flags['expose-allow']
  if (file === undefined) {
    const stray = Object.keys(exposeFlags).find((k) => flags[k as keyof ExposeFlagValues] !== undefined)
    if (stray !== undefined)
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        `--${stray} needs --expose-allow FILE (nobody may expose without it)`,
      )
    return undefined
  }
  const policy = new ExposeAllowList(file)
  policy.on('error', (err) =>
    out.event(
      'expose-allow-error',
      { file, err },
      `expose-allow file not reloaded (the previous one stays): ${err.message}`,
    ),
  )
  policy.on('change', ({ added, removed, changed }) =>
    out.event(
      'expose-allow-change',
      { file, added, removed, changed },
      `expose-allow file reloaded: +${added.length} -${removed.length} ~${changed.length}`,
    ),
  )
  policy.watch()
  const firstTcp = listen.flatMap((l) => parseNodeAddresses(l)).find((a) => a.transport.kind === 'tcp')
  return {
    policy,
    range: flags['expose-ports'] === undefined ? undefined : parsePortRange(flags['expose-ports']),
    bind:
      flags['expose-bind'] ??
      (firstTcp?.transport.kind === 'tcp' ? firstTcp.transport.host : DEFAULT_EXPOSE_BIND),
    publicHost: flags['public-host'],
    graceMs:
      flags['expose-grace'] === undefined ? undefined : parseDuration('expose-grace', flags['expose-grace']),
    tls,
    limits: {
      perPeer: positiveInt('max-exposures-per-peer', flags['max-exposures-per-peer']),
      total: positiveInt('max-public-ports', flags['max-public-ports']),
      visitorsPerExposure: positiveInt('max-visitors', flags['max-visitors']),
    },
  }
}

/** Prints who exposes what (events), and visitors (details). */
export function printExposures(relay: Relay, out: Output): void {
  const e = relay.exposures
  if (e === undefined) return
  e.on('expose', ({ peer, port, host, tls }) =>
    out.event(
      'expose',
      { peer, port, host, tls },
      `peer ${peer} exposed at ${host}:${port}${tls ? ' (TLS)' : ''}`,
    ),
  )
  e.on('unexpose', ({ peer, port, why: reason, err }) =>
    out.event(
      'unexpose',
      { peer, port, why: reason, err },
      `peer ${peer} no longer exposed at port ${port}: ${reason} ${why(err)}`,
    ),
  )
  e.on('refused', ({ peer, port, err }) =>
    out.event('expose-refused', { peer, port, err }, `refused to expose for ${peer}: ${why(err)}`),
  )
  e.on('visitor', ({ peer, port, from }) =>
    out.detail('visitor', { peer, port, from }, `visitor ${from} -> port ${port} (${peer})`),
  )
  e.on('visitor-end', ({ peer, port, from, bytesIn, bytesOut }) =>
    out.detail(
      'visitor-end',
      { peer, port, from, bytesIn, bytesOut },
      `visitor ${from} -> port ${port} left (${bytesIn} in, ${bytesOut} out)`,
    ),
  )
}

/** `600` (seconds), `90s`, `10m`, `1h`, `500ms` as milliseconds; 0 is allowed (no reservation). */
export function parseDuration(name: string, text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h)?$/.exec(text.trim())
  if (m === null)
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `--${name} must be a duration like 600, 90s, 10m or 1h, got ${JSON.stringify(text)}`,
    )
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']
  return Number(m[1]) * unit
}
