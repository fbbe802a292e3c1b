// Shared by the chart tests: the value combinations they render, and helm.
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { helmOutput, runHelm, type HelmResult } from '../../operator/src/install/helm.ts'

export const CHARTS = resolve(import.meta.dirname, '..')
export const DAWN_CHART = join(CHARTS, 'dawn')
export const CRDS_CHART = join(CHARTS, 'dawn-crds')
export const RELEASE = 'dawn'
export const NAMESPACE = 'dawn-system'

const values = (name: string): string[] => ['--values', join(import.meta.dirname, 'values', `${name}.yaml`)]

/** The value combinations of the main chart: each is linted and has a golden rendering. */
export const CASES: Readonly<Record<string, readonly string[]>> = {
  defaults: [],
  'single-namespace': values('single-namespace'),
  'crds-off': values('crds-off'),
  'sample-network': values('sample'),
  'service-monitor': values('service-monitor'),
  'custom-image-resources': values('custom'),
  'network-policy': values('network-policy')
}

export async function template (args: readonly string[], chart = DAWN_CHART): Promise<string> {
  return await helmOutput(['template', RELEASE, chart, '--namespace', NAMESPACE, ...args])
}

export async function templateResult (args: readonly string[], chart = DAWN_CHART): Promise<HelmResult> {
  return await runHelm(['template', RELEASE, chart, '--namespace', NAMESPACE, ...args])
}

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [key: string]: unknown
}

export function objects (text: string): K8sObject[] {
  return parseAllDocuments(text).map(d => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null)
}

export function find (objs: K8sObject[], kind: string, name?: string): K8sObject {
  const hit = objs.find(o => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (hit === undefined) throw new Error(`no ${kind}${name === undefined ? '' : ` ${name}`} in: ${objs.map(o => `${o.kind}/${o.metadata.name}`).join(', ')}`)
  return hit
}
