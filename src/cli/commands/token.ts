/**
 * `burrow token server | client | inspect`: make and read capability tokens (docs/tokens.md).
 * Tokens are read from a file, `-` (stdin) or `env:NAME`, never from argv, and written 0600.
 */
import { TunnelError } from '../../errors.ts'
import { readKeyFile } from '../../identity/keyfile.ts'
import {
  TOKEN_SOURCE_HINT,
  createServerToken,
  describeToken,
  encodeToken,
  isoTime,
  mintClientToken,
  readTokenSource,
  requireKind,
  tokenValidity,
  writeTokenFile,
  type Token,
  type TokenDescription,
} from '../../token/index.ts'
import { positiveInt } from '../args.ts'
import { defineCommand } from '../command.ts'
import { EXIT } from '../exit.ts'

/** Which flags each subcommand takes (the command declares them all; others are usage errors). */
const FLAGS_OF = {
  server: ['relay', 'expires', 'days', 'key', 'output', 'force'],
  client: ['server-token', 'expires', 'days', 'not-before', 'target', 'name', 'output', 'force'],
  inspect: ['json'],
} as const
type Sub = keyof typeof FLAGS_OF

const DATE = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/

const usage = (why: string): TunnelError => new TunnelError('TUN_ERR_INVALID_ARGUMENT', why)

/** An ISO 8601 date (`2026-01-31`, 00:00 UTC) or date-time with a zone (`2026-01-31T18:00:00Z`). */
function parseDate(flag: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined
  const date = new Date(text)
  const valid =
    (DATE.test(text) && !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text)) ||
    (DATE_TIME.test(text) && !Number.isNaN(date.getTime()))
  if (!valid) {
    throw usage(
      `--${flag} takes an ISO 8601 date (2026-01-31, meaning 00:00 UTC) or date-time with a zone (2026-01-31T18:00:00Z), got ${JSON.stringify(text)}`,
    )
  }
  return date
}

/** `--expires` / `--days` as library options (at most one). */
function lifetime(flags: { expires: string | undefined; days: string | undefined }): {
  expiresAt?: Date
  days?: number
} {
  if (flags.expires !== undefined && flags.days !== undefined)
    throw usage('give --expires or --days, not both')
  const expiresAt = parseDate('expires', flags.expires)
  const days = positiveInt('days', flags.days)
  return { ...(expiresAt === undefined ? {} : { expiresAt }), ...(days === undefined ? {} : { days }) }
}

/** Prints the token, or writes it 0600 to --output and prints the id (as keygen does). */
function emit(token: Token, id: string, summary: string, output: string | undefined, force: boolean): void {
  const text = encodeToken(token)
  if (output === undefined) process.stdout.write(`${text}\n`)
  else {
    writeTokenFile(output, text, { force })
    process.stdout.write(`${id}\n`)
  }
  process.stderr.write(`${summary}\n`)
}

function humanInspect(d: TokenDescription, status: string): string {
  const rows: [string, string | readonly string[] | undefined][] = [
    ['kind', d.kind],
    ['server id', d.serverId],
    ['client id', d.clientId],
    ['token id', d.tokenId],
    ['name', d.name],
    ['relays', d.relays.length === 0 ? '(none)' : d.relays],
    [
      'targets',
      d.targets === undefined ? undefined : d.targets.length === 0 ? "(the server's default)" : d.targets,
    ],
    ['issued', d.issuedAt],
    ['not before', d.notBefore],
    ['expires', d.expiresAt],
    ['status', status],
  ]
  return rows
    .filter((row): row is [string, string | readonly string[]] => row[1] !== undefined)
    .flatMap(([label, value]) =>
      (typeof value === 'string' ? [value] : value).map(
        (v, i) => `${(i === 0 ? label : '').padEnd(11)} ${v}`,
      ),
    )
    .join('\n')
}

export default defineCommand({
  name: 'token',
  description: [
    'Make and read capability tokens. Tokens are secrets: they are read from a file, - (stdin) or',
    'env:NAME, never from the command line, and written with mode 0600.',
    '',
    '  token server [--relay ADDR]... [--expires DATE | --days N] [--key FILE] [--output FILE]',
    '      the serving capability: the server key, its relays and an expiry (default 180 days)',
    '  token client --server-token SRC [--target tcp://HOST:PORT]... [--name NAME]',
    '               [--expires DATE | --days N] [--not-before DATE] [--output FILE]',
    '      a client token: a fresh client key and a grant signed by the server (default 90 days,',
    "      never past the server token's expiry)",
    '  token inspect SRC [--json]',
    '      every field but the secrets, and whether it is valid now (exit 0) or not (exit 1)',
  ].join('\n'),
  positionals: [
    { name: 'subcommand', description: 'server, client or inspect' },
    { name: 'source', required: false, description: `inspect: the token, as ${TOKEN_SOURCE_HINT}` },
  ],
  flags: {
    relay: {
      type: 'string',
      multiple: true,
      hint: 'address',
      description: 'server: a relay address, as printed by `burrow relay`',
    },
    key: {
      type: 'string',
      short: 'k',
      hint: 'file',
      description: 'server: carry this identity key file (default: a fresh identity)',
    },
    'server-token': {
      type: 'string',
      hint: 'src',
      description: `client: the server token to mint from, as ${TOKEN_SOURCE_HINT}`,
    },
    target: {
      type: 'string',
      multiple: true,
      hint: 'tcp://host:port',
      description: "client: an allowed target (none: the server's default target only)",
    },
    name: {
      type: 'string',
      hint: 'name',
      description: 'client: a label shown by inspect and in server logs',
    },
    expires: {
      type: 'string',
      hint: 'date',
      description: 'expiry, ISO 8601 (2026-01-31 or 2026-01-31T18:00Z)',
    },
    days: { type: 'string', hint: 'n', description: 'lifetime in days (server: 180, client: 90)' },
    'not-before': { type: 'string', hint: 'date', description: 'client: valid from this date (default now)' },
    output: {
      type: 'string',
      short: 'o',
      hint: 'file',
      description: 'write the token here (mode 0600) and print its id',
    },
    force: { type: 'boolean', description: 'replace an existing --output file' },
    json: { type: 'boolean', description: 'inspect: print one JSON object' },
  },
  examples: [
    "burrow token server --relay 'tcp:relay.example.com:7000~noise:<relay id>' --output server.token",
    'burrow token client --server-token server.token --target tcp://127.0.0.1:22 --name laptop -o laptop.token',
    'burrow token inspect laptop.token',
    'BURROW_TOKEN="$(cat laptop.token)" burrow token inspect env:BURROW_TOKEN',
  ],
  async run({ flags, positionals }) {
    const sub = positionals[0] as Sub
    if (!Object.hasOwn(FLAGS_OF, sub))
      throw usage(`unknown token subcommand ${JSON.stringify(sub)}: server, client or inspect`)
    const allowed: readonly string[] = FLAGS_OF[sub]
    for (const [name, value] of Object.entries(flags)) {
      const given = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false
      if (given && !allowed.includes(name)) throw usage(`--${name} is not a flag of \`burrow token ${sub}\``)
    }
    if (sub !== 'inspect' && positionals[1] !== undefined)
      throw usage(`unexpected argument ${JSON.stringify(positionals[1])}`)
    const io = { env: process.env, stdin: process.stdin }
    const now = Date.now()

    if (sub === 'server') {
      const identity = flags.key === undefined ? undefined : readKeyFile(flags.key)
      const token = createServerToken({
        ...(identity === undefined ? {} : { identity }),
        relays: flags.relay,
        ...lifetime(flags),
        now,
      })
      const summary = `server token for ${token.serverId}, expires ${isoTime(token.expiresAt)}: keep it secret, it holds the server's private key`
      emit(token, token.serverId, summary, flags.output, flags.force)
      return EXIT.OK
    }

    if (sub === 'client') {
      if (flags['server-token'] === undefined)
        throw usage(`--server-token is required: the server token, as ${TOKEN_SOURCE_HINT}`)
      const server = requireKind(await readTokenSource(flags['server-token'], io), 'server')
      const notBefore = parseDate('not-before', flags['not-before'])
      const token = mintClientToken(server, {
        targets: flags.target,
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(notBefore === undefined ? {} : { notBefore }),
        ...lifetime(flags),
        now,
      })
      const g = token.grant
      const summary = `client token ${g.tokenId} for client ${g.clientId} of server ${g.serverId}, expires ${isoTime(g.expiresAt)}`
      emit(token, g.clientId, summary, flags.output, flags.force)
      return EXIT.OK
    }

    const source = positionals[1]
    if (source === undefined) throw usage(`missing SOURCE: the token to inspect, as ${TOKEN_SOURCE_HINT}`)
    const token = await readTokenSource(source, io)
    const description = describeToken(token)
    const status = tokenValidity(token, now)
    if (flags.json) process.stdout.write(`${JSON.stringify({ ...description, status })}\n`)
    else process.stdout.write(`${humanInspect(description, status)}\n`)
    return status === 'valid' ? EXIT.OK : EXIT.FAILURE
  },
})
