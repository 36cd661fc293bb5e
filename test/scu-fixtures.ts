// Real archives for the SCU tests: DCMTK's storescp on a free loopback port, and a tiny dcmjs-dimse SCP that
// answers every C-STORE with a chosen status (an archive that refuses).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import dimse from 'dcmjs-dimse';
import { freePort, waitForPort } from '../bench/harness/peers.js';

export { freePort, waitForPort };

export interface Storescp {
  port: number;
  dir: string;
  process: ChildProcess;
  files(): string[];
  stop(): Promise<void>;
}

export async function startStorescp(dir: string, port?: number, aeTitle = 'ARCHIVE', tls?: { key: string; cert: string }): Promise<Storescp> {
  const p = port ?? (await freePort());
  fs.mkdirSync(dir, { recursive: true });
  const tlsArgs = tls ? ['--enable-tls', tls.key, tls.cert, '--ignore-peer-cert'] : [];
  const child = spawn('storescp', [...tlsArgs, '--aetitle', aeTitle, '--output-directory', dir, String(p)], { stdio: 'ignore' });
  await waitForPort(p);
  return {
    port: p,
    dir,
    process: child,
    files: () => fs.readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => path.join(dir, f)),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A self-signed certificate for 127.0.0.1 (openssl), for DICOM over TLS on loopback. */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key, cert };
}

/** An archive that answers every C-STORE with `status` (and `comment`), after accepting the association. */
export async function startRefusingArchive(status: number, comment: string): Promise<{ port: number; received: number; stop(): void }> {
  const { Server, Scp } = dimse;
  const { CStoreResponse } = dimse.responses;
  const { PresentationContextResult, TransferSyntax } = dimse.constants;
  const state = { received: 0 };
  class RefusingScp extends Scp {
    associationRequested(association: any) {
      for (const context of association.getPresentationContexts()) {
        const pc = association.getPresentationContext(context.id);
        const syntaxes: string[] = pc.getTransferSyntaxUids();
        const ts = syntaxes.includes(TransferSyntax.ExplicitVRLittleEndian) ? TransferSyntax.ExplicitVRLittleEndian : TransferSyntax.ImplicitVRLittleEndian;
        pc.setResult(PresentationContextResult.Accept, ts);
      }
      this.sendAssociationAccept();
    }
    cStoreRequest(request: any, callback: (r: any) => void) {
      state.received++;
      const response = CStoreResponse.fromRequest(request);
      response.setStatus(status);
      response.setErrorComment(comment);
      callback(response);
    }
    associationReleaseRequested() {
      this.sendAssociationReleaseResponse();
    }
    abort() {}
  }
  const server = new Server(RefusingScp);
  const port = await freePort();
  server.listen(port);
  await waitForPort(port);
  return {
    port,
    get received() {
      return state.received;
    },
    stop: () => server.close(),
  };
}
