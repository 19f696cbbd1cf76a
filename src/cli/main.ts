/**
 * The burrow command line: a table of lazily loaded subcommands. Each command parses its flags and
 * calls the library; nothing else lives here.
 */
import { describeError } from '../errors.ts'
import { parseCommandArgs, renderHelp, type CommandDef } from './command.ts'
import { exitCodeFor, EXIT } from './exit.ts'

interface Entry {
  description: string
  load: () => Promise<{ default: CommandDef }>
}

const COMMANDS: Record<string, Entry> = {
  relay: {
    description: 'run a relay that peers link to (it forwards ciphertext only)',
    load: () => import('./commands/relay.ts'),
  },
  serve: {
    description: 'offer local services to allowed clients through relays',
    load: () => import('./commands/serve.ts'),
  },
  open: {
    description: 'listen locally and tunnel each connection to a server peer',
    load: () => import('./commands/open.ts'),
  },
  expose: { description: 'open a public port on a relay', load: () => import('./commands/expose.ts') },
  connect: {
    description: 'tunnel stdin/stdout to a server peer (OpenSSH ProxyCommand)',
    load: () => import('./commands/connect.ts'),
  },
  keygen: {
    description: 'create an identity key file and print its id',
    load: () => import('./commands/keygen.ts'),
  },
  id: { description: 'print the id of a key file', load: () => import('./commands/id.ts') },
  token: { description: 'make and inspect capability tokens', load: () => import('./commands/token.ts') },
}

const VERSION = '0.1.0'

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2
  return [
    'burrow: secure tunnels to TCP and UDP services behind NAT, through a relay that never sees plaintext.',
    '',
    'Usage: burrow <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, e]) => `  ${name.padEnd(width)} ${e.description}`),
    '',
    'Run `burrow <command> --help` for the flags of a command.',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp()}\n`)
    return name === undefined ? EXIT.USAGE : EXIT.OK
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`)
    return EXIT.OK
  }
  const entry = COMMANDS[name]
  if (entry === undefined) {
    process.stderr.write(`burrow: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}\n`)
    return EXIT.USAGE
  }
  const def = (await entry.load()).default
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${renderHelp(def)}\n`)
    return EXIT.OK
  }
  try {
    const ctx = parseCommandArgs(def, rest)
    return (await def.run(ctx)) ?? EXIT.OK
  } catch (err) {
    process.stderr.write(`burrow ${name}: ${describeError(err)}\n`)
    return exitCodeFor(err)
  }
}

// A closed stdout or stderr (`burrow relay | head`, a terminal gone) must not kill a daemon: the
// output is lost, the relay, server or tunnel keeps running.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
}

const code = await main(process.argv.slice(2))
process.exitCode = code
