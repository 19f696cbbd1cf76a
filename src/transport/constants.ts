/**
 * Limits shared by every transport. Each is the default of an option (DialOptions.timeoutMs,
 * ListenOptions.maxConnections), so a finite bound holds even when the caller passes nothing.
 * Transport-specific limits live at the top of their own file (e.g. WS_MAX_MESSAGE in ws-conn.ts).
 */

/**
 * How long a dial may take before it fails with TUN_ERR_CONNECT_TIMEOUT. Covers the whole opening:
 * TCP connect, and for ws/wss the TLS and HTTP upgrade handshakes too. 10 s is long enough for a
 * slow mobile path and short enough that a dialer trying several address alternatives moves on.
 */
export const DIAL_TIMEOUT_MS = 10_000

/**
 * Open connections a listener accepts before it refuses new ones (the OS accepts the TCP
 * connection and the listener closes it at once). Bounds file descriptors and per-Conn buffers.
 */
export const MAX_CONNECTIONS = 4096
