// The single-node cluster, for people and scripts (as root):
//
//   npm run cluster -- up              build/import the images, start everything, print `export KUBECONFIG=...`
//   npm run cluster -- status          components, node readiness (exit 1 unless healthy)
//   npm run cluster -- env             print `export KUBECONFIG=...` of the running cluster
//   npm run cluster -- kubectl ARGS    kubectl against it (the pinned build, from the host)
//   npm run cluster -- down            stop everything and remove every trace (exit 1 if anything is left)
//
// Typical use: eval "$(npm run -s cluster -- up)"; kubectl get pods -A
import { clusterStatus, kubectlEnv, readClusterState, startCluster, stopCluster } from './cluster.ts'
import { resolveClusterBinaries } from './cluster-binaries.ts'
import { clusterPaths } from './layout.ts'
import { spawnSync } from 'node:child_process'

const usage = 'usage: npm run cluster -- up|down|status|env|kubectl ARGS'
const listed = (items: string[]): string => [...items.slice(0, 12), ...(items.length > 12 ? [`… and ${items.length - 12} more`] : [])].join('\n  ')
const say = (m: string): void => { process.stderr.write(`cluster: ${m}\n`) }

async function main (argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  const p = clusterPaths()
  switch (cmd) {
    case 'up': {
      const status = await clusterStatus(p)
      if (status.running && status.state !== undefined) {
        say(`already running (${status.state.server})`)
        console.log(`export KUBECONFIG=${status.state.kubeconfig}`)
        return 0
      }
      if (status.state !== undefined) { say('stale state from an earlier cluster; cleaning up'); await stopCluster(p) }
      const ac = new AbortController()
      const onSignal = (): void => { ac.abort(new Error('interrupted')) }
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
      try {
        const c = await startCluster({ paths: p, signal: ac.signal, log: say })
        say(`ready in ${c.startupMs} ms (${c.server}); stop with: npm run cluster -- down`)
        console.log(`export KUBECONFIG=${c.kubeconfigPath}`)
        return 0
      } finally {
        process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal)
      }
    }
    case 'down': {
      const r = await stopCluster(p)
      if (r.leftovers.length > 0) { say(`left behind:\n  ${listed(r.leftovers)}`); return 1 }
      say(`stopped (${r.killed} processes killed after SIGTERM); nothing left behind`)
      return 0
    }
    case 'status': {
      const s = await clusterStatus(p)
      if (s.state === undefined) {
        console.log(s.leftovers.length > 0 ? `no cluster, but leftovers (npm run cluster -- down removes them):\n  ${listed(s.leftovers)}` : 'no cluster')
        return 1
      }
      console.log(`server:     ${s.state.server}\nkubeconfig: ${s.state.kubeconfig}`)
      for (const [c, st] of Object.entries(s.components)) console.log(`${(c + ':').padEnd(25)} ${st}`)
      console.log(s.running ? 'healthy' : 'NOT healthy')
      return s.running ? 0 : 1
    }
    case 'env': {
      const state = await readClusterState(p)
      if (state === undefined) { say('no cluster; start one with: npm run cluster -- up'); return 1 }
      console.log(`export KUBECONFIG=${state.kubeconfig}`)
      return 0
    }
    case 'kubectl': {
      const state = await readClusterState(p)
      if (state === undefined) { say('no cluster; start one with: npm run cluster -- up'); return 1 }
      const r = spawnSync(resolveClusterBinaries().kubectl, rest, { stdio: 'inherit', env: kubectlEnv(p.state, state.kubeconfig) })
      return r.status ?? 1
    }
    default:
      say(usage)
      return 2
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (e: unknown) => {
  say(`ERROR: ${e instanceof Error ? e.message : String(e)}`)
  process.exitCode = 1
})
