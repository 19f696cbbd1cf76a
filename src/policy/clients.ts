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
import { watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { TunnelError } from '../errors.ts'
import { checkClientIds, type AllowEntry } from './allow-file.ts'
import { fileError, readSnapshot, readSnapshotSync, signatureOf, type Snapshot } from './allow-file-read.ts'

export {
  MAX_ALLOW_FILE_BYTES,
  MAX_CLIENT_NAME_LENGTH,
  parseAllowFile,
  type AllowEntry,
} from './allow-file.ts'

/**
 * How long the watcher waits after the last file event before it reloads. Editors write a file in
 * several steps (truncate, write, rename, chmod); waiting for them to settle reads the file once,
 * complete, instead of half-written.
 */
export const WATCH_DEBOUNCE_MS = 100

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
 */
export class ClientAllowList extends EventEmitter<ClientAllowListEvents> {
  /** The allow file, as an absolute path, if one was given. */
  readonly file: string | undefined
  readonly #cli: readonly string[]
  readonly #debounceMs: number
  #names: ReadonlyMap<string, string | undefined>
  #signature: string | undefined
  /** Reloads run one at a time, in order, so an older read never overwrites a newer one. */
  #queue: Promise<unknown> = Promise.resolve()
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

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
    const debounceMs = options.debounceMs ?? WATCH_DEBOUNCE_MS
    if (!Number.isInteger(debounceMs) || debounceMs < 0 || debounceMs > 60_000) {
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `invalid debounceMs ${String(debounceMs)}: 0-60000`)
    }
    this.#debounceMs = debounceMs
    this.file = options.file === undefined ? undefined : path.resolve(options.file)
    const snapshot = this.file === undefined ? undefined : readSnapshotSync(this.file)
    this.#names = this.#merge(snapshot?.entries ?? [])
    this.#signature = snapshot?.signature
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
  reload(): Promise<AllowListChange> {
    return this.#enqueue(() => this.#reloadNow())
  }

  /**
   * Reloads whenever the file changes, until `close()`. It watches the *directory* (`fs.watch`), not
   * the file: an editor that saves by writing a new file and renaming it over the old one replaces the
   * inode, and a watch on the old inode would go quiet. Each burst of events is debounced, then the
   * file's stat signature (inode, size, mtime, ctime) is compared with the last one read, so events for
   * other files in the directory cost one `stat`, not a read. The watcher does
   * not keep the process alive on its own. Idempotent; a no-op without a file or after `close()`.
   *
   * @throws TunnelError when the directory cannot be watched (e.g. it was removed).
   */
  watch(): this {
    const file = this.file
    if (file === undefined || this.#watcher !== undefined || this.#closed) return this
    const base = path.basename(file)
    try {
      this.#watcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === base) this.#schedule()
      })
    } catch (err) {
      throw fileError(path.dirname(file), err)
    }
    this.#watcher.on('error', (err) => this.emit('error', fileError(path.dirname(file), err)))
    return this
  }

  /** Stops watching. Lookups and explicit `reload()` keep working. */
  close(): void {
    this.#closed = true
    this.#watcher?.close()
    this.#watcher = undefined
    clearTimeout(this.#timer)
  }

  #schedule(): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#enqueue(() => this.#checkNow()), this.#debounceMs)
    this.#timer.unref()
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task)
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #checkNow(): Promise<AllowListChange> {
    if (this.#closed || this.file === undefined) return noChange()
    const signature = await stat(this.file, { bigint: true }).then(signatureOf, () => undefined)
    return signature !== undefined && signature === this.#signature ? noChange() : this.#reloadNow()
  }

  async #reloadNow(): Promise<AllowListChange> {
    if (this.file === undefined) return noChange()
    let snapshot: Snapshot
    try {
      snapshot = await readSnapshot(this.file)
    } catch (err) {
      this.emit('error', fileError(this.file, err))
      return noChange()
    }
    this.#signature = snapshot.signature
    const next = this.#merge(snapshot.entries)
    const added = [...next.keys()].filter((id) => !this.#names.has(id))
    const removed = [...this.#names.keys()].filter((id) => !next.has(id))
    this.#names = next
    if (added.length === 0 && removed.length === 0) return noChange()
    const change = { added, removed }
    this.emit('change', change)
    return change
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
