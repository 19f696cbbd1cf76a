/**
 * Protocol version and the defaults every layer shares. Layer-specific limits live at the top of
 * the layer's own `wire.ts`/`constants.ts`; this file holds only what crosses layers.
 */

/** burrow's wire protocol version. Bound into the Noise prologue, so peers of different versions fail to handshake. */
export const PROTOCOL_VERSION = 1

/** The name used in prologues, KDF labels and signature domains (always followed by the version). */
export const PROTOCOL_NAME = 'burrow'
