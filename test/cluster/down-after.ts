// Tears the cluster down once process <pid> is gone, however it ended (Ctrl-C, SIGTERM,
// SIGKILL, a crash): the e2e tier starts one per run, so an interrupted run leaves nothing.
// A run that ends normally has already taken the cluster down; then this has nothing to do.
//   args: <pid>
import { alive, sleep } from '../support/processes.ts'
import { readClusterState, stopCluster } from './cluster.ts'
import { clusterPaths } from './layout.ts'

const pid = Number(process.argv[2])
if (!Number.isInteger(pid) || pid <= 0) {
  console.error('usage: down-after.ts <pid>')
  process.exit(2)
}
while (alive(pid)) await sleep(1000)
const p = clusterPaths()
if (await readClusterState(p) !== undefined) {
  const r = await stopCluster(p)
  console.log(`process ${pid} is gone; cluster down (${r.killed} killed, ${r.leftovers.length} left)`)
}
