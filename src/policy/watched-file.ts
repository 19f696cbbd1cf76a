/**
 * A small text file the server reads at start and again whenever it changes (allow lists,
 * revocation lists), with one rule: **a bad file never changes anything.** A reload that finds the
 * file missing, unreadable, too large or unparsable keeps the previous value and reports an
 * `'error'` event, so a typo can neither lock everyone out nor let anyone in.
 *
 * Events: `'change'` (next, previous) after a reload that read a new version of the file (the
 * parser's value may still be equal: callers compare); `'error'` (a TunnelError). As with any
 * EventEmitter, an `'error'` without a listener throws.
 */
import { EventEmitter } from 'node:events'
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  watch,
  type BigIntStats,
  type FSWatcher,
} from 'node:fs'
import { open, stat } from 'node:fs/promises'
import path from 'node:path'
import { TunnelError, isTunnelError } from '../errors.ts'

/** How long the watcher waits after the last file event before it reloads (editors write in steps). */
export const WATCH_DEBOUNCE_MS = 100
/** Opening with O_NONBLOCK: a FIFO put where the file should be is refused, not waited on forever. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK

export interface WatchedFileOptions<T> {
  /** Parses the text; throws a TunnelError naming `source` and the line for bad content. */
  parse: (text: string, source: string) => T
  /** What the file is, for messages ("allowed-clients file"). */
  what: string
  /** Files larger than this are refused. */
  maxBytes: number
  debounceMs?: number
}

export type WatchedFileEvents<T> = { change: [next: T, previous: T]; error: [TunnelError] }

/** The debounce to use (WATCH_DEBOUNCE_MS when absent); anything but an integer 0-60000 ms is refused. */
export function checkDebounce(debounceMs: number | undefined): number {
  const ms = debounceMs ?? WATCH_DEBOUNCE_MS
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `invalid debounceMs ${String(ms)}: 0-60000`)
  }
  return ms
}

/** Changes whenever the file is replaced or written (nanosecond times, so same-size edits show). */
const signatureOf = (st: BigIntStats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`

export class WatchedFile<T> extends EventEmitter<WatchedFileEvents<T>> {
  readonly file: string
  #value: T
  #signature: string
  readonly #o: WatchedFileOptions<T>
  readonly #debounceMs: number
  /** Reloads run one at a time, in order, so an older read never overwrites a newer one. */
  #queue: Promise<unknown> = Promise.resolve()
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  /**
   * Reads the file synchronously (a server reads it once at startup, before it accepts anyone).
   * @throws TunnelError `TUN_ERR_FILE_NOT_FOUND`, `TUN_ERR_INVALID_ARGUMENT`, or the parser's error.
   */
  constructor(file: string, options: WatchedFileOptions<T>) {
    super()
    this.#o = options
    this.#debounceMs = checkDebounce(options.debounceMs)
    this.file = path.resolve(file)
    const first = this.#readSync()
    this.#value = first.value
    this.#signature = first.signature
  }

  get value(): T {
    return this.#value
  }

  /** Reads the file again; on failure the previous value stays and the error goes to `'error'`. True when a new version was read. */
  reload(): Promise<boolean> {
    return this.#enqueue(() => this.#reloadNow())
  }

  /**
   * Reloads whenever the file changes, until `close()`. It watches the *directory*, not the file:
   * an editor that saves by renaming a new file over the old one replaces the inode, and a watch on
   * the old inode would go quiet. Bursts of events are debounced, then the stat signature is
   * compared, so events for other files cost one `stat`. Does not keep the process alive.
   */
  watch(): this {
    if (this.#watcher !== undefined || this.#closed) return this
    const dir = path.dirname(this.file)
    const base = path.basename(this.file)
    try {
      this.#watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || name === base) this.#schedule()
      })
    } catch (err) {
      throw this.#error(dir, err)
    }
    this.#watcher.on('error', (err) => this.emit('error', this.#error(dir, err)))
    return this
  }

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

  #enqueue<R>(task: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(task)
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #checkNow(): Promise<boolean> {
    if (this.#closed) return false
    const signature = await stat(this.file, { bigint: true }).then(signatureOf, () => undefined)
    return signature !== undefined && signature === this.#signature ? false : this.#reloadNow()
  }

  async #reloadNow(): Promise<boolean> {
    let next: { value: T; signature: string }
    try {
      next = await this.#read()
    } catch (err) {
      this.emit('error', this.#error(this.file, err))
      return false
    }
    const previous = this.#value
    this.#value = next.value
    this.#signature = next.signature
    this.emit('change', next.value, previous)
    return true
  }

  /** Reads through one descriptor, so the signature belongs to the bytes read even if the file is replaced. */
  #readSync(): { value: T; signature: string } {
    let fd: number | undefined
    try {
      fd = openSync(this.file, OPEN_FLAGS)
      const st = fstatSync(fd, { bigint: true })
      this.#check(st)
      return { value: this.#o.parse(readFileSync(fd, 'utf8'), this.file), signature: signatureOf(st) }
    } catch (err) {
      throw this.#error(this.file, err)
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }

  async #read(): Promise<{ value: T; signature: string }> {
    let handle
    try {
      handle = await open(this.file, OPEN_FLAGS)
      const st = await handle.stat({ bigint: true })
      this.#check(st)
      return { value: this.#o.parse(await handle.readFile('utf8'), this.file), signature: signatureOf(st) }
    } finally {
      await handle?.close()
    }
  }

  #check(st: BigIntStats): void {
    if (!st.isFile()) throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${this.file} is not a regular file`)
    if (st.size > BigInt(this.#o.maxBytes)) {
      throw new TunnelError('TUN_ERR_INVALID_ARGUMENT', `${this.file}: larger than ${this.#o.maxBytes} bytes`)
    }
  }

  /** Maps a file-system error to a coded one naming the file; TunnelErrors pass through. */
  #error(file: string, err: unknown): TunnelError {
    if (isTunnelError(err)) return err
    const code = (err as NodeJS.ErrnoException | null)?.code
    if (code === 'ENOENT') {
      return new TunnelError('TUN_ERR_FILE_NOT_FOUND', `${this.#o.what} ${file} does not exist`, {
        cause: err,
      })
    }
    return new TunnelError(
      'TUN_ERR_INVALID_ARGUMENT',
      `cannot read ${this.#o.what} ${file} (${code ?? String(err)})`,
      {
        cause: err,
      },
    )
  }
}
