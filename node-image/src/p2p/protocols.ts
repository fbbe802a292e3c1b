/** Protocol ids and topics; all are private to one network so two networks never mix. */
export interface NetworkProtocols {
  kad: string
  membership: string
  registrySync: string
  registryTopic: string
  announceTopic: string
  toolCall: string
  /** A warm call channel: one stream per caller→host peer carrying many calls (routing/call-channel*.ts). */
  toolCallChannel: string
  contentTopic: string
  /** A member's content manifest sent to a member that just joined. */
  contentManifest: string
  contentBlocks: string
  /** Calls carried hop by hop through members to a node no direct or relayed path reaches. */
  flood: string
  /** Room messages, receipts and typing notices (gossip) and room anti-entropy. */
  roomsTopic: string
  roomReceiptsTopic: string
  roomTypingTopic: string
  roomSync: string
  /** A direct message pushed to its other end (never gossiped). */
  dmPush: string
}

/**
 * The version in an id changes with its wire format, so nodes of different formats never
 * misread each other: they do not share that protocol at all (registry 2.0.0/sync 3.0.0 carry
 * listing decorations and templates; toolcall and flood 2.0.0 carry MCP context and event frames;
 * content-blocks 2.0.0 pipelines binary block frames on one stream).
 */
export function networkProtocols (network: string): NetworkProtocols {
  return {
    kad: `/dawn/${network}/kad/1.0.0`,
    membership: `/dawn/${network}/membership/1.0.0`,
    registrySync: `/dawn/${network}/registry-sync/3.0.0`,
    registryTopic: `/dawn/${network}/registry/2.0.0`,
    announceTopic: `/dawn/${network}/announce/1.0.0`,
    toolCall: `/dawn/${network}/toolcall/2.0.0`,
    toolCallChannel: `/dawn/${network}/toolcall-channel/1.0.0`,
    contentTopic: `/dawn/${network}/content/1.0.0`,
    contentManifest: `/dawn/${network}/content-manifest/1.0.0`,
    contentBlocks: `/dawn/${network}/content-blocks/2.0.0`,
    flood: `/dawn/${network}/flood/2.0.0`,
    roomsTopic: `/dawn/${network}/rooms/1.0.0`,
    roomReceiptsTopic: `/dawn/${network}/room-receipts/1.0.0`,
    roomTypingTopic: `/dawn/${network}/room-typing/1.0.0`,
    roomSync: `/dawn/${network}/room-sync/1.0.0`,
    dmPush: `/dawn/${network}/dm/1.0.0`
  }
}

/** Envelope `type` values; also the label values of the message metrics. */
export const MESSAGE_TYPES = ['membership.hello', 'registry.delta', 'registry.sync', 'peer.announce', 'toolcall.request', 'toolcall.response', 'toolcall.event', 'toolcall.channel', 'content.manifest', 'flood.request', 'flood.pong', 'room.message', 'room.receipt', 'room.typing', 'room.sync', 'room.dm'] as const
export type MessageType = typeof MESSAGE_TYPES[number]
