import { describe, it, expect } from 'vitest'
import { parse, stringify } from 'yaml'
import { alertRoute, matcherString, renderAlertmanagerConfig, renderPlainAlertmanagerConfig } from '../../../../src/render/monitoring/alertmanager.ts'
import { RenderInputError } from '../../../../src/render/errors.ts'
import { network } from '../fixtures.ts'

const webhook = { receiver: { name: 'mesh-oncall', webhook: { urlSecretRef: { name: 'oncall-webhook' } } } }

describe('renderAlertmanagerConfig', () => {
  it('routes the network\'s alerts (namespace and network) and the user\'s matchers to a webhook from a Secret', () => {
    const net = network({ monitoring: { labels: { alertmanagerConfig: 'dawn' }, alertmanagerConfig: { ...webhook, groupBy: ['alertname'], matchers: [{ name: 'severity', value: 'critical' }], repeatInterval: '1h' } } })
    expect(renderAlertmanagerConfig(net)).toEqual({
      apiVersion: 'monitoring.coreos.com/v1alpha1',
      kind: 'AlertmanagerConfig',
      metadata: {
        name: 'demo-alerts',
        namespace: 'mesh',
        labels: { alertmanagerConfig: 'dawn', 'app.kubernetes.io/name': 'dawn-network', 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo' },
        ownerReferences: [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', name: 'demo', uid: 'uid-network-demo', controller: true, blockOwnerDeletion: true }]
      },
      spec: {
        route: {
          receiver: 'mesh-oncall',
          groupBy: ['alertname'],
          groupWait: '30s',
          groupInterval: '5m',
          repeatInterval: '1h',
          matchers: [
            { name: 'namespace', value: 'mesh', matchType: '=' },
            { name: 'network', value: 'demo', matchType: '=' },
            { name: 'severity', value: 'critical', matchType: '=' }
          ]
        },
        receivers: [{ name: 'mesh-oncall', webhookConfigs: [{ urlSecret: { name: 'oncall-webhook', key: 'url' }, sendResolved: true }] }]
      }
    })
  })

  it('renders nothing without a webhook: an AlertmanagerConfig can only route to receivers it defines', () => {
    expect(renderAlertmanagerConfig(network())).toBeUndefined()
  })
})

describe('renderPlainAlertmanagerConfig', () => {
  it('is the same route in alertmanager.yml, with the webhook URL the Secret holds', () => {
    const net = network({ monitoring: { alertmanagerConfig: { ...webhook, matchers: [{ name: 'severity', value: 'warning|critical', matchType: '=~' }] } } })
    const plain = renderPlainAlertmanagerConfig(net, { webhookUrl: 'http://127.0.0.1:9999/hook' })
    expect(plain).toEqual({
      route: {
        receiver: 'dawn-unrouted',
        routes: [{
          receiver: 'mesh-oncall',
          matchers: ['namespace="mesh"', 'network="demo"', 'severity=~"warning|critical"'],
          group_by: ['alertname', 'namespace', 'network'],
          group_wait: '30s',
          group_interval: '5m',
          repeat_interval: '4h'
        }]
      },
      receivers: [{ name: 'dawn-unrouted' }, { name: 'mesh-oncall', webhook_configs: [{ url: 'http://127.0.0.1:9999/hook', send_resolved: true }] }]
    })
    expect(parse(stringify(plain))).toEqual(plain)
    // The route's matchers are the AlertmanagerConfig's.
    expect(plain.route.routes[0]!.matchers).toEqual(alertRoute(net).matchers.map(matcherString))
  })

  it('needs the webhook URL for a webhook receiver, and routes to a named receiver as is', () => {
    expect(() => renderPlainAlertmanagerConfig(network({ monitoring: { alertmanagerConfig: webhook } }))).toThrow(RenderInputError)
    const named = renderPlainAlertmanagerConfig(network({ monitoring: { alertmanagerConfig: { receiver: { name: 'team-pager' } } } }))
    expect(named.route.routes[0]!.receiver).toBe('team-pager')
    expect(named.receivers).toEqual([{ name: 'dawn-unrouted' }, { name: 'team-pager' }])
  })

  it('quotes matcher values', () => {
    expect(matcherString({ name: 'summary', value: 'a "b" \\ c', matchType: '!=' })).toBe('summary!="a \\"b\\" \\\\ c"')
  })
})
