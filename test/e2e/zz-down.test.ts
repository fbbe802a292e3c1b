// Runs last (sequencer.ts): `npm run cluster -- down` leaves no process, mount, network
// namespace, cgroup or state directory behind, and the host's iptables as they were.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, inject, it } from 'vitest'
import { clusterStatus } from '../cluster/cluster.ts'
import { clusterPaths, NETNS } from '../cluster/layout.ts'
import { hostFirewallRules, leftovers } from '../cluster/teardown.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

describe('cluster down', () => {
  it('leaves nothing behind', async () => {
    const p = clusterPaths()
    const before = await clusterStatus(p)
    expect(before.running, 'the cluster was running before down').toBe(true)
    // Proof that there was something to clean: the cluster's network namespace and processes.
    expect(leftovers(p).some(l => l === `network namespace ${NETNS}`)).toBe(true)
    expect(leftovers(p).some(l => l.startsWith('process '))).toBe(true)

    execFileSync('sh', ['scripts/node.sh', '--disable-warning=ExperimentalWarning', 'test/cluster/cli.ts', 'down'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    expect(leftovers(p)).toEqual([])
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(NETNS)
    // The cluster's iptables lived and died in its namespace; the host's are as they were before `up`.
    expect(hostFirewallRules()).toBe(inject('hostFirewallBefore'))
  })
})
