/**
 * Discrete-event queue: a binary min-heap on (time, insertion order), so events
 * at the same instant run in the order they were scheduled and a run is
 * reproducible.
 */
export interface SimEvent {
  time: number
  kind: number
  node: number
  from: number
  hops: number
}

export class EventQueue {
  private heap: SimEvent[] = []
  private seqs: number[] = []
  private seq = 0

  get size (): number {
    return this.heap.length
  }

  push (ev: SimEvent): void {
    const heap = this.heap
    const seqs = this.seqs
    let i = heap.length
    heap.push(ev)
    seqs.push(this.seq++)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(i, p)) break
      this.swap(i, p)
      i = p
    }
  }

  pop (): SimEvent | undefined {
    const heap = this.heap
    if (heap.length === 0) return undefined
    const top = heap[0]
    const last = heap.pop() as SimEvent
    const lastSeq = this.seqs.pop() as number
    if (heap.length > 0) {
      heap[0] = last
      this.seqs[0] = lastSeq
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && this.less(l, m)) m = l
        if (r < heap.length && this.less(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top
  }

  private less (i: number, j: number): boolean {
    const a = this.heap[i] as SimEvent
    const b = this.heap[j] as SimEvent
    return a.time < b.time || (a.time === b.time && (this.seqs[i] as number) < (this.seqs[j] as number))
  }

  private swap (i: number, j: number): void {
    const h = this.heap
    const s = this.seqs
    const t = h[i] as SimEvent
    h[i] = h[j] as SimEvent
    h[j] = t
    const u = s[i] as number
    s[i] = s[j] as number
    s[j] = u
  }
}
