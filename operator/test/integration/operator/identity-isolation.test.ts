// One key per pod, against a real kube-apiserver + kube-controller-manager: the StatefulSet
// the operator applies mounts the pool's identity Secret into the identity init container
// alone, and the pods the StatefulSet controller makes from it pass Pod Security `restricted`
// and carry the pod-index label the init container picks its ordinal's files by.
// There is no kubelet here: pods stay Pending, so the pod template is what is checked.
import { describe, it, expect, beforeAll } from 'vitest'
import { PatchStrategy, setHeaderOptions, type V1Container, type V1Pod } from '@kubernetes/client-node'
import { clients, Dawn, eventually, findSecret, networkManifest, poolManifest, secretTexts, useOperatorNamespace } from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''

useOperatorNamespace(c, 'op-identity', (n) => { ns = n })

const NET = 'iso'
const POOL = 'keys'
const IDENTITY_SECRET = `${POOL}-identity`

beforeAll(async () => {
  // The pods below exist only if every container, init containers included, passes `restricted`.
  await c.core.patchNamespace({ name: ns, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
})

async function pods (): Promise<V1Pod[]> {
  return (await c.core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${POOL}` })).items
}

/** Names of the pod volumes backed by the pool's identity Secret. */
const secretVolumes = (spec: V1Pod['spec']): Set<string> =>
  new Set((spec?.volumes ?? []).filter(v => v.secret?.secretName === IDENTITY_SECRET).map(v => v.name))

const mountsAny = (container: V1Container | undefined, volumes: Set<string>): boolean =>
  (container?.volumeMounts ?? []).some(m => volumes.has(m.name))

function containerNamed (spec: V1Pod['spec'], name: string): V1Container | undefined {
  return [...spec?.initContainers ?? [], ...spec?.containers ?? []].find(x => x.name === name)
}

function expectOwnKeyOnly (where: string, spec: V1Pod['spec']): void {
  const fromSecret = secretVolumes(spec)
  expect(fromSecret.size, `${where}: volumes backed by ${IDENTITY_SECRET}`).toBe(1)
  expect(mountsAny(containerNamed(spec, 'identity-init'), fromSecret), `${where}: identity-init mounts the Secret`).toBe(true)
  for (const name of ['node', 'kubo', 'kubo-init']) {
    const container = containerNamed(spec, name)
    expect(container, `${where}: ${name}`).toBeDefined()
    expect(mountsAny(container, fromSecret), `${where}: ${name} mounts the Secret`).toBe(false)
  }
  // What the node does get: the init container's copy, in memory, read-only.
  const mount = containerNamed(spec, 'node')?.volumeMounts?.find(m => m.mountPath === '/etc/dawn/identity')
  expect(mount?.readOnly, `${where}: node identity mount read-only`).toBe(true)
  expect(spec?.volumes?.find(v => v.name === mount?.name)?.emptyDir?.medium, `${where}: identity volume medium`).toBe('Memory')
  expect(mountsAny(containerNamed(spec, 'kubo'), new Set([mount?.name ?? ''])), `${where}: kubo mounts the copy`).toBe(false)
}

describe('one key per pod', () => {
  it('mounts the identity Secret into the identity init container only', async () => {
    await dawn.create(networkManifest(ns, NET))
    await dawn.create(poolManifest(ns, POOL, NET, { replicas: 2 }))
    const set = await eventually(async () => await c.apps.readNamespacedStatefulSet({ namespace: ns, name: POOL }), { what: `StatefulSet ${POOL}` })

    // The Secret itself still holds every ordinal: only the mounts narrow it.
    const identity = secretTexts((await findSecret(c, ns, IDENTITY_SECRET))!)
    expect(Object.keys(identity).sort()).toEqual(['0.cert.json', '0.key', '1.cert.json', '1.key'])

    const spec = set.spec?.template.spec
    expect(spec?.initContainers?.map(x => x.name)).toEqual(['identity-init', 'kubo-init'])
    expectOwnKeyOnly('StatefulSet template', spec)
    const init = containerNamed(spec, 'identity-init')
    const env = new Map((init?.env ?? []).map(e => [e.name, e]))
    expect(env.get('POD_ORDINAL')?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']")
    expect(env.get('DAWN_POOL_KEY_FILE')?.value).toBe('/etc/dawn/pool-identity/$(POD_ORDINAL).key')
    expect(env.get('DAWN_POOL_CERT_FILE')?.value).toBe('/etc/dawn/pool-identity/$(POD_ORDINAL).cert.json')
  })

  it('has the StatefulSet controller create pods that pass Pod Security `restricted`, each labelled with its ordinal', async () => {
    const created = await eventually(async () => {
      const list = await pods()
      return list.length === 2 ? list : undefined
    }, {
      what: 'the StatefulSet controller to create 2 pods under Pod Security restricted',
      // A pod that Pod Security rejects shows up as a FailedCreate event on the StatefulSet.
      detail: async () => (await c.core.listNamespacedEvent({ namespace: ns })).items.map(e => `${e.reason ?? ''}: ${e.message ?? ''}`).join('\n')
    })
    for (const pod of created) {
      const name = pod.metadata?.name ?? ''
      expect(pod.metadata?.labels?.['apps.kubernetes.io/pod-index'], name).toBe(name.slice(`${POOL}-`.length))
      expectOwnKeyOnly(`pod ${name}`, pod.spec)
    }
  })
})
