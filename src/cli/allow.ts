/** An allow list for a command: ids from flags plus a watched file; reload errors are printed, never fatal. */
import { ClientAllowList } from '../policy/clients.ts'
import type { Output } from './output.ts'

export async function loadAllowList(
  ids: string[],
  file: string | undefined,
  out: Output,
  what: string,
): Promise<ClientAllowList> {
  const list = new ClientAllowList({ ids, file })
  list.on('error', (err) =>
    out.event(
      'allow-list-error',
      { file, err },
      `${what} allow list not reloaded (the previous one stays): ${err.message}`,
    ),
  )
  list.on('change', ({ added, removed }) =>
    out.event(
      'allow-list-change',
      { file, added, removed },
      `${what} allow list reloaded: +${added.length} -${removed.length}`,
    ),
  )
  if (file !== undefined) list.watch()
  return list
}
