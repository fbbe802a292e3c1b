// N×N link matrices: what a fault should leave connected, and how a probe differs from it.
// Pure, so scenarios (any target) and the namespace faults share one meaning of "groups".

export type LinkMatrix = boolean[][]

/**
 * The links a partition leaves: i and j connect when some group holds both. Groups may
 * overlap (a bridge node sits in two); a node in no group is cut from everyone.
 */
export function groupsMatrix (size: number, groups: number[][]): LinkMatrix {
  for (const g of groups) {
    for (const i of g) if (!Number.isInteger(i) || i < 0 || i >= size) throw new RangeError(`node ${i} is not in 0..${size - 1}`)
  }
  return square(size, (i, j) => i === j || groups.some(g => g.includes(i) && g.includes(j)))
}

export function fullMatrix (size: number): LinkMatrix {
  return square(size, () => true)
}

/** Full connectivity except to and from the `down` nodes (killed, or not listening). */
export function withoutNodes (m: LinkMatrix, down: number[]): LinkMatrix {
  return m.map((row, i) => row.map((v, j) => i === j || (v && !down.includes(i) && !down.includes(j))))
}

/** Pairs i<j that the matrix cuts. */
export function cutPairs (m: LinkMatrix): Array<[number, number]> {
  const pairs: Array<[number, number]> = []
  for (let i = 0; i < m.length; i++) {
    for (let j = i + 1; j < m.length; j++) if (m[i]?.[j] !== true || m[j]?.[i] !== true) pairs.push([i, j])
  }
  return pairs
}

/** Cells where `actual` differs from `expected`, as "i->j: expected X, got Y". */
export function matrixDiff (expected: LinkMatrix, actual: LinkMatrix): string[] {
  const out: string[] = []
  for (let i = 0; i < expected.length; i++) {
    for (let j = 0; j < expected.length; j++) {
      const e = expected[i]?.[j]
      const a = actual[i]?.[j]
      if (e !== a) out.push(`${i}->${j}: expected ${e === true ? 'open' : 'cut'}, got ${a === true ? 'open' : a === false ? 'cut' : 'nothing'}`)
    }
  }
  return out
}

export function formatMatrix (m: LinkMatrix): string {
  const head = '    ' + m.map((_, j) => String(j).padStart(2)).join('')
  return [head, ...m.map((row, i) => String(i).padStart(3) + ' ' + row.map(v => (v ? ' ●' : ' ·')).join(''))].join('\n')
}

function square (size: number, f: (i: number, j: number) => boolean): LinkMatrix {
  return Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => f(i, j)))
}
