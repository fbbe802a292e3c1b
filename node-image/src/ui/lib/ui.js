// One import point for the page's libraries (bundled into /ui/vendor/ui-libs.js).
export { html, render, Fragment, createRef, useState, useEffect, useRef, useMemo, useCallback, useLayoutEffect, useReducer } from '/ui/vendor/ui-libs.js'
