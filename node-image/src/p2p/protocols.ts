/** Protocol ids and topics; all are private to one network so two networks never mix. */
export interface NetworkProtocols {
  kad: string
  membership: string
  registrySync: string
  registryTopic: string
  announceTopic: string
  toolCall: string
  contentTopic: string
  contentBlocks: string
  /** Calls carried hop by hop through members to a node no direct or relayed path reaches. */
  flood: string
}

export function networkProtocols (network: string): NetworkProtocols {
  return {
    kad: `/dawn/${network}/kad/1.0.0`,
    membership: `/dawn/${network}/membership/1.0.0`,
    registrySync: `/dawn/${network}/registry-sync/2.0.0`,
    registryTopic: `/dawn/${network}/registry/1.0.0`,
    announceTopic: `/dawn/${network}/announce/1.0.0`,
    toolCall: `/dawn/${network}/toolcall/1.0.0`,
    contentTopic: `/dawn/${network}/content/1.0.0`,
    contentBlocks: `/dawn/${network}/content-blocks/1.0.0`,
    flood: `/dawn/${network}/flood/1.0.0`
  }
}

/** Envelope `type` values; also the label values of the message metrics. */
export const MESSAGE_TYPES = ['membership.hello', 'registry.delta', 'registry.sync', 'peer.announce', 'toolcall.request', 'toolcall.response', 'toolcall.event', 'content.manifest', 'content.block.request', 'content.block.response', 'flood.request', 'flood.pong'] as const
export type MessageType = typeof MESSAGE_TYPES[number]
