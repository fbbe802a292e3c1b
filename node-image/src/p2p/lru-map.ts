/**
 * A Map that holds at most `max` entries and forgets the least recently set one
 * first. For state keyed by something a peer chooses (peer ids, CIDs), so a peer
 * can never grow it without bound.
 */
export class LruMap<K, V> {
  private readonly max: number
  private readonly map = new Map<K, V>()

  constructor (max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('LruMap max must be a positive integer')
    this.max = max
  }

  get size (): number {
    return this.map.size
  }

  has (key: K): boolean {
    return this.map.has(key)
  }

  entries (): IterableIterator<[K, V]> {
    return this.map.entries()
  }

  keys (): IterableIterator<K> {
    return this.map.keys()
  }

  get (key: K): V | undefined {
    return this.map.get(key)
  }

  set (key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next()
      if (oldest.done === true) break
      this.map.delete(oldest.value)
    }
  }

  delete (key: K): boolean {
    return this.map.delete(key)
  }
}
