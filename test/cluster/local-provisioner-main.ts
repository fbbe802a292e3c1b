// Entry point for running the local-volume provisioner as a detached process of the cluster
// harness:
//   sh scripts/node.sh test/cluster/local-provisioner-main.ts --kubeconfig P --node N --dir D
// Logs go to stdout (the harness redirects them to a file); SIGTERM/SIGINT stop it, exit code 0.
import { parseArgs } from 'node:util'
import { createLocalProvisioner } from './local-provisioner.ts'

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    node: { type: 'string' },
    dir: { type: 'string' }
  },
  strict: true
})
const { kubeconfig, node, dir } = values
if (kubeconfig === undefined || node === undefined || dir === undefined) {
  process.stderr.write('usage: local-provisioner-main.ts --kubeconfig <path> --node <node name> --dir <volumes dir>\n')
  process.exit(2)
}

const log = (m: string): void => { process.stdout.write(`${new Date().toISOString()} ${m}\n`) }
const provisioner = createLocalProvisioner({ kubeconfigPath: kubeconfig, nodeName: node, volumesDir: dir, log })

let stopping = false
const shutdown = (signal: string): void => {
  if (stopping) return
  stopping = true
  log(`${signal}: stopping`)
  // A hung API call must not keep a harness waiting for our exit forever.
  setTimeout(() => { log('stop took too long; exiting'); process.exit(0) }, 10_000).unref()
  provisioner.stop().then(() => process.exit(0), (e: unknown) => { log(`stop failed: ${String(e)}`); process.exit(0) })
}
process.on('SIGTERM', () => { shutdown('SIGTERM') })
process.on('SIGINT', () => { shutdown('SIGINT') })
// The provisioner retries its own errors; anything escaping it is logged, not fatal.
process.on('unhandledRejection', (e: unknown) => { log(`unhandled rejection: ${e instanceof Error ? e.stack ?? e.message : String(e)}`) })

await provisioner.start()
