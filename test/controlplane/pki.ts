// Certificates and kubeconfigs for the local Kubernetes tiers, made with openssl.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from '../support/processes.ts'

export const SERVICE_CIDR = '10.96.0.0/16'
/** The `kubernetes` Service's ClusterIP: the first address of SERVICE_CIDR. */
export const SERVICE_IP = '10.96.0.1'

export interface PkiOptions {
  /** Extra subjectAltNames of the apiserver certificate, e.g. `IP:10.250.0.1`. */
  apiserverSans?: string[]
  /** Extra client certificates: file name → subject (`/O=group/CN=user`). */
  clients?: Record<string, string>
}

/** CA, apiserver serving cert, admin and controller-manager client certs, service-account key pair. */
export async function generatePki (pki: string, opts: PkiOptions = {}): Promise<void> {
  await mkdir(pki, { recursive: true })
  const ossl = async (...args: string[]): Promise<void> => { await run('openssl', args, pki) }
  const ecKey = async (name: string): Promise<void> => { await ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`) }
  const serial = (): string => `0x${randomBytes(12).toString('hex')}`

  await ecKey('ca')
  await ossl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=dawn-test-ca', '-days', '3650', '-set_serial', serial(),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature', '-out', 'ca.crt')

  const sign = async (name: string, subject: string, ext: string): Promise<void> => {
    await ecKey(name)
    await ossl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`)
    await writeFile(join(pki, `${name}.ext`), ext)
    await ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial(),
      '-days', '825', '-extfile', `${name}.ext`, '-out', `${name}.crt`)
    await rm(join(pki, `${name}.csr`))
    await rm(join(pki, `${name}.ext`))
  }
  const sans = ['IP:127.0.0.1', 'IP:::1', `IP:${SERVICE_IP}`, 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local', ...(opts.apiserverSans ?? [])]
  await sign('apiserver', '/CN=kube-apiserver',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`)
  const client = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
  const clients: Record<string, string> = {
    admin: '/O=system:masters/CN=dawn-admin',
    'controller-manager': '/CN=system:kube-controller-manager',
    ...opts.clients
  }
  for (const [name, subject] of Object.entries(clients)) await sign(name, subject, client)

  // Service-account token signing pair (RS256, what every client expects).
  await ossl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key')
  await ossl('pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub')
}

/** A kubeconfig for `server` with the client certificate `<pki>/<certName>.{crt,key}`. */
export async function kubeconfig (pki: string, server: string, user: string, certName: string): Promise<string> {
  const b64 = async (f: string): Promise<string> => (await readFile(join(pki, f))).toString('base64')
  return `apiVersion: v1
kind: Config
clusters:
- name: dawn-test
  cluster:
    server: ${server}
    certificate-authority-data: ${await b64('ca.crt')}
users:
- name: ${user}
  user:
    client-certificate-data: ${await b64(`${certName}.crt`)}
    client-key-data: ${await b64(`${certName}.key`)}
contexts:
- name: ${user}@dawn-test
  context:
    cluster: dawn-test
    user: ${user}
    namespace: default
current-context: ${user}@dawn-test
`
}
