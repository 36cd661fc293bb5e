// The DICOM Conformance Statement (docs/conformance-statement.md) lists exactly what the node does: the SOP classes
// and transfer syntaxes STORE-SCP accepts, as the association policy decides them, and those STORE-SCU proposes,
// as recorded from its real association requests; nothing missing, nothing extra. Its implementation identity is
// the one in src/pipeline/dicom/identity.ts.
import fs from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dcmjsDimse from 'dcmjs-dimse';
import type { association as dimseAssociation } from 'dcmjs-dimse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netServerOf } from '../src/dimse-adapter.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from '../src/dicom/uids.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../src/pipeline/dicom/identity.js';
import { settlePresentationContexts } from '../src/scp/association-policy.js';
import { chooseTransferSyntax, STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES } from '../src/scp/presentation-contexts.js';
import { echo } from '../src/scu/echo.js';
import { storeOverAssociation } from '../src/scu/store.js';
import { writeSyntheticResults } from './derived-fixtures.js';

const statement = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/conformance-statement.md'), 'utf8');
const UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

/** The values of the column whose header names a UID, in the table under the caption that starts with `caption`. */
function uidColumn(caption: string): string[] {
  const lines = statement.split('\n');
  const at = lines.findIndex((line) => line.startsWith(`**${caption}.`));
  if (at < 0) throw new Error(`the statement has no table "${caption}"`);
  let i = at + 1;
  while (lines[i]?.trim() === '') i++;
  const rows: string[] = [];
  while (lines[i]?.startsWith('|')) rows.push(lines[i++]);
  const cells = (row: string) => row.split('|').slice(1, -1).map((cell) => cell.trim());
  const column = cells(rows[0]).findIndex((header) => /UID/.test(header));
  if (column < 0) throw new Error(`table "${caption}" has no UID column`);
  const uids = rows.slice(2).map((row) => cells(row)[column]);
  for (const uid of uids) expect(uid, `${caption}: "${uid}" is not a UID`).toMatch(UID);
  expect(new Set(uids).size, `${caption} lists a UID twice`).toBe(uids.length);
  return uids;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** Transfer syntaxes to try the SCP with: the ones it names, the statement's, and standard ones it may not accept. */
const TRANSFER_SYNTAX_CANDIDATES = sorted([
  ...Object.keys(TRANSFER_SYNTAXES),
  ...uidColumn('Table 4.2-3'),
  ...uidColumn('Table 4.2-4'),
  '1.2.840.10008.1.2.1.99', // Deflated Explicit VR Little Endian
  '1.2.840.10008.1.2.4.92', // JPEG 2000 Part 2 Multi-component (Lossless Only)
  '1.2.840.10008.1.2.4.93', // JPEG 2000 Part 2 Multi-component
  '1.2.840.10008.1.2.4.100', // MPEG2 Main Profile / Main Level
  '1.2.840.10008.1.2.4.201', // High-Throughput JPEG 2000 (Lossless Only)
  '1.2.840.10008.1.2.4.203', // High-Throughput JPEG 2000
]);

/** The transfer syntaxes STORE-SCP accepts for `sopClass`, one proposal at a time. */
function acceptedTransferSyntaxes(sopClass: string): string[] {
  return TRANSFER_SYNTAX_CANDIDATES.filter((ts) => chooseTransferSyntax(sopClass, [ts]) === ts);
}

describe('the conformance statement states what STORE-SCP accepts', () => {
  it('lists exactly the SOP classes the association policy accepts', () => {
    const listed = uidColumn('Table 4.2-2');
    // Candidates: the statement's, the code's storage classes, Verification, and classes it must refuse.
    const candidates = sorted([...listed, ...Object.keys(STORAGE_SOP_CLASSES), VERIFICATION_SOP_CLASS, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.2.2.1']);
    const association = new dcmjsDimse.association.Association('SENDER', 'BRAINSTRIP');
    const ids = candidates.map((uid) => {
      const id = association.addPresentationContext(uid);
      association.addTransferSyntaxToPresentationContext(id, EXPLICIT_VR_LITTLE_ENDIAN);
      return id;
    });
    settlePresentationContexts(association);
    const accepted = candidates.filter((_, n) => association.getPresentationContext(ids[n]).getResult() === dcmjsDimse.constants.PresentationContextResult.Accept);
    expect(sorted(listed)).toEqual(sorted(accepted));
  });

  it('lists exactly the transfer syntaxes accepted for Verification', () => {
    expect(sorted(uidColumn('Table 4.2-3'))).toEqual(acceptedTransferSyntaxes(VERIFICATION_SOP_CLASS));
  });

  it('lists exactly the transfer syntaxes accepted for every storage SOP class', () => {
    const listed = sorted(uidColumn('Table 4.2-4'));
    for (const sopClass of Object.keys(STORAGE_SOP_CLASSES)) expect(acceptedTransferSyntaxes(sopClass), STORAGE_SOP_CLASSES[sopClass]).toEqual(listed);
  });

  it('is the statement of the version in package.json', () => {
    const { version } = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };
    expect(statement).toContain(`| Version | ${version} |`);
  });

  it("names brainstrip's Implementation Class UID and version name", () => {
    expect(statement).toContain(`| Implementation Class UID | ${IMPLEMENTATION_CLASS_UID} |`);
    expect(statement).toContain(`| Implementation Version Name | ${IMPLEMENTATION_VERSION_NAME} |`);
  });
});

describe('the conformance statement states what STORE-SCU proposes', () => {
  /** Presentation contexts proposed to the recording SCP, which rejects every association after noting them. */
  const proposed: Array<{ abstractSyntax: string; transferSyntaxes: string[] }> = [];
  const Scp = dcmjsDimse.Scp;
  class RecordingScp extends Scp {
    constructor(socket: Socket, opts: ConstructorParameters<typeof Scp>[1]) {
      super(socket, opts);
    }
    override associationRequested(association: dimseAssociation.Association): void {
      for (const { context } of association.getPresentationContexts()) {
        proposed.push({ abstractSyntax: context.getAbstractSyntaxUid(), transferSyntaxes: context.getTransferSyntaxUids() });
      }
      const { RejectResult, RejectSource, RejectReason } = dcmjsDimse.constants;
      this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.NoReasonGiven);
    }
  }
  const server = new dcmjsDimse.Server(RecordingScp as unknown as typeof Scp);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-conformance-'));

  beforeAll(async () => {
    dcmjsDimse.log.setLevel('error');
    await new Promise<void>((resolve) => {
      server.once('listening', () => resolve());
      server.listen(0);
    });
    const port = (netServerOf(server)!.address() as { port: number }).port;
    const archive = { aeTitle: 'RECORDER', host: '127.0.0.1', port };
    // The results the node makes of a classic and of an enhanced source, as files, sent the way jobs send them.
    for (const enhanced of [false, true]) {
      const items = await writeSyntheticResults(path.join(dir, String(enhanced)), enhanced);
      await storeOverAssociation(archive, items, { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 5000, associationTimeoutMs: 10_000 });
    }
    await echo(archive, { callingAeTitle: 'BRAINSTRIP', timeoutMs: 5000 });
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists exactly the SOP classes it proposes', () => {
    expect(proposed.length).toBeGreaterThan(0);
    expect(sorted(uidColumn('Table 4.2-8'))).toEqual(sorted(proposed.map((p) => p.abstractSyntax)));
  });

  it('lists exactly the transfer syntaxes it proposes, all of them in each presentation context', () => {
    const listed = sorted(uidColumn('Table 4.2-9'));
    expect(sorted(proposed.flatMap((p) => p.transferSyntaxes))).toEqual(listed);
    for (const p of proposed) expect(sorted(p.transferSyntaxes), p.abstractSyntax).toEqual(listed);
  });
});
