/** Runs until SIGINT or SIGTERM; SIGHUP calls `reload` (allow lists, revocations). */
export function untilSignal(handlers: { reload?: () => void } = {}): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      process.off('SIGHUP', hup)
      resolve(signal)
    }
    const hup = () => handlers.reload?.()
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    process.on('SIGHUP', hup)
  })
}
