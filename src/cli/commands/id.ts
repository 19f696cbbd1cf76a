import { readKeyFile } from '../../identity/keyfile.ts'
import { defineCommand } from '../command.ts'

export default defineCommand({
  name: 'id',
  description: 'Print the id (public key) of an identity key file.',
  flags: {
    key: {
      type: 'string',
      short: 'k',
      hint: 'file',
      description: 'the private key file (must not be readable by group or others)',
      required: true,
    },
  },
  examples: ['burrow id --key ~/.config/burrow/id.key'],
  run({ flags }) {
    process.stdout.write(`${readKeyFile(flags.key).id}\n`)
  },
})
