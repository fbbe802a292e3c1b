// A local control plane (etcd + kube-apiserver + kube-controller-manager, no kubelet) for
// people and scripts:
//
//   sh scripts/node.sh test/controlplane/cli.ts up [--dir DIR]     start (fresh state), print `export KUBECONFIG=...`
//   sh scripts/node.sh test/controlplane/cli.ts env [--dir DIR]    print `export KUBECONFIG=...` of a running one
//   sh scripts/node.sh test/controlplane/cli.ts status [--dir DIR] component pids and /readyz (exit 1 unless healthy)
//   sh scripts/node.sh test/controlplane/cli.ts down [--dir DIR]   stop (SIGTERM, then SIGKILL) and remove the state
//
// DIR defaults to ${DAWN_CACHE:-~/.cache/dawn}/controlplane. Binaries: sh test/controlplane/fetch-binaries.sh
// Typical use: eval "$(sh scripts/node.sh test/controlplane/cli.ts up)"
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  startControlPlane, stopControlPlane, controlPlaneStatus, readState, defaultStateDir, MissingBinariesError
} from './controlplane.ts'

const usage = 'usage: cli.ts up|down|env|status [--dir DIR]'

async function main (): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } }
  })
  const cmd = positionals[0]
  if (values.help === true || cmd === undefined || positionals.length > 1) {
    console.error(usage)
    return values.help === true ? 0 : 2
  }
  const dir = resolve(values.dir ?? defaultStateDir())
  const err = (m: string): void => { console.error(`controlplane: ${m}`) }

  switch (cmd) {
    case 'up': {
      const status = await controlPlaneStatus(dir)
      if (status.running && status.kubeconfig !== undefined) {
        err(`already running in ${dir} (server ${status.server})`)
        console.log(`export KUBECONFIG=${status.kubeconfig}`)
        return 0
      }
      if (status.server !== undefined) {
        err(`stale state in ${dir}; cleaning up`)
        await stopControlPlane(dir)
      }
      // Ctrl-C during start-up stops what was started; afterwards the processes run on.
      const ac = new AbortController()
      const onSignal = (): void => { ac.abort(new Error('interrupted')) }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        const cp = await startControlPlane({ dir, persist: true, signal: ac.signal, log: m => { err(m) } })
        err(`state and logs in ${cp.dir}; stop with: sh scripts/node.sh test/controlplane/cli.ts down${values.dir !== undefined ? ` --dir ${dir}` : ''}`)
        console.log(`export KUBECONFIG=${cp.kubeconfigPath}`)
        return 0
      } finally {
        process.removeListener('SIGINT', onSignal)
        process.removeListener('SIGTERM', onSignal)
      }
    }
    case 'down': {
      const { stopped } = await stopControlPlane(dir)
      err(stopped.length > 0 ? `stopped ${stopped.join(', ')}; removed ${dir}` : `nothing running in ${dir} (state removed if present)`)
      return 0
    }
    case 'env': {
      const state = await readState(dir)
      if (state === undefined) { err(`no control plane in ${dir}; start one with: sh scripts/node.sh test/controlplane/cli.ts up`); return 1 }
      console.log(`export KUBECONFIG=${state.kubeconfig}`)
      return 0
    }
    case 'status': {
      const s = await controlPlaneStatus(dir)
      if (s.server === undefined) { console.log(`no control plane in ${dir}`); return 1 }
      console.log(`dir:        ${dir}`)
      console.log(`server:     ${s.server}`)
      console.log(`kubeconfig: ${s.kubeconfig ?? ''}`)
      for (const [c, st] of Object.entries(s.components)) console.log(`${(c + ':').padEnd(25)} ${st}`)
      console.log(`readyz:     ${s.readyz ?? ''}`)
      console.log(s.running ? 'healthy' : 'NOT healthy')
      return s.running ? 0 : 1
    }
    default:
      console.error(usage)
      return 2
  }
}

main().then(code => { process.exitCode = code }, (e: unknown) => {
  if (e instanceof MissingBinariesError || (e instanceof Error && process.env.DEBUG === undefined)) console.error(`controlplane: ERROR: ${e.message}`)
  else console.error('controlplane:', e)
  process.exitCode = 1
})
