// What the main chart renders by default and with each switch: security defaults, the
// operator's flags, and objects that appear only when asked for.
import { describe, it, expect } from 'vitest'
import { NONROOT_UID } from '../../operator/src/render/security.ts'
import { LABELS, NODE_APP } from '../../operator/src/render/labels.ts'
import { DEFAULT_INSTALL } from '../../operator/src/install/install-manifest.ts'
import { CASES, NAMESPACE, find, objects, template, type K8sObject } from './support.ts'

interface Container { name: string, image: string, args: string[], ports: Array<{ name: string, containerPort: number }>, securityContext: Record<string, unknown>, resources: unknown, livenessProbe: unknown, readinessProbe: unknown }
interface PodSpec { automountServiceAccountToken?: boolean, securityContext: Record<string, unknown>, containers: Container[], serviceAccountName: string }
const podSpec = (objs: K8sObject[]): PodSpec => (find(objs, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec
const kinds = (objs: K8sObject[]): string[] => objs.map(o => o.kind)
const flag = (args: string[], name: string): string | undefined => args.includes(name) ? args[args.indexOf(name) + 1] : undefined

describe('charts/dawn defaults', () => {
  it('runs the operator restricted: non-root 65532, read-only root, no capabilities, RuntimeDefault seccomp', async () => {
    const pod = podSpec(objects(await template(CASES.defaults!)))
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: NONROOT_UID, runAsGroup: NONROOT_UID, seccompProfile: { type: 'RuntimeDefault' } })
    expect(pod.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }
    })
  })

  it('mounts the ServiceAccount token only into the operator pods', async () => {
    const objs = objects(await template(CASES.defaults!))
    expect(find(objs, 'ServiceAccount').automountServiceAccountToken).toBe(false)
    expect(podSpec(objs).automountServiceAccountToken).toBe(true)
    expect(podSpec(objs).serviceAccountName).toBe(find(objs, 'ServiceAccount').metadata.name)
  })

  it('is what manifests/install.yaml promises: image, replicas, leader election, metrics port, probes, resources', async () => {
    const objs = objects(await template(CASES.defaults!))
    const deploy = find(objs, 'Deployment', 'dawn-operator')
    expect((deploy.spec as { replicas: number }).replicas).toBe(DEFAULT_INSTALL.replicas)
    const c = podSpec(objs).containers[0]!
    expect(c.image).toBe(DEFAULT_INSTALL.image)
    expect(flag(c.args, '--leader-elect')).toBe('true')
    expect(flag(c.args, '--metrics-port')).toBe('8080')
    expect(flag(c.args, '--lease-name')).toBe('dawn-operator')
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }])
    expect(c.livenessProbe).toEqual({ httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10 })
    expect(c.readinessProbe).toEqual({ httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5 })
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } })
    const svc = find(objs, 'Service', 'dawn-operator-metrics')
    expect(svc.spec).toEqual({ selector: { 'app.kubernetes.io/name': 'dawn-operator', 'app.kubernetes.io/instance': 'dawn' }, ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }] })
    expect(find(objs, 'PodDisruptionBudget').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: svc.spec && (svc.spec as { selector: unknown }).selector } })
  })

  it('renders no Namespace, NetworkPolicy, ServiceMonitor or sample unless asked', async () => {
    const k = kinds(objects(await template(CASES.defaults!)))
    for (const absent of ['Namespace', 'NetworkPolicy', 'ServiceMonitor', 'DawnNetwork', 'DawnNode', 'DawnAgent']) expect(k).not.toContain(absent)
    expect(k.filter(x => x === 'CustomResourceDefinition')).toHaveLength(3)
  })

  it('crds.install=false leaves the CRDs out; they are kept on uninstall otherwise', async () => {
    expect(kinds(objects(await template(CASES['crds-off']!)))).not.toContain('CustomResourceDefinition')
    for (const crd of objects(await template(CASES.defaults!)).filter(o => o.kind === 'CustomResourceDefinition')) {
      expect(crd.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' })
    }
  })

  it('namespace.create renders the release namespace, Pod Security restricted, kept on uninstall', async () => {
    const ns = find(objects(await template(['--set', 'namespace.create=true'])), 'Namespace')
    expect(ns.metadata.name).toBe(NAMESPACE)
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
    expect(ns.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' })
  })

  it('serviceMonitor.enabled renders a ServiceMonitor on the metrics Service', async () => {
    const objs = objects(await template(CASES['service-monitor']!))
    const sm = find(objs, 'ServiceMonitor')
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1')
    expect(sm.metadata.labels?.release).toBe('prometheus')
    const spec = sm.spec as { selector: { matchLabels: unknown }, endpoints: Array<{ port: string, interval: string }> }
    expect(spec.selector.matchLabels).toEqual((find(objs, 'Service').spec as { selector: unknown }).selector)
    expect(spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }])
  })

  it('sample.enabled creates a network, a pool and an echo agent as post-install hooks where the operator looks', async () => {
    for (const [args, ns] of [[CASES['sample-network']!, NAMESPACE], [[...CASES['sample-network']!, ...CASES['single-namespace']!], 'team-a']] as const) {
      const objs = objects(await template(args)).filter(o => o.apiVersion === 'mesh.dawn.dev/v1alpha1')
      expect(objs.map(o => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['DawnAgent/demo-echo', 'DawnNetwork/demo', 'DawnNode/demo-pool'])
      for (const o of objs) {
        expect(o.metadata.namespace).toBe(ns)
        expect(o.metadata.annotations?.['helm.sh/hook']).toBe('post-install')
      }
      expect(find(objs, 'DawnAgent').spec).toEqual({ networkRef: { name: 'demo' }, builtin: { name: 'echo' } })
    }
  })

  it('the NetworkPolicy admits only the metrics port and lets out only the API server, the nodes\' HTTP port and DNS', async () => {
    const np = find(objects(await template(CASES['network-policy']!)), 'NetworkPolicy')
    const spec = np.spec as { policyTypes: string[], ingress: Array<{ ports: unknown[], from?: unknown[] }>, egress: Array<{ ports: Array<{ port: number, protocol: string }>, to?: unknown[] }> }
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress'])
    expect(spec.ingress).toEqual([{ ports: [{ port: 8080, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }])
    expect(spec.egress.map(e => e.ports.map(p => `${p.protocol}/${p.port}`))).toEqual([['TCP/443', 'TCP/6443'], ['TCP/8080'], ['UDP/53', 'TCP/53']])
    expect(spec.egress[0]!.to).toEqual([{ ipBlock: { cidr: '172.18.0.2/32' } }])
    // The mesh check reaches the pods the operator renders, in any namespace: their name label.
    expect(spec.egress[1]!.to).toEqual([{ namespaceSelector: {}, podSelector: { matchLabels: { [LABELS.name]: NODE_APP } } }])
  })

  it('custom image and resources reach the Deployment; a digest wins over the tag', async () => {
    const c = podSpec(objects(await template(CASES['custom-image-resources']!))).containers[0]!
    expect(c.image).toBe('registry.example.com/platform/dawn-operator:0.1.0-rc.1')
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } })
    const digest = `sha256:${'a'.repeat(64)}`
    const d = podSpec(objects(await template(['--set', `image.digest=${digest}`]))).containers[0]!
    expect(d.image).toBe(`dawn/operator@${digest}`)
  })

  it('pod labels cannot break the selector', async () => {
    const objs = objects(await template(['--set', 'podLabels.app\\.kubernetes\\.io/instance=other', '--set', 'podLabels.team=a']))
    const tpl = (find(objs, 'Deployment').spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels
    expect(tpl['app.kubernetes.io/instance']).toBe('dawn')
    expect(tpl.team).toBe('a')
  })
})
