// C-ECHO of one archive: the "Test" button of a destination. Resolves with what happened, never rejects.
import dimse from 'dcmjs-dimse';
import type { Destination } from '../../config/sections/results.js';
import { DimseStatus, statusHex } from '../dicom/status.js';
import { type TlsFiles, securityOptions } from './store.js';

const { Client } = dimse;
const { CEchoRequest } = dimse.requests;
const { RejectResult } = dimse.constants;

export interface EchoOutcome {
  ok: boolean;
  /** What the archive answered, in words (status, rejection or network error). */
  description: string;
  milliseconds: number;
}

export function echo(destination: Destination, options: { callingAeTitle: string; timeoutMs: number; tls?: TlsFiles }): Promise<EchoOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let outcome: Omit<EchoOutcome, 'milliseconds'> | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...(outcome ?? { ok: false, description: 'the association ended without a C-ECHO response' }), milliseconds: Date.now() - started });
    };
    const client = new Client();
    const request = new CEchoRequest();
    request.on('response', (response: { getStatus(): number }) => {
      const status = response.getStatus();
      const ok = status === DimseStatus.Success;
      outcome = { ok, description: `C-ECHO status ${statusHex(status)}${ok ? ' (Success)' : ''}` };
    });
    client.addRequest(request);
    client.on('associationRejected', (reject: { result: number; source: number; reason: number }) => {
      const kind = reject.result === RejectResult.Transient ? 'transient' : 'permanent';
      outcome = { ok: false, description: `association rejected (${kind}, source ${reject.source}, reason ${reject.reason})` };
    });
    client.on('networkError', (error: Error) => {
      outcome ??= { ok: false, description: `cannot reach ${destination.host}:${destination.port}: ${error.message}` };
    });
    client.on('closed', finish);
    const timer = setTimeout(() => {
      outcome ??= { ok: false, description: `no answer within ${options.timeoutMs} ms` };
      try {
        client.abort();
      } catch {
        // never connected
      }
      finish();
    }, options.timeoutMs);
    try {
      client.send(destination.host, destination.port, options.callingAeTitle, destination.aeTitle, {
        connectTimeout: options.timeoutMs,
        associationTimeout: options.timeoutMs,
        associationLingerTimeout: 0,
        securityOptions: securityOptions(destination, options.tls),
      });
    } catch (error) {
      outcome = { ok: false, description: `cannot open an association: ${(error as Error).message}` };
      finish();
    }
  });
}
