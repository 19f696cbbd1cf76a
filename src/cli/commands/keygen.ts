import { generateIdentity } from '../../identity/keys.ts'
import { encodeKeyFile, writeKeyFile } from '../../identity/keyfile.ts'
import { defineCommand } from '../command.ts'

export default defineCommand({
  name: 'keygen',
  description: 'Create a new identity (an Ed25519 key pair) and print its id.',
  flags: {
    output: {
      type: 'string',
      short: 'o',
      hint: 'file',
      description: 'write the private key here (mode 0600); without it the key goes to stdout',
    },
    force: { type: 'boolean', description: 'replace an existing key file' },
  },
  examples: ['burrow keygen --output ~/.config/burrow/id.key'],
  run({ flags }) {
    const identity = generateIdentity()
    if (flags.output === undefined) {
      process.stdout.write(encodeKeyFile(identity))
      process.stderr.write(`${identity.id}\n`)
      return
    }
    writeKeyFile(flags.output, identity, { force: flags.force })
    process.stdout.write(`${identity.id}\n`)
  },
})
