// Routing of a network's alerts: an AlertmanagerConfig for prometheus-operator, and the
// same route as a plain alertmanager.yml. Both come from alertRoute(), so they match the
// same alerts and group them the same way.
import type { KubernetesObject } from '@kubernetes/client-node'
import { KINDS } from '../../api/group.ts'
import type { AlertMatcher, DawnNetwork } from '../../api/dawn-network.ts'
import { RenderInputError } from '../errors.ts'
import { ownerReference } from '../labels.ts'
import { MONITORING_RESOURCES, alertmanagerConfigName, monitoringApiVersion, monitoringLabels, networkCoordinates } from './common.ts'

/** The route of a network's alerts: its own alerts (namespace and network labels) and the user's matchers. */
export interface AlertRoute {
  receiver: string
  matchers: AlertMatcher[]
  groupBy: string[]
  groupWait: string
  groupInterval: string
  repeatInterval: string
  /** The webhook, when the receiver is one the operator defines. */
  webhook?: { urlSecretRef: { name: string, key: string }, sendResolved: boolean }
}

export function alertRoute (net: DawnNetwork): AlertRoute {
  const { name, namespace } = networkCoordinates(net)
  const am = net.spec.monitoring.alertmanagerConfig
  return {
    receiver: am.receiver.name,
    matchers: [
      { name: 'namespace', value: namespace, matchType: '=' },
      { name: 'network', value: name, matchType: '=' },
      ...am.matchers
    ],
    groupBy: [...am.groupBy],
    groupWait: am.groupWait,
    groupInterval: am.groupInterval,
    repeatInterval: am.repeatInterval,
    ...(am.receiver.webhook === undefined ? {} : { webhook: am.receiver.webhook })
  }
}

export type AlertmanagerConfig = KubernetesObject & {
  spec: {
    route: { receiver: string, groupBy: string[], groupWait: string, groupInterval: string, repeatInterval: string, matchers: AlertMatcher[] }
    receivers: Array<{ name: string, webhookConfigs: Array<{ urlSecret: { name: string, key: string }, sendResolved: boolean }> }>
  }
}

/**
 * `<network>-alerts`, or undefined when there is nothing to route to: an AlertmanagerConfig
 * can only route to receivers it defines, so it needs receiver.webhook.
 */
export function renderAlertmanagerConfig (net: DawnNetwork): AlertmanagerConfig | undefined {
  const route = alertRoute(net)
  if (route.webhook === undefined) return undefined
  const { name, namespace } = networkCoordinates(net)
  const r = MONITORING_RESOURCES.alertmanagerConfig
  return {
    apiVersion: monitoringApiVersion(r),
    kind: r.kind,
    metadata: { name: alertmanagerConfigName(name), namespace, labels: monitoringLabels(net), ownerReferences: [ownerReference(KINDS.network, net)] },
    spec: {
      route: {
        receiver: route.receiver,
        groupBy: route.groupBy,
        groupWait: route.groupWait,
        groupInterval: route.groupInterval,
        repeatInterval: route.repeatInterval,
        matchers: route.matchers
      },
      receivers: [{ name: route.receiver, webhookConfigs: [{ urlSecret: route.webhook.urlSecretRef, sendResolved: route.webhook.sendResolved }] }]
    }
  }
}

/** A matcher in Alertmanager's string form: `name="value"`. */
export function matcherString (m: AlertMatcher): string {
  return `${m.name}${m.matchType}${JSON.stringify(m.value)}`
}

export interface PlainAlertmanagerConfig {
  route: {
    receiver: string
    routes: Array<{ receiver: string, matchers: string[], group_by: string[], group_wait: string, group_interval: string, repeat_interval: string }>
  }
  receivers: Array<{ name: string, webhook_configs?: Array<{ url: string, send_resolved: boolean }> }>
}

/** Receives what no network route takes. */
export const PLAIN_DEFAULT_RECEIVER = 'dawn-unrouted'

/**
 * The AlertmanagerConfig of one network as a whole alertmanager.yml. With a webhook
 * receiver, `webhookUrl` is the URL its Secret holds (this function reads nothing); with
 * a named one, the receiver is an empty stub to merge with (or replace by) your own.
 */
export function renderPlainAlertmanagerConfig (net: DawnNetwork, input: { webhookUrl?: string } = {}): PlainAlertmanagerConfig {
  const route = alertRoute(net)
  if (route.webhook !== undefined && (input.webhookUrl === undefined || input.webhookUrl === '')) {
    throw new RenderInputError(`the receiver ${route.receiver} is a webhook: pass the URL held by Secret ${route.webhook.urlSecretRef.name}`)
  }
  const receiver = route.webhook === undefined
    ? { name: route.receiver }
    : { name: route.receiver, webhook_configs: [{ url: input.webhookUrl ?? '', send_resolved: route.webhook.sendResolved }] }
  return {
    route: {
      receiver: PLAIN_DEFAULT_RECEIVER,
      routes: [{
        receiver: route.receiver,
        matchers: route.matchers.map(matcherString),
        group_by: route.groupBy,
        group_wait: route.groupWait,
        group_interval: route.groupInterval,
        repeat_interval: route.repeatInterval
      }]
    },
    receivers: route.receiver === PLAIN_DEFAULT_RECEIVER ? [receiver] : [{ name: PLAIN_DEFAULT_RECEIVER }, receiver]
  }
}
