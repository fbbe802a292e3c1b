// The local-volume provisioner of the single-node cluster (test/cluster/local-provisioner.ts)
// against a real kube-apiserver + kube-controller-manager. There is no scheduler and no kubelet
// here: the test writes `volume.kubernetes.io/selected-node` itself, as the scheduler would for a
// WaitForFirstConsumer claim, and no Node object exists: kcm's PV controller binds a pre-bound PV
// without one.
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { CoreV1Api, PatchStrategy, StorageV1Api, setHeaderOptions, type V1PersistentVolume, type V1PersistentVolumeClaim } from '@kubernetes/client-node'
import { inject } from 'vitest'
import { loadKubeConfig, uniqueName, eventually, isNotFound } from './kube.ts'
import {
  createLocalProvisioner, storageClassManifest, PROVISIONER_NAME, STORAGE_CLASS_NAME,
  type Decision, type LocalProvisioner
} from '../cluster/local-provisioner.ts'

const SELECTED_NODE = 'volume.kubernetes.io/selected-node'
const STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner'
const NODE = 'dawn-test-node'

describe('local-volume provisioner (real kube-apiserver + kube-controller-manager)', () => {
  const kc = loadKubeConfig()
  const core = kc.makeApiClient(CoreV1Api)
  const storage = kc.makeApiClient(StorageV1Api)
  const ns = uniqueName('lvp')
  const otherClass = uniqueName('dawn-other')
  const decisions: Decision[] = []
  const logs: string[] = []
  let volumesDir = ''
  let outsideDir = ''
  let provisioner: LocalProvisioner | undefined

  const claim = (name: string, className: string, node?: string): V1PersistentVolumeClaim => ({
    metadata: { name, ...(node !== undefined ? { annotations: { [SELECTED_NODE]: node } } : {}) },
    spec: { storageClassName: className, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } }
  })
  const readClaim = async (name: string): Promise<V1PersistentVolumeClaim> => await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name })
  const readVolume = async (name: string): Promise<V1PersistentVolume | undefined> => {
    try { return await core.readPersistentVolume({ name }) } catch (e) { if (isNotFound(e)) return undefined; throw e }
  }
  const decided = (key: string, action: Decision['action']): Decision | undefined =>
    decisions.findLast(d => d.key === key && d.action === action)
  const volumesOfNs = async (): Promise<V1PersistentVolume[]> =>
    (await core.listPersistentVolume()).items.filter(v => v.spec?.claimRef?.namespace === ns)
  const state = async (): Promise<string> =>
    `volumes: ${(await volumesOfNs()).map(v => `${v.metadata?.name} ${v.status?.phase} claim=${v.spec?.claimRef?.name}`).join('; ')}\n` +
    `provisioner log:\n  ${logs.slice(-15).join('\n  ')}`
  const bound = async (name: string): Promise<V1PersistentVolumeClaim> => await eventually(async () => {
    const c = await readClaim(name)
    return c.status?.phase === 'Bound' ? c : undefined
  }, { what: `kcm to bind claim ${name}`, detail: state })

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } })
    // A class left by an earlier run against a reused control plane would carry old settings.
    await storage.deleteStorageClass({ name: STORAGE_CLASS_NAME }).catch(() => {})
    await storage.createStorageClass({ body: storageClassManifest() })
    await storage.createStorageClass({
      body: { metadata: { name: otherClass }, provisioner: 'example.invalid/other', volumeBindingMode: 'WaitForFirstConsumer' }
    })
    volumesDir = await mkdtemp(join(tmpdir(), 'dawn-lvp-'))
    outsideDir = await mkdtemp(join(tmpdir(), 'dawn-lvp-outside-'))
    provisioner = createLocalProvisioner({
      kubeconfigPath: inject('kubeconfig'), nodeName: NODE, volumesDir,
      log: m => logs.push(m), onDecision: d => decisions.push(d)
    })
    await provisioner.start()
  })

  afterAll(async () => {
    await provisioner?.stop()
    await core.deleteNamespace({ name: ns }).catch(() => {})
    // Nothing reclaims volumes once the provisioner is stopped.
    for (const v of await volumesOfNs().catch(() => [])) await core.deletePersistentVolume({ name: v.metadata!.name! }).catch(() => {})
    await storage.deleteStorageClass({ name: STORAGE_CLASS_NAME }).catch(() => {})
    await storage.deleteStorageClass({ name: otherClass }).catch(() => {})
    await rm(volumesDir, { recursive: true, force: true })
    await rm(outsideDir, { recursive: true, force: true })
  })

  it('the class is the default, WaitForFirstConsumer, Delete, external provisioner', async () => {
    const cls = await storage.readStorageClass({ name: STORAGE_CLASS_NAME })
    expect(cls.provisioner).toBe(PROVISIONER_NAME)
    expect(cls.volumeBindingMode).toBe('WaitForFirstConsumer')
    expect(cls.reclaimPolicy).toBe('Delete')
    expect(cls.allowVolumeExpansion).toBe(false)
    expect(cls.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class']).toBe('true')
  })

  it('waits for the selected node, then provisions a directory + pre-bound PV that kcm binds', async () => {
    const created = await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('data', STORAGE_CLASS_NAME) })
    const uid = created.metadata!.uid!
    const pvName = `pvc-${uid}`

    // kcm's PV controller looked at the claim and, WaitForFirstConsumer without a selected
    // node, only reported it (it hands claims to external provisioners after the scheduler's pick).
    await eventually(async () => (await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=data' }))
      .items.some(e => e.reason === 'WaitForFirstConsumer'), { what: 'kcm to report WaitForFirstConsumer for claim data' })
    await eventually(async () => decided(`${ns}/data`, 'skipped')?.reason.includes('no selected node'), { what: 'the provisioner to look at claim data', detail: state })
    expect((await readClaim('data')).metadata?.annotations?.[STORAGE_PROVISIONER]).toBeUndefined()
    expect(await readVolume(pvName)).toBeUndefined()

    // What the scheduler does once it has placed a pod that uses the claim.
    await core.patchNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data', body: { metadata: { annotations: { [SELECTED_NODE]: NODE } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))

    const pv = await eventually(async () => await readVolume(pvName), { what: `PV ${pvName}`, detail: state })
    const dir = join(volumesDir, pvName)
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(PROVISIONER_NAME)
    expect(pv.spec?.claimRef).toMatchObject({ namespace: ns, name: 'data', uid })
    expect(pv.spec?.local?.path).toBe(dir)
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] }
    ])
    expect(pv.spec?.capacity).toEqual({ storage: '1Mi' })
    expect(pv.spec?.accessModes).toEqual(['ReadWriteOnce'])
    expect(pv.spec?.storageClassName).toBe(STORAGE_CLASS_NAME)
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete')
    expect(pv.spec?.volumeMode).toBe('Filesystem')
    const st = await stat(dir)
    expect(st.isDirectory()).toBe(true)
    expect(st.mode & 0o777).toBe(0o755)

    const c = await bound('data')
    expect(c.spec?.volumeName).toBe(pvName)
    await eventually(async () => (await readVolume(pvName))?.status?.phase === 'Bound', { what: `PV ${pvName} Bound`, detail: state })
  })

  it('leaves claims of another class and of another node alone', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('foreign', otherClass, NODE) })
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('elsewhere', STORAGE_CLASS_NAME, 'some-other-node') })
    const later = await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('later', STORAGE_CLASS_NAME, NODE) })

    // Decisions prove the provisioner examined each claim (no "nothing happened for a while").
    const foreign = await eventually(async () => decided(`${ns}/foreign`, 'skipped'), { what: 'a decision on claim foreign', detail: state })
    expect(foreign.reason).toMatch(/example\.invalid\/other/)
    const elsewhere = await eventually(async () => decided(`${ns}/elsewhere`, 'skipped'), { what: 'a decision on claim elsewhere', detail: state })
    expect(elsewhere.reason).toMatch(/selected node some-other-node/)
    await eventually(async () => decided(`${ns}/later`, 'provisioned'), { what: 'claim later provisioned', detail: state })
    await bound('later')

    // kcm hands any WaitForFirstConsumer claim with a selected node to the class's provisioner,
    // whichever node: telling nodes apart is the provisioner's job.
    await eventually(async () => (await readClaim('elsewhere')).metadata?.annotations?.[STORAGE_PROVISIONER] === PROVISIONER_NAME,
      { what: 'kcm to hand claim elsewhere to our provisioner' })
    expect(decided(`${ns}/foreign`, 'provisioned')).toBeUndefined()
    expect(decided(`${ns}/elsewhere`, 'provisioned')).toBeUndefined()
    const claimsWithVolumes = (await volumesOfNs()).map(v => v.spec?.claimRef?.name).sort()
    expect(claimsWithVolumes).toEqual(['data', 'later'])
    expect((await readdir(volumesDir)).sort()).toEqual([`pvc-${(await readClaim('data')).metadata!.uid!}`, `pvc-${later.metadata!.uid!}`].sort())
  })

  it('deletes the directory and the PV once the claim is gone (reclaim policy Delete)', async () => {
    const pvName = (await readClaim('data')).spec!.volumeName!
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' })
    await eventually(async () => (await readVolume(pvName)) === undefined, { what: `PV ${pvName} to be deleted`, timeoutMs: 60_000, detail: state })
    expect(existsSync(join(volumesDir, pvName))).toBe(false)
    expect(decided(pvName, 'deleted')?.reason).toContain(join(volumesDir, pvName))
  })

  it('never deletes a Released volume whose path lies outside the volumes dir', async () => {
    // Ours by annotation, but its path was changed (or forged) to point elsewhere.
    const name = uniqueName('pvc-forged')
    await core.createPersistentVolume({
      body: {
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER_NAME } },
        spec: {
          capacity: { storage: '1Mi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: STORAGE_CLASS_NAME,
          // A claim that does not exist: kcm marks the volume Released.
          claimRef: { namespace: ns, name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' },
          local: { path: outsideDir },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] }] } }
        }
      }
    })
    const d = await eventually(async () => decisions.findLast(x => x.key === name && x.reason.startsWith('refusing')),
      { what: `the provisioner to refuse ${name}`, detail: state })
    expect(d.action).toBe('skipped')
    expect((await readVolume(name))?.status?.phase).toBe('Released')
    expect(existsSync(outsideDir)).toBe(true)
  })
})
