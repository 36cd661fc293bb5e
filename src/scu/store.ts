// One association to one archive: C-STORE of a list of Part-10 files, with the archive's status for each. It
// never decides about retries; it reports exactly what happened so that the sender can.
import fs from 'node:fs';
import dimse from 'dcmjs-dimse';
import type { Destination } from '../../config/sections/results.js';
import { clientSocketOf } from '../dimse-adapter.js';
import { describeStatus } from '../dicom/status.js';
import { classifyStatus } from './status.js';

const { Client } = dimse;
const { CStoreRequest } = dimse.requests;
const { RejectResult } = dimse.constants;

export interface StoreItem {
  path: string;
  sopClassUid: string;
  sopInstanceUid: string;
}

export type StoreOutcome =
  | { item: StoreItem; stored: true; status: number; description: string }
  | { item: StoreItem; stored: false; status?: number; retryable: boolean; description: string };

/** PEM material for DICOM over TLS; the files are read when the association is opened. */
export interface TlsFiles {
  ca?: string;
  certificate?: string;
  privateKey?: string;
  rejectUnauthorized?: boolean;
}

export interface StoreOptions {
  callingAeTitle: string;
  connectTimeoutMs: number;
  associationTimeoutMs: number;
  /** Used when the destination asks for TLS. */
  tls?: TlsFiles;
  signal?: AbortSignal;
}

function readPem(file: string | undefined): Buffer | undefined {
  return file ? fs.readFileSync(file) : undefined;
}

export function securityOptions(destination: Destination, tls: TlsFiles | undefined) {
  if (!destination.tls) return undefined;
  const own = typeof destination.tls === 'object' ? destination.tls : {};
  return {
    ca: readPem(own.ca || tls?.ca),
    cert: readPem(tls?.certificate),
    key: readPem(tls?.privateKey),
    rejectUnauthorized: own.rejectUnauthorized ?? tls?.rejectUnauthorized ?? true,
    minVersion: 'TLSv1.2',
  };
}

const REJECT_REASONS: Record<number, string> = {
  1: 'no reason given',
  2: 'application context not supported',
  3: 'calling AE title not recognized',
  7: 'called AE title not recognized',
};

/** Sends `items` over one association and resolves with one outcome per item (never rejects). */
export function storeOverAssociation(destination: Destination, items: StoreItem[], options: StoreOptions): Promise<StoreOutcome[]> {
  return new Promise((resolve) => {
    const outcomes = new Map<string, StoreOutcome>();
    const client = new Client();
    let associationProblem: { description: string; retryable: boolean } | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const requests = items.map((item) => {
      const request = new CStoreRequest(item.path);
      request.on('response', (response: { getStatus(): number; getErrorComment(): string }) => {
        // The object's dataset, loaded from its file when it was sent, is not needed any more: a set of hundreds
        // of objects must not stay in memory until the association ends.
        request.setDataset(undefined as never);
        const status = response.getStatus();
        const cls = classifyStatus(status);
        const comment = response.getErrorComment?.();
        const description = `${describeStatus(status)}${comment ? `: ${comment}` : ''}`;
        outcomes.set(
          item.sopInstanceUid,
          cls === 'success' || cls === 'warning'
            ? { item, stored: true, status, description }
            : { item, stored: false, status, retryable: cls === 'transient', description },
        );
      });
      client.addRequest(request);
      return request;
    });

    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(
        items.map(
          (item) =>
            outcomes.get(item.sopInstanceUid) ?? {
              item,
              stored: false,
              retryable: associationProblem?.retryable ?? true,
              description: associationProblem?.description ?? 'no C-STORE response before the association ended',
            },
        ),
      );
    };
    const onAbort = () => {
      associationProblem = { description: 'sending was cancelled (node shutting down)', retryable: true };
      try {
        client.abort();
      } catch {
        // not connected yet
      }
      finish();
    };

    client.on('associationAccepted', (association: { getAcceptedPresentationContextFromRequest(r: unknown): unknown }) => {
      // dcmjs-dimse silently skips a request whose presentation context was rejected: say so per instance.
      requests.forEach((request, n) => {
        if (!association.getAcceptedPresentationContextFromRequest(request)) {
          const item = items[n];
          outcomes.set(item.sopInstanceUid, {
            item,
            stored: false,
            retryable: false,
            description: `${destination.aeTitle} did not accept SOP class ${item.sopClassUid} (presentation context rejected)`,
          });
        }
      });
    });
    client.on('associationRejected', (reject: { result: number; source: number; reason: number }) => {
      const transient = reject.result === RejectResult.Transient;
      associationProblem = {
        description:
          `association rejected by ${destination.aeTitle} (${transient ? 'transient' : 'permanent'}, source ${reject.source}, ` +
          `reason ${REJECT_REASONS[reject.reason] ?? reject.reason})`,
        // A permanent rejection (AE title unknown, caller not allowed) is a configuration error: retrying won't help.
        retryable: transient,
      };
    });
    client.on('networkError', (error: Error) => {
      associationProblem ??= { description: `cannot reach ${destination.aeTitle} at ${destination.host}:${destination.port}: ${error.message}`, retryable: true };
    });
    client.on('closed', finish);

    timer = setTimeout(() => {
      associationProblem ??= { description: `no answer from ${destination.aeTitle} within ${options.associationTimeoutMs} ms`, retryable: true };
      try {
        client.abort();
      } catch {
        // already closed
      }
      finish();
    }, options.associationTimeoutMs);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    try {
      client.send(destination.host, destination.port, options.callingAeTitle, destination.aeTitle, {
        connectTimeout: options.connectTimeoutMs,
        associationTimeout: options.associationTimeoutMs,
        associationLingerTimeout: 0,
        securityOptions: securityOptions(destination, options.tls),
      });
      clientSocketOf(client)?.setNoDelay(true);
    } catch (error) {
      associationProblem = { description: `cannot open an association to ${destination.aeTitle}: ${(error as Error).message}`, retryable: false };
      finish();
    }
  });
}
