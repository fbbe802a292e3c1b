// Bundler input for /ui/vendor/ui-libs.js (scripts/ui-vendor.ts): the page's component,
// markdown, sanitizer and IndexedDB libraries, served from the node with no CDN.
import { h, render, Fragment, createRef } from 'preact'
import { useState, useEffect, useRef, useMemo, useCallback, useLayoutEffect, useReducer } from 'preact/hooks'
import htm from 'htm'
import { Marked } from 'marked'
import DOMPurify from 'dompurify'
import { openDB, deleteDB } from 'idb'

export const html = htm.bind(h)
export { h, render, Fragment, createRef, useState, useEffect, useRef, useMemo, useCallback, useLayoutEffect, useReducer, Marked, DOMPurify, openDB, deleteDB }
