// Running a command inside a pod's network namespace with the node's own tools (iptables,
// tc, ss, bash; the Dawn image has none of them), found by the PID of one of the pod's
// containers. On the project's cluster the PID comes from its containerd (`ctr task ls`,
// host PID namespace) and the command runs under `nsenter --net`; on kind, the same runs
// inside the kind node's container through `docker exec`, with the PID from crictl.
import { run } from '../../support/processes.ts'

export interface PodRef {
  /** For messages. */
  name: string
  /** The Node the pod runs on (a kind node's container name). */
  nodeName: string
  /** `containerd://<id>` or `<id>` of any running container of the pod. */
  containerId: string
}

export interface PodNet {
  /** Runs `argv` in the pod's network namespace, `stdin` fed in; resolves stdout, rejects with stderr. */
  exec: (pod: PodRef, argv: string[], stdin?: string) => Promise<string>
}

export class PodNetError extends Error {
  constructor (message: string) { super(message); this.name = 'PodNetError' }
}


const bareId = (id: string): string => id.replace(/^[a-z]+:\/\//, '')

/** PIDs of running tasks from `ctr task ls` / crictl, cached per container id (a new container has a new id). */
class PidCache {
  private readonly pids = new Map<string, number>()
  private readonly lookup: (pod: PodRef, id: string) => Promise<number | undefined>
  constructor (lookup: (pod: PodRef, id: string) => Promise<number | undefined>) { this.lookup = lookup }

  async pid (pod: PodRef): Promise<number> {
    const id = bareId(pod.containerId)
    let pid = this.pids.get(id)
    if (pid === undefined) {
      pid = await this.lookup(pod, id)
      if (pid === undefined || pid <= 0) throw new PodNetError(`no running task for container ${id.slice(0, 12)} of pod ${pod.name}`)
      this.pids.set(id, pid)
    }
    return pid
  }
}

/** The project's single-node cluster: its containerd runs in the host's PID namespace. */
export function localPodNet (containerdSocket: string): PodNet {
  const cache = new PidCache(async (_pod, id) => {
    const out = await run('ctr', ['--address', containerdSocket, '-n', 'k8s.io', 'task', 'ls'])
    const row = out.split('\n').map(l => l.trim().split(/\s+/)).find(cols => cols[0] === id && cols[2] === 'RUNNING')
    return row === undefined ? undefined : Number(row[1])
  })
  return {
    exec: async (pod, argv, stdin) => await run('nsenter', [`--net=/proc/${await cache.pid(pod)}/ns/net`, '--', ...argv], undefined, undefined, stdin)
  }
}

/** A kind cluster: each Node is a Docker container with crictl, nsenter and the network tools. */
export function kindPodNet (docker = 'docker'): PodNet {
  const cache = new PidCache(async (pod, id) => {
    const out = await run(docker, ['exec', pod.nodeName, 'crictl', 'inspect', '--output', 'go-template', '--template', '{{.info.pid}}', id])
    return Number(out.trim())
  })
  return {
    exec: async (pod, argv, stdin) => await run(docker, ['exec', '-i', pod.nodeName, 'nsenter', `--net=/proc/${await cache.pid(pod)}/ns/net`, '--', ...argv], undefined, undefined, stdin)
  }
}
