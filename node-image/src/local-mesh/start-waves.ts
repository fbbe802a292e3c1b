import type { NodeProcess } from './node-process.ts'

export interface StartWavesInit {
  /** Nodes spawned at a time. */
  wave: number
  /** How long each wave may take to become ready before the next one starts anyway. */
  waveTimeoutMs: number
  /** Called after each wave with the number spawned so far. */
  onWave?: (started: number) => void
}

/**
 * Spawns `procs` a wave at a time, the next once the last one is ready (or its time is
 * up). Start-up is CPU-bound (about 1.6 s of CPU per node): a hundred nodes spawned at
 * once on two cores keep every event loop stalled for minutes, their handshakes time
 * out and are redone, and the mesh does not form. The last wave is not waited for.
 */
export async function startInWaves (procs: NodeProcess[], init: StartWavesInit): Promise<void> {
  const wave = Math.max(1, init.wave)
  for (let i = 0; i < procs.length; i += wave) {
    const batch = procs.slice(i, i + wave)
    for (const p of batch) p.start()
    if (i + wave < procs.length) await Promise.all(batch.map(async p => { await p.waitReady(init.waveTimeoutMs).catch(() => {}) }))
    init.onWave?.(Math.min(procs.length, i + wave))
  }
}
