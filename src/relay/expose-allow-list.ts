/**
 * The relay's `--expose-allow` file, loaded and kept current: who may open public ports, and which
 * (format in expose-allow.ts). Built on WatchedFile (policy/watched-file.ts), like the allowed-clients
 * list, with the same rule: **a bad file never changes access.** A reload that finds the file
 * missing, unreadable or with one bad line keeps the whole previous grant table and reports an
 * `'error'` event; the table is swapped at once, so a lookup never sees half a file. The watcher
 * follows the directory (rename-over-save), debounces, and compares stat signatures; SIGHUP calls
 * `reload()`.
 *
 * Events: `'change'` `{ added, removed, changed }` (peer ids) after a reload that changed any grant;
 * the relay then closes the exposures that are no longer allowed. `'error'` (a TunnelError), which,
 * as with any EventEmitter, throws without a listener.
 */
import { EventEmitter } from 'node:events'
import type { TunnelError } from '../errors.ts'
import { MAX_ALLOW_FILE_BYTES } from '../policy/allow-file.ts'
import { WatchedFile } from '../policy/watched-file.ts'
import { formatPorts, parseExposeAllowFile, type ExposePorts } from './expose-allow.ts'

/** What the relay asks of an expose policy: a grant per peer id (undefined: may not expose). */
export interface ExposePolicy {
  portsOf(peer: string): ExposePorts | undefined
  on?(event: 'change', listener: (change: ExposeAllowChange) => void): unknown
  off?(event: 'change', listener: (change: ExposeAllowChange) => void): unknown
}

export interface ExposeAllowChange {
  readonly added: string[]
  readonly removed: string[]
  /** Ids whose ports changed. */
  readonly changed: string[]
}

export type ExposeAllowListEvents = { change: [ExposeAllowChange]; error: [TunnelError] }

type Grants = ReadonlyMap<string, ExposePorts>

export class ExposeAllowList extends EventEmitter<ExposeAllowListEvents> implements ExposePolicy {
  readonly #file: WatchedFile<Grants>

  /**
   * Reads the file synchronously (the relay reads it once at startup).
   *
   * @throws TunnelError `TUN_ERR_FILE_NOT_FOUND`, `TUN_ERR_ID_INVALID` or `TUN_ERR_INVALID_ARGUMENT`.
   */
  constructor(file: string, options: { debounceMs?: number } = {}) {
    super()
    this.#file = new WatchedFile<Grants>(file, {
      parse: (text, source) => new Map(parseExposeAllowFile(text, source).map((g) => [g.id, g.ports])),
      what: 'expose-allow file',
      maxBytes: MAX_ALLOW_FILE_BYTES,
      debounceMs: options.debounceMs,
    })
    this.#file.on('error', (err) => this.emit('error', err))
    this.#file.on('change', (next, previous) => {
      const change = diff(previous, next)
      if (change.added.length + change.removed.length + change.changed.length > 0) this.emit('change', change)
    })
  }

  /** The file, as an absolute path. */
  get file(): string {
    return this.#file.file
  }

  /** Peers granted any port. */
  get size(): number {
    return this.#file.value.size
  }

  portsOf(peer: string): ExposePorts | undefined {
    return this.#file.value.get(peer)
  }

  /** Reads the file again (SIGHUP); on failure the previous table stays and `'error'` says why. */
  async reload(): Promise<void> {
    await this.#file.reload()
  }

  /** Reloads whenever the file changes, until close(). */
  watch(): this {
    this.#file.watch()
    return this
  }

  close(): void {
    this.#file.close()
  }
}

function diff(before: Grants, after: Grants): ExposeAllowChange {
  return {
    added: [...after.keys()].filter((id) => !before.has(id)),
    removed: [...before.keys()].filter((id) => !after.has(id)),
    changed: [...after]
      .filter(([id, ports]) => {
        const old = before.get(id)
        return old !== undefined && formatPorts(old) !== formatPorts(ports)
      })
      .map(([id]) => id),
  }
}
