#!/usr/bin/env node
import { runCommand } from './run.ts'
import { identityCommand } from './identity.ts'
import { caCommand, certCommand, swarmKeyCommand } from './network-files.ts'
import { configCheckCommand } from './config-check.ts'
import { callCommand } from './call.ts'
import { CliError } from './cli-error.ts'

const USAGE = `dawn-node — a Dawn mesh node

Usage:
  dawn-node run [--config FILE] [overrides]     run the node (the default command)
  dawn-node identity --key FILE [--create]      print the peer id of a key file
  dawn-node ca create --out DIR                 create a network CA (ca.key, ca.pub)
  dawn-node cert sign --ca-key FILE --network NAME (--key FILE | --peer-id ID) [--days N] --out FILE
  dawn-node swarm-key create --out FILE         create a private-network PSK (swarm.key)
  dawn-node config check --config FILE          validate a config file and print it resolved
  dawn-node call <nodeId>:<agentId> <tool> [--args JSON] [--url URL] [--token-file F] [--timeout MS] [--json]
                                                call a tool anywhere in the mesh through a running node
  dawn-node content add <file|-> | get <cid> [-o FILE] | pin <cid> | unpin <cid> | status <cid> | ls
                                                add, fetch and pin content by CID through a running node

Run 'dawn-node run --help' for the overrides (every one also has a DAWN_* variable).`

async function main (argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  switch (cmd) {
    case undefined:
    case 'run': return await runCommand(rest)
    case 'identity': return await identityCommand(rest)
    case 'ca': return await caCommand(rest)
    case 'cert': return await certCommand(rest)
    case 'swarm-key': return await swarmKeyCommand(rest)
    case 'config': return await configCheckCommand(rest)
    case 'agent': return await (await import('./agent-serve.ts')).agentCommand(rest)
    case 'call': return await callCommand(rest)
    case 'content': return await (await import('./content.ts')).contentCommand(rest)
    case '-h': case '--help': case 'help':
      process.stdout.write(USAGE + '\n')
      return 0
    default:
      if (cmd.startsWith('--')) return await runCommand(argv)
      throw new CliError(`unknown command "${cmd}"\n\n${USAGE}`)
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`dawn-node: ${message}\n`)
  process.exitCode = err instanceof CliError ? err.exitCode : 1
})
