// Shared bits of the runtime's control-plane tests.
import { inject } from 'vitest'
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node'
import { KubeClient, type ResourceRef } from '../../../src/runtime/kube-client.ts'
import { Applier } from '../../../src/runtime/apply.ts'
import { eventually, uniqueName } from '../../../../test/controlplane/kube.ts'
// Brings in the typing of inject('kubeconfig') (a `ProvidedContext` augmentation).
import type {} from '../../../../test/controlplane/global-setup.ts'

export { eventually, uniqueName }

export function kubeClientFromFile (path: string, init: { requestTimeoutMs?: number } = {}): KubeClient {
  const kc = new KubeConfig()
  kc.loadFromFile(path)
  return new KubeClient({ kubeConfig: kc, ...init })
}

/** A client for the control plane of this run (globalSetup). */
export function kubeClient (init: { requestTimeoutMs?: number } = {}): KubeClient {
  return kubeClientFromFile(inject('kubeconfig'), init)
}

export const tick = async (ms = 0): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }

export async function createNamespace (client: KubeClient, prefix: string): Promise<string> {
  const name = uniqueName(prefix)
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } })
  return name
}

export async function deleteNamespace (client: KubeClient, name: string): Promise<void> {
  await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch(() => {})
}

export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' }
export const PODTEMPLATES: ResourceRef = { group: '', version: 'v1', plural: 'podtemplates', kind: 'PodTemplate' }

/** A namespaced test CRD `widgets.<group>` with a status subresource. */
export interface Widget extends KubernetesObject {
  spec?: { size?: number, color?: string }
  status?: { phase?: string, observedGeneration?: number, conditions?: Array<{ type: string, status: string, reason?: string, message?: string, lastTransitionTime?: string }> }
}

export async function installWidgetCrd (client: KubeClient, group = 'test.dawn.dev'): Promise<ResourceRef> {
  const applier = new Applier({ client })
  await applier.apply({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
      versions: [{
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string' } } },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string' },
                  observedGeneration: { type: 'integer' },
                  conditions: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['type'],
                    items: {
                      type: 'object',
                      required: ['type', 'status'],
                      properties: { type: { type: 'string' }, status: { type: 'string' }, reason: { type: 'string' }, message: { type: 'string' }, lastTransitionTime: { type: 'string', format: 'date-time' } }
                    }
                  }
                }
              }
            }
          }
        }
      }]
    }
  } as KubernetesObject)
  await eventually(async () => {
    const crd = await client.request<{ status?: { conditions?: Array<{ type: string, status: string }> } }>({ method: 'GET', path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}` })
    return crd.status?.conditions?.some(c => c.type === 'Established' && c.status === 'True') === true
  }, { what: `CRD widgets.${group} to be established` })
  // Discovery of the new group can lag the Established condition a little.
  await eventually(async () => { await client.request({ method: 'GET', path: `/apis/${group}/v1/widgets` }); return true }, { what: 'widgets to be served' })
  return { group, version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true }
}
