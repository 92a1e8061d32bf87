/**
 * A throwaway PKI made with the real openssl at test time: a CA, a server certificate for
 * 127.0.0.1 / localhost and a client certificate, both signed by the CA, plus a second CA that
 * signed neither (to check that trust is really checked). P-256 keys: quick to make.
 */
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {requireBinary} from './servers.js'

export interface TestPki {
  caCert: string
  otherCaCert: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
}

export function makeTestPki(dir: string): TestPki {
  const openssl = requireBinary('openssl', 'openssl')
  const run = (...args: string[]) => execFileSync(openssl, args, {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']})
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const ca = (name: string) => run('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/CN=mon ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  ca('test-ca')
  ca('other-ca')
  const leaf = (name: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext)
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=mon ${name}`)
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'test-ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '30', '-extfile', `${name}.ext`)
  }
  leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'extendedKeyUsage=clientAuth\n')
  const at = (f: string) => join(dir, f)
  return {caCert: at('test-ca.pem'), otherCaCert: at('other-ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key')}
}
