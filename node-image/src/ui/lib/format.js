// How the page writes ids and times, in one place.
export const shortId = id => id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
export const clock = at => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
