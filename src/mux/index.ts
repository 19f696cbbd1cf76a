/**
 * The multiplexer: streams and datagrams over one secure Conn (docs/protocol.md, "Multiplexer").
 * `new MuxSession(conn, { initiator })`; the file map is at the top of session.ts.
 */
export { MuxSession, type MuxSessionEventMap } from './session.ts'
export { MuxStream } from './stream.ts'
export { APP_CODE_BASE, GoawayCode, ResetCode } from './wire.ts'
export type * from './types.ts'
