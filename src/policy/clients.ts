/**
 * Who may connect to a server peer: node ids from the command line (`--allow ID`) plus an optional
 * allow file (allow-file.ts) that can change while the server runs.
 *
 * The rule for changes: **a bad file never changes access.** A reload that finds the file missing,
 * unreadable or with one bad line keeps the whole previous list and reports an `'error'` event, so a
 * typo can neither lock everyone out nor let anyone in. Ids from the command line stay allowed
 * whatever the file says.
 *
 * Events: `'change'` `{ added, removed }` after a reload that changed the set of ids (a renamed
 * client alone is not a change); `'error'` (a TunnelError) when a reload or the watcher failed. As with
 * any EventEmitter, an `'error'` with no listener throws: `reload()` then rejects, and a reload started
 * by `watch()` becomes an unhandled rejection. A server attaches an `'error'` listener that logs.
 */
import { EventEmitter } from 'node:events'
import type { TunnelError } from '../errors.ts'
import { MAX_ALLOW_FILE_BYTES, checkClientIds, parseAllowFile, type AllowEntry } from './allow-file.ts'
import { WatchedFile, checkDebounce } from './watched-file.ts'

export {
  MAX_ALLOW_FILE_BYTES,
  MAX_CLIENT_NAME_LENGTH,
  parseAllowFile,
  type AllowEntry,
} from './allow-file.ts'
export { WATCH_DEBOUNCE_MS } from './watched-file.ts'

/** What a reload changed, as node ids. Names are not compared. */
export interface AllowListChange {
  readonly added: string[]
  readonly removed: string[]
}

export type ClientAllowListEvents = { change: [AllowListChange]; error: [TunnelError] }

export interface ClientAllowListOptions {
  /** Ids allowed whatever the file says (`--allow ID`), checked at construction. */
  ids?: Iterable<string>
  /** Path of an allow file; it must exist at construction. */
  file?: string
  /** Debounce for `watch()`, ms. Default {@link WATCH_DEBOUNCE_MS}. */
  debounceMs?: number
}

/** A fresh empty change (fresh so a caller may mutate what it got). */
const noChange = (): AllowListChange => ({ added: [], removed: [] })

/**
 * The allowed-clients list. Lookups (`has`, `nameOf`) are synchronous map reads: a handshake asks
 * on every connection, and a reload swaps the whole map at once, so a lookup never sees half a file.
 * The file's reading, watching and safe reloading are WatchedFile's.
 */
export class ClientAllowList extends EventEmitter<ClientAllowListEvents> {
  /** The allow file, as an absolute path, if one was given. */
  readonly file: string | undefined
  readonly #cli: readonly string[]
  readonly #watched: WatchedFile<AllowEntry[]> | undefined
  #names: ReadonlyMap<string, string | undefined>
  /** The change the last reload made, handed back by reload(). */
  #last: AllowListChange = noChange()

  /**
   * Reads the file synchronously (a server reads it once at startup, before it accepts anyone).
   *
   * @throws TunnelError `TUN_ERR_ID_INVALID` (a bad id in `ids` or the file, with file:line),
   *   `TUN_ERR_FILE_NOT_FOUND` (no such file), `TUN_ERR_INVALID_ARGUMENT` (unreadable, not a
   *   regular file, too large, a bad name, a bad debounce).
   */
  constructor(options: ClientAllowListOptions = {}) {
    super()
    this.#cli = checkClientIds(options.ids ?? [])
    const debounceMs = checkDebounce(options.debounceMs)
    this.#watched =
      options.file === undefined
        ? undefined
        : new WatchedFile(options.file, {
            parse: parseAllowFile,
            what: 'allowed-clients file',
            maxBytes: MAX_ALLOW_FILE_BYTES,
            debounceMs,
          })
    this.file = this.#watched?.file
    this.#names = this.#merge(this.#watched?.value ?? [])
    this.#watched?.on('error', (err) => this.emit('error', err))
    this.#watched?.on('change', (entries) => this.#apply(entries))
  }

  /** How many distinct ids are allowed (command line and file together). */
  get size(): number {
    return this.#names.size
  }

  /** True when the node `id` may connect. A map lookup: cheap enough for every handshake. */
  has(id: string): boolean {
    return this.#names.has(id)
  }

  /** The name the file gives `id`, for logs; undefined when it has none or is not allowed. */
  nameOf(id: string): string | undefined {
    return this.#names.get(id)
  }

  /** The allowed ids: command-line ids first, then the file's in file order. */
  ids(): string[] {
    return [...this.#names.keys()]
  }

  /**
   * Reads the file again and swaps the list in one step. On any failure the previous list stays and
   * the error goes to `'error'`; the promise then resolves with no change. Without a file it is a
   * no-op. This is what the CLI calls on SIGHUP.
   */
  async reload(): Promise<AllowListChange> {
    if (this.#watched === undefined) return noChange()
    this.#last = noChange()
    await this.#watched.reload()
    return this.#last
  }

  /** Reloads whenever the file changes, until `close()` (see WatchedFile.watch). */
  watch(): this {
    this.#watched?.watch()
    return this
  }

  /** Stops watching. Lookups and explicit `reload()` keep working. */
  close(): void {
    this.#watched?.close()
  }

  #apply(entries: AllowEntry[]): void {
    const next = this.#merge(entries)
    const added = [...next.keys()].filter((id) => !this.#names.has(id))
    const removed = [...this.#names.keys()].filter((id) => !next.has(id))
    this.#names = next
    if (added.length === 0 && removed.length === 0) return
    this.#last = { added, removed }
    this.emit('change', { added, removed })
  }

  /** Command-line ids, then file entries; for an id listed twice the first name given wins. */
  #merge(entries: readonly AllowEntry[]): Map<string, string | undefined> {
    const names = new Map<string, string | undefined>(this.#cli.map((id) => [id, undefined]))
    for (const { id, name } of entries) {
      if (!names.has(id) || (names.get(id) === undefined && name !== undefined)) names.set(id, name)
    }
    return names
  }
}
