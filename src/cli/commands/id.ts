import { readKeyFile } from '../../identity/keyfile.ts'
import { commonFlags } from '../args.ts'
import { defineCommand } from '../command.ts'
import { loadIdentity } from '../identity.ts'
import { Output } from '../output.ts'

export default defineCommand({
  name: 'id',
  description:
    'Print the id (public key) of an identity: a key file, or the default identity serve/open/connect use (created if missing).',
  flags: {
    key: {
      type: 'string',
      short: 'k',
      hint: 'file',
      description: 'the private key file (must not be readable by group or others)',
    },
    'data-dir': commonFlags['data-dir'],
  },
  examples: ['burrow id', 'burrow id --key ~/.config/burrow/id.key'],
  run({ flags }) {
    const identity =
      flags.key !== undefined
        ? readKeyFile(flags.key)
        : loadIdentity(undefined, flags['data-dir'], 'id', new Output({}))
    process.stdout.write(`${identity.id}\n`)
  },
})
