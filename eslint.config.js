import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// What the chat page's modules use from the browser.
const BROWSER_GLOBALS = ['window', 'document', 'location', 'navigator', 'fetch', 'Headers', 'Request', 'Response', 'URL', 'URLSearchParams',
  'Blob', 'File', 'FormData', 'XMLHttpRequest', 'TextDecoderStream', 'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal', 'localStorage',
  'sessionStorage', 'matchMedia', 'IDBKeyRange', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'requestAnimationFrame', 'cancelAnimationFrame', 'performance', 'PerformanceObserver', 'console', 'crypto', 'Node', 'HTMLElement',
  'DataTransfer', 'structuredClone', 'btoa', 'atob', 'CSS', 'getComputedStyle', 'MessageChannel', 'Event', 'CustomEvent']

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', 'node-image/src/ui/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // Numbers and booleans in template strings read fine in log and error messages.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Fire-and-forget is explicit with `void`.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // libp2p's ServiceMap needs type aliases, not interfaces.
      '@typescript-eslint/consistent-type-definitions': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }]
    }
  },
  {
    // Tests index into fixtures they just built; a `!` there is clearer than a guard.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      // vitest's asymmetric matchers (expect.stringMatching) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off'
    }
  },
  {
    // @kubernetes/client-node models are classes; plain object literals are how its API is used.
    files: ['operator/**/*.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-class-instance-assignment': 'off' }
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked
  },
  {
    // The web UI is plain browser JavaScript with no build step.
    files: ['**/src/ui/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: Object.fromEntries(BROWSER_GLOBALS.map(g => [g, 'readonly']))
    }
  }
)
