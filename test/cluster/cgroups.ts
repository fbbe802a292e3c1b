// The cluster's cgroup parent (kubelet --cgroup-root) in every cgroup v1 hierarchy: the
// kubelet refuses to start unless it exists, and teardown removes everything under it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CGROUP_ROOT } from './layout.ts'

const CGROUP_FS = '/sys/fs/cgroup'

/** The mounted hierarchies (cpu, memory, …, and the named `systemd` one). */
function hierarchies (): string[] {
  try { return readdirSync(CGROUP_FS).filter(h => statSync(join(CGROUP_FS, h)).isDirectory()) } catch { return [] }
}

export function createCgroupRoot (): void {
  for (const h of hierarchies()) {
    const dir = join(CGROUP_FS, h, CGROUP_ROOT)
    mkdirSync(dir, { recursive: true })
    // A new v1 cpuset has no CPUs or memory nodes; nothing could join it until they are copied in.
    if (existsSync(join(dir, 'cpuset.cpus'))) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(CGROUP_FS, h, f), 'utf8'))
    }
  }
}

/** Every cgroup directory of the cluster, in every hierarchy, deepest first. */
export function clusterCgroups (): string[] {
  const found: string[] = []
  const walk = (dir: string): void => {
    let entries: string[]
    try { entries = readdirSync(dir) } catch { return }
    for (const e of entries) {
      const sub = join(dir, e)
      try { if (statSync(sub).isDirectory()) walk(sub) } catch { /* raced away */ }
    }
    found.push(dir)
  }
  for (const h of hierarchies()) {
    const root = join(CGROUP_FS, h, CGROUP_ROOT)
    if (existsSync(root)) walk(root)
  }
  return found
}

export function cgroupProcesses (): Set<number> {
  const pids = new Set<number>()
  for (const cg of clusterCgroups()) {
    let procs = ''
    try { procs = readFileSync(join(cg, 'cgroup.procs'), 'utf8') } catch { /* gone */ }
    for (const pid of procs.split('\n').filter(Boolean)) pids.add(Number(pid))
  }
  return pids
}

export function removeCgroups (): void {
  for (const cg of clusterCgroups()) { try { rmdirSync(cg) } catch { /* a process still inside, or already gone */ } }
}
