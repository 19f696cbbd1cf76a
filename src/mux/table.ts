/**
 * The session's stream table and the stream-id rules: the initiator (dialer) opens odd ids, the
 * acceptor even ids, each side strictly increasing, never reused; id 0 is the link itself.
 *
 * Because ids only grow, "was this stream ever open?" needs no memory of closed streams: an id of
 * the peer's parity at or below the highest it opened, or of ours below the next we allocate,
 * existed. So frames still in flight for a stream that closed (DATA after a RESET) are recognised
 * and ignored at no cost, while frames for ids never opened are protocol errors.
 */
import type { MuxStream } from './stream.ts'
import { MAX_STREAM_ID } from './wire.ts'

export class StreamTable {
  /** Streams this side opened / the peer opened that are in the table (MAX_STREAMS counts the latter). */
  localOpen = 0
  remoteOpen = 0
  private readonly streams = new Map<number, MuxStream>()
  private readonly initiator: boolean
  private nextLocal: number
  private lastRemote = 0

  constructor(initiator: boolean) {
    this.initiator = initiator
    this.nextLocal = initiator ? 1 : 2
  }

  get size(): number {
    return this.streams.size
  }

  get(id: number): MuxStream | undefined {
    return this.streams.get(id)
  }

  values(): IterableIterator<MuxStream> {
    return this.streams.values()
  }

  /** True for ids of this side's parity. */
  isLocal(id: number): boolean {
    return (id % 2 === 1) === this.initiator
  }

  /** True if the stream was opened at some point (it may be closed now). */
  existed(id: number): boolean {
    return this.isLocal(id) ? id < this.nextLocal : id <= this.lastRemote
  }

  /** Takes the next local id; undefined once the id space is used up. */
  allocate(): number | undefined {
    if (this.nextLocal > MAX_STREAM_ID) return undefined
    const id = this.nextLocal
    this.nextLocal += 2
    return id
  }

  /** Records a peer OPEN's id. Returns what is wrong with it (a link-level protocol error), or undefined. */
  admitRemote(id: number): string | undefined {
    if (this.isLocal(id)) return `OPEN for stream ${id}: that parity is ours`
    if (id <= this.lastRemote) return `OPEN for stream ${id}: not above ${this.lastRemote}`
    this.lastRemote = id
    return undefined
  }

  add(stream: MuxStream): void {
    this.streams.set(stream.id, stream)
    if (this.isLocal(stream.id)) this.localOpen++
    else this.remoteOpen++
  }

  /** Removes `stream` if it is the one in the table; false if it was not there. */
  remove(stream: MuxStream): boolean {
    if (this.streams.get(stream.id) !== stream) return false
    this.streams.delete(stream.id)
    if (this.isLocal(stream.id)) this.localOpen--
    else this.remoteOpen--
    return true
  }

  /** Empties the table and returns what was in it. */
  clear(): MuxStream[] {
    const all = [...this.streams.values()]
    this.streams.clear()
    this.localOpen = this.remoteOpen = 0
    return all
  }
}
