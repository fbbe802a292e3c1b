// A small observable store: views subscribe with a selector and re-render only when
// what they select changes (by identity), so a room message does not redraw the agent list.
import { useEffect, useReducer, useRef } from '../lib/ui.js'

export function createStore (initial) {
  let state = initial
  const subscribers = new Set()
  return {
    get: () => state,
    /** Shallow merge; a function gets the current state. */
    set (patch) {
      const next = typeof patch === 'function' ? patch(state) : patch
      state = { ...state, ...next }
      for (const fn of subscribers) fn(state)
    },
    subscribe (fn) {
      subscribers.add(fn)
      return () => subscribers.delete(fn)
    }
  }
}

export function useSelect (store, select) {
  const [, force] = useReducer(n => n + 1, 0)
  const selectRef = useRef(select)
  selectRef.current = select
  const value = select(store.get())
  const last = useRef(value)
  last.current = value
  useEffect(() => store.subscribe(state => {
    if (selectRef.current(state) !== last.current) force()
  }), [store])
  return value
}
