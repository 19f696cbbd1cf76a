import { isTunnelError } from '../../errors.ts'
import { connect } from '../../peer/connect.ts'
import { explain } from '../../peer/codes.ts'
import { TunnelError } from '../../errors.ts'
import { commonFlags, positiveInt } from '../args.ts'
import { defineCommand } from '../command.ts'
import { readToken } from '../tokens.ts'
import { exitCodeFor, EXIT } from '../exit.ts'
import { loadIdentity } from '../identity.ts'
import { Output } from '../output.ts'

export default defineCommand({
  name: 'connect',
  description:
    'Carry stdin/stdout to a target at a server peer: an OpenSSH ProxyCommand. The exit code says what failed (see docs/cli.md).',
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
    stdio: { type: 'boolean', description: 'use stdin and stdout (required: the only mode today)' },
    'path-wait': {
      type: 'string',
      hint: 'ms',
      description: 'how long to wait for the path to the server (default 10000)',
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
    'ssh -o ProxyCommand="burrow connect \'<server address>\' --target tcp://127.0.0.1:22 --stdio" user@server',
  ],
  async run({ flags, positionals }) {
    const out = new Output({ json: flags.json, verbose: flags.verbose, dataOnStdout: true })
    if (!flags.stdio)
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', '--stdio is required (the only mode today)')
    const token =
      flags['token-file'] === undefined ? undefined : await readToken(flags['token-file'], 'client')
    if (token === undefined && positionals[0] === undefined) {
      throw new TunnelError(
        'TUN_ERR_INVALID_ARGUMENT',
        'give the SERVER address (as `burrow serve` prints it) or --token-file',
      )
    }
    const identity = token === undefined ? loadIdentity(flags.key, flags['data-dir'], 'id', out) : undefined
    const { stream, close } = await connect({
      identity,
      server: token === undefined ? positionals[0] : undefined,
      token,
      target: flags.target,
      pathWaitMs: positiveInt('path-wait', flags['path-wait']),
    })
    out.detail('connected', { server: positionals[0] }, 'connected')
    return new Promise<number>((resolve) => {
      let failure: Error | undefined
      let done = false
      const finish = (code: number) => {
        if (done) return
        done = true
        close()
        resolve(code)
      }
      process.stdin.pipe(stream)
      stream.pipe(process.stdout)
      stream.on('error', (err) => {
        failure = explain(err)
        process.stderr.write(
          `burrow connect: ${isTunnelError(failure) ? `${failure.code}: ` : ''}${failure.message}\n`,
        )
        finish(exitCodeFor(failure))
      })
      stream.once('end', () => {
        // The server's side ended: flush stdout, then exit (ssh closes stdin itself).
        process.stdout.write('', () => finish(failure ? exitCodeFor(failure) : EXIT.OK))
      })
    })
  },
})
