/** Flags shared by several commands, and the helpers that read them. */
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TunnelError } from '../errors.ts'
import type { FlagDef } from './command.ts'

export const commonFlags = {
  key: {
    type: 'string',
    short: 'k',
    hint: 'file',
    description: 'identity key file (default: <data-dir>/id.key, created on first start)',
  },
  'data-dir': {
    type: 'string',
    hint: 'dir',
    description: 'where keys live (default: $BURROW_HOME, $XDG_DATA_HOME/burrow or ~/.local/share/burrow)',
  },
  verbose: { type: 'boolean', short: 'v', description: 'print every state change' },
  json: { type: 'boolean', description: 'print events as JSON lines' },
} as const satisfies Record<string, FlagDef>

/** The data directory (created 0700 if missing). */
export function dataDir(flag: string | undefined): string {
  const dir =
    flag ??
    process.env.BURROW_HOME ??
    path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'burrow')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}

export function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || String(n) !== text.trim()) {
    throw new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `--${name} must be a positive integer, got ${JSON.stringify(text)}`,
    )
  }
  return n
}
