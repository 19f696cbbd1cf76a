/**
 * The mux's state transitions, each in one switch with an exhaustiveness check (STYLE principle 4).
 * The diagrams are on the state types in types.ts. Pure functions: the session and the streams call
 * them and act on the result, so every legal move is listed here and nowhere else.
 */
import type { MuxSessionState, MuxStreamState } from './types.ts'

/** What can happen to a stream. */
export type StreamEvent = 'fin-sent' | 'fin-received' | 'reset'

/**
 * The state after `event`, or undefined when the event is not allowed in `state` (a second FIN
 * from the peer: a protocol error on the stream; a FIN sent after a reset: nothing to do).
 */
export function nextStreamState(state: MuxStreamState, event: StreamEvent): MuxStreamState | undefined {
  switch (state) {
    case 'open':
      return event === 'fin-sent' ? 'local-closed' : event === 'fin-received' ? 'remote-closed' : 'reset'
    case 'local-closed':
      return event === 'fin-received' ? 'closed' : event === 'reset' ? 'reset' : undefined
    case 'remote-closed':
      return event === 'fin-sent' ? 'closed' : event === 'reset' ? 'reset' : undefined
    case 'closed':
    case 'reset':
      return undefined
    default: {
      const never: never = state
      throw new Error(`unknown stream state ${String(never)}`)
    }
  }
}

/** True in the states where the stream is out of the session's table. */
export function isStreamDone(state: MuxStreamState): boolean {
  return state === 'closed' || state === 'reset'
}

/** What can happen to a session. */
export type SessionEvent = 'goaway' | 'last-stream-ended' | 'close'

/** The state after `event` (the same state when the event changes nothing). */
export function nextSessionState(state: MuxSessionState, event: SessionEvent): MuxSessionState {
  switch (state) {
    case 'open':
      return event === 'goaway' ? 'draining' : event === 'close' ? 'closed' : 'open'
    case 'draining':
      return event === 'goaway' ? 'draining' : 'closed'
    case 'closed':
      return 'closed'
    default: {
      const never: never = state
      throw new Error(`unknown session state ${String(never)}`)
    }
  }
}
