// A seeded corpus of malformed instances and PDUs, each with the answer a careful node must give. The same seed
// gives the same bytes, so a failure can be replayed; `HOSTILE_SEED` picks another corpus for exploration.
import { DimseStatus } from '../../src/dicom/status.js';
import { seededRandom } from '../../src/pipeline/registration/similarity.js';
import { associateRq, commandSet, element, EXPLICIT_LE, MR_STORAGE, pdata, pdu, RawConnection, text, uidValue, VERIFICATION } from './raw-scu.js';

export const STATUS = {
  SUCCESS: DimseStatus.Success,
  DUPLICATE: DimseStatus.DuplicateSopInstance,
  INVALID_SOP_INSTANCE: DimseStatus.InvalidSopInstance,
  DATASET_MISMATCH: DimseStatus.DataSetDoesNotMatchSopClass,
  CANNOT_UNDERSTAND: DimseStatus.CannotUnderstand,
} as const;

/** mulberry32 (the registration's seeded generator): the same bytes for the same seed. */
export const rng = seededRandom;

export interface DatasetCase {
  kind: 'dataset';
  name: string;
  request: { sopClassUid: string; sopInstanceUid: string };
  dataset: Buffer;
  expect: number;
}

export interface PduCase {
  kind: 'pdu';
  name: string;
  /** What the node must do with the connection. */
  expect: 'aborted' | 'closed' | 'rejected';
  /** Sends the bytes; returns what the node did. */
  run(port: number): Promise<'aborted' | 'closed' | 'rejected' | 'accepted' | 'open'>;
}

export type HostileCase = DatasetCase | PduCase;

interface InstanceFields {
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  /** Elements of group 0009 (before the study/series UIDs), already encoded. */
  privateBefore?: Buffer[];
  position?: number;
  pixelSeed?: number;
  /** Specific Character Set (0008,0005) as sent, and the Patient's Name bytes it is meant to decode. */
  characterSet?: string;
  patientName?: Buffer;
  /** Image pixel elements of group 0028 after Columns (Pixel Representation, Rescale Slope …), already encoded. */
  pixelModule?: Buffer[];
}

/** An MR instance in explicit VR little endian; a field set to undefined in `omit` is left out. */
export function mrInstance(f: InstanceFields, omit: Array<keyof InstanceFields> = []): { bytes: Buffer; offsets: Record<string, number> } {
  const parts: Buffer[] = [];
  const offsets: Record<string, number> = {};
  let length = 0;
  const add = (name: string, b: Buffer) => {
    parts.push(b);
    length += b.length;
    offsets[name] = length; // where the element ends
  };
  if (f.characterSet !== undefined) add('characterSet', element(0x0008, 0x0005, 'CS', text(f.characterSet)));
  if (!omit.includes('sopClassUid')) add('sopClassUid', element(0x0008, 0x0016, 'UI', uidValue(f.sopClassUid ?? MR_STORAGE)));
  if (!omit.includes('sopInstanceUid')) add('sopInstanceUid', element(0x0008, 0x0018, 'UI', uidValue(f.sopInstanceUid!)));
  add('modality', element(0x0008, 0x0060, 'CS', text('MR')));
  add('seriesDescription', element(0x0008, 0x103e, 'LO', text('t1_mprage_hostile')));
  for (const b of f.privateBefore ?? []) add('private', b);
  add('patientName', element(0x0010, 0x0010, 'PN', f.patientName ?? text('HOSTILE^TEST')));
  if (!omit.includes('studyInstanceUid')) add('studyInstanceUid', element(0x0020, 0x000d, 'UI', uidValue(f.studyInstanceUid!)));
  if (!omit.includes('seriesInstanceUid')) add('seriesInstanceUid', element(0x0020, 0x000e, 'UI', uidValue(f.seriesInstanceUid!)));
  add('position', element(0x0020, 0x0032, 'DS', text(`0\\0\\${f.position ?? 0}`)));
  const rows = Buffer.alloc(2);
  rows.writeUInt16LE(4, 0);
  add('rows', element(0x0028, 0x0010, 'US', rows));
  add('columns', element(0x0028, 0x0011, 'US', rows));
  for (const b of f.pixelModule ?? []) add('pixelModule', b);
  const pixels = Buffer.alloc(32);
  const r = rng(f.pixelSeed ?? 1);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(r() * 256);
  add('pixels', element(0x7fe0, 0x0010, 'OW', pixels));
  return { bytes: Buffer.concat(parts), offsets };
}

/** `depth` nested undefined-length sequences in a private tag of group 0009. */
function nestedSequences(depth: number): Buffer {
  const open = Buffer.concat([
    Buffer.from([0x09, 0x00, 0x10, 0x10, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff]), // (0009,1010) SQ, undefined length
    Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]), // item, undefined length
  ]);
  const close = Buffer.concat([
    Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]), // item delimiter
    Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]), // sequence delimiter
  ]);
  return Buffer.concat([...Array(depth).fill(open), ...Array(depth).fill(close)]);
}

export function buildCorpus(seed = 20261130): HostileCase[] {
  const r = rng(seed);
  const digits = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 1 + Math.floor(r() * 9) : Math.floor(r() * 10))).join('');
  const newUid = () => `2.25.${digits(30)}`;
  const study = newUid();
  const cases: HostileCase[] = [];
  const instance = (name: string, f: InstanceFields, expect: number, omit: Array<keyof InstanceFields> = [], request?: Partial<DatasetCase['request']>) => {
    const fields = { studyInstanceUid: study, seriesInstanceUid: newUid(), sopInstanceUid: newUid(), ...f };
    const c: DatasetCase = {
      kind: 'dataset',
      name,
      request: { sopClassUid: MR_STORAGE, sopInstanceUid: fields.sopInstanceUid!, ...request },
      dataset: mrInstance(fields, omit).bytes,
      expect,
    };
    cases.push(c);
    return { ...c, fields };
  };

  // A well-formed instance among the hostile ones: the node must keep taking those.
  const first = instance('well-formed instance', {}, STATUS.SUCCESS);
  const second = instance('well-formed instance of another series', {}, STATUS.SUCCESS);

  // Bytes that are not a dataset at all.
  const random = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const raw = (name: string, dataset: Buffer, expect: number) =>
    cases.push({ kind: 'dataset', name, request: { sopClassUid: MR_STORAGE, sopInstanceUid: newUid() }, dataset, expect });
  raw('empty dataset', Buffer.alloc(0), STATUS.CANNOT_UNDERSTAND);
  // Random bytes start with a tag beyond group 0020 (or a broken structure) and so carry no identification.
  for (const n of [10, 100, 4096, 65536]) {
    const bytes = random(n);
    if (n >= 4) bytes.writeUInt16LE(0xa000 + (bytes.readUInt16LE(0) & 0x0fff), 0);
    raw(`${n} random bytes`, bytes, STATUS.CANNOT_UNDERSTAND);
  }
  raw('pixel data only', element(0x7fe0, 0x0010, 'OW', random(64)), STATUS.CANNOT_UNDERSTAND);

  // Identification missing or contradicting the request.
  instance('no SeriesInstanceUID', {}, STATUS.DATASET_MISMATCH, ['seriesInstanceUid']);
  instance('no StudyInstanceUID', {}, STATUS.DATASET_MISMATCH, ['studyInstanceUid']);
  instance('no SOPInstanceUID in the dataset', {}, STATUS.DATASET_MISMATCH, ['sopInstanceUid']);
  instance('no SOPClassUID', {}, STATUS.DATASET_MISMATCH, ['sopClassUid']);
  instance('dataset SOPInstanceUID differs from the request', {}, STATUS.DATASET_MISMATCH, [], { sopInstanceUid: newUid() });
  instance('dataset SOPClassUID differs from the request', { sopClassUid: '1.2.840.10008.5.1.4.1.1.2' }, STATUS.DATASET_MISMATCH);

  // UIDs that are not UIDs: they must never become file names.
  const invalidSop = (name: string, uid: string) => instance(name, { sopInstanceUid: uid }, STATUS.INVALID_SOP_INSTANCE);
  invalidSop('SOP UID ../../a', '../../a');
  invalidSop('SOP UID ../../../b', '../../../b');
  invalidSop('SOP UID with letters', '1.2.abc.4');
  invalidSop('SOP UID with a slash', '1.2/3.4');
  const long = digits(130);
  for (let i = 0; i < 3; i++) invalidSop(`SOP UID of 140 digits sharing 130 (${i + 1})`, `${long}.${digits(8)}`);
  invalidSop('SOP UID of 65 characters', `1.${digits(63)}`);
  invalidSop('SOP UID with a double dot', '1.2..3');
  invalidSop('SOP UID ending in a dot', '1.2.3.');
  instance('SeriesInstanceUID ../../etc', { seriesInstanceUid: '../../etc' }, STATUS.DATASET_MISMATCH);
  instance('StudyInstanceUID of 65 characters', { studyInstanceUid: `1.${digits(63)}` }, STATUS.DATASET_MISMATCH);
  instance('SeriesInstanceUID with a NUL inside', { seriesInstanceUid: '1.2.3\u0000.4' }, STATUS.DATASET_MISMATCH);
  // Legal on the wire, hostile to whoever reads it later: stored and acknowledged, then read without loss (an unknown
  // or broken character set decodes with the default repertoire), refused with the value named (a Rescale Slope that
  // is not a number), or kept exactly (signed pixels). The jobs' outcomes are tested end to end elsewhere
  // (e2e-character-set, derived-pixels, intensity-invariance, non-head).
  const us = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v, 0);
    return b;
  };
  instance('unknown Specific Character Set ISO_IR 999 with Latin-1 names', { characterSet: 'ISO_IR 999', patientName: text('Müller^Jürgen') }, STATUS.SUCCESS);
  instance('Specific Character Set GARBAGE', { characterSet: 'GARBAGE', patientName: text('Ærø^Åse') }, STATUS.SUCCESS);
  instance('multi-valued character set with an unknown second term', { characterSet: '\\ISO 2022 IR 999', patientName: text('Doe^John') }, STATUS.SUCCESS);
  instance('ISO 2022 IR 87 with a broken escape sequence', { characterSet: '\\ISO 2022 IR 87', patientName: Buffer.from([0x1b, 0x24, 0x42, 0x3b, 0x33, 0x1b, 0x28, 0x20]) }, STATUS.SUCCESS);
  instance('Rescale Slope "abc"', { pixelModule: [element(0x0028, 0x1053, 'DS', text('abc'))] }, STATUS.SUCCESS);
  instance('Rescale Slope 1e38', { pixelModule: [element(0x0028, 0x1053, 'DS', text('1e38'))] }, STATUS.SUCCESS);
  instance('signed pixels (Pixel Representation 1)', { pixelModule: [element(0x0028, 0x0100, 'US', us(16)), element(0x0028, 0x0101, 'US', us(12)), element(0x0028, 0x0103, 'US', us(1))] }, STATUS.SUCCESS);
  instance('Pixel Representation 2', { pixelModule: [element(0x0028, 0x0103, 'US', us(2))] }, STATUS.SUCCESS);

  // Seeded variations: a random invalid character at a random place of one of the UIDs.
  const bad = ['a', '/', '\\', ' ', '-', '_', '%', '..', '\u00e9', '*'];
  for (let i = 0; i < 10; i++) {
    const good = newUid();
    const at = 1 + Math.floor(r() * (good.length - 2));
    const broken = good.slice(0, at) + bad[i % bad.length] + good.slice(at);
    const where = Math.floor(r() * 3);
    if (where === 0) invalidSop(`random invalid SOP UID ${i + 1}`, broken);
    else if (where === 1) instance(`random invalid SeriesInstanceUID ${i + 1}`, { seriesInstanceUid: broken }, STATUS.DATASET_MISMATCH);
    else instance(`random invalid StudyInstanceUID ${i + 1}`, { studyInstanceUid: broken }, STATUS.DATASET_MISMATCH);
  }

  // Structures built to exhaust the reader.
  instance('60,000 nested undefined-length sequences', { privateBefore: [nestedSequences(60_000)] }, STATUS.CANNOT_UNDERSTAND);
  instance('20 nested sequences (deep but legitimate)', { privateBefore: [nestedSequences(20)] }, STATUS.SUCCESS);
  const tiny = element(0x0009, 0x1011, 'LO', Buffer.alloc(0));
  instance('300,000 empty private elements', { privateBefore: [Buffer.concat(Array(300_000).fill(tiny))] }, STATUS.CANNOT_UNDERSTAND);
  instance('private element announcing 4 GiB', { privateBefore: [element(0x0009, 0x1012, 'UN', random(16), 0xfffffff0)] }, STATUS.DATASET_MISMATCH);
  instance(
    'undefined-length sequence holding garbage',
    { privateBefore: [Buffer.concat([Buffer.from([0x09, 0, 0x10, 0x10, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x08, 0, 0x20, 0]), random(32)])] },
    STATUS.CANNOT_UNDERSTAND,
  );
  for (let i = 0; i < 5; i++) {
    instance(`random ${1 << (10 + i)} bytes in a private OB element`, { privateBefore: [element(0x0009, 0x1020, 'OB', random(1 << (10 + i)))] }, STATUS.SUCCESS);
  }

  // Cut short before the identification is complete.
  for (let i = 0; i < 6; i++) {
    const fields = { studyInstanceUid: study, seriesInstanceUid: newUid(), sopInstanceUid: newUid() };
    const { bytes, offsets } = mrInstance(fields);
    const cut = Math.floor(r() * offsets.seriesInstanceUid);
    const missing = ['sopClassUid', 'sopInstanceUid', 'studyInstanceUid', 'seriesInstanceUid'].filter((k) => offsets[k] > cut).length;
    cases.push({
      kind: 'dataset',
      name: `dataset cut at byte ${cut}`,
      request: { sopClassUid: MR_STORAGE, sopInstanceUid: fields.sopInstanceUid },
      dataset: bytes.subarray(0, cut),
      expect: missing === 4 ? STATUS.CANNOT_UNDERSTAND : STATUS.DATASET_MISMATCH,
    });
  }

  // The same SOP Instance UID again.
  cases.push({ kind: 'dataset', name: 'identical resend', request: first.request, dataset: first.dataset, expect: STATUS.SUCCESS });
  cases.push({
    kind: 'dataset',
    name: 'same SOP UID, other pixels',
    request: first.request,
    dataset: mrInstance({ ...first.fields, pixelSeed: 99 }).bytes,
    expect: STATUS.DUPLICATE,
  });
  cases.push({
    kind: 'dataset',
    name: 'same SOP UID, other slice position',
    request: first.request,
    dataset: mrInstance({ ...first.fields, position: 3 }).bytes,
    expect: STATUS.DUPLICATE,
  });
  instance('series already received in another study', { seriesInstanceUid: second.fields.seriesInstanceUid, studyInstanceUid: newUid() }, STATUS.DATASET_MISMATCH);

  cases.push(...pduCases());
  return cases;
}

const storeContexts = [
  { abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] },
  { abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] },
];

/** Opens a connection, optionally associates, sends `bytes`, and reports what the node did within `waitMs`. */
async function probe(port: number, bytes: Buffer[], options: { associate?: boolean; waitMs?: number } = {}) {
  const c = await RawConnection.connect(port);
  try {
    if (options.associate) {
      const result = await c.associate(storeContexts);
      if (result !== 'accepted') return result;
    }
    for (const b of bytes) c.write(b);
    // Answers to commands that got through (a C-ECHO-RSP) are not what is probed: read past them.
    let answer = await c.readPdu(options.waitMs ?? 3000);
    while (answer?.type === 0x04) answer = await c.readPdu(options.waitMs ?? 3000);
    if (answer?.type === 0x07) return 'aborted' as const;
    if (answer?.type === 0x03) return 'rejected' as const;
    if (answer?.type === 0x02) return 'accepted' as const;
    return c.closed ? ('closed' as const) : ('open' as const);
  } finally {
    c.destroy();
  }
}

function pduCases(): PduCase[] {
  const pdataHeader = (length: number) => pdu(0x04, Buffer.from([0, 0, 0, 0, 1, 0]), length);
  return [
    { kind: 'pdu', name: 'P-DATA-TF announcing 4 GiB', expect: 'aborted', run: (port) => probe(port, [pdataHeader(0xffffffff)], { associate: true }) },
    { kind: 'pdu', name: 'P-DATA-TF one byte over the negotiated maximum', expect: 'aborted', run: (port) => probe(port, [pdataHeader(262145)], { associate: true }) },
    { kind: 'pdu', name: 'P-DATA-TF before any association', expect: 'aborted', run: (port) => probe(port, [pdataHeader(100)]) },
    { kind: 'pdu', name: 'A-ASSOCIATE-RQ announcing 100 MB', expect: 'aborted', run: (port) => probe(port, [pdu(0x01, Buffer.alloc(64), 100_000_000)]) },
    { kind: 'pdu', name: 'unknown PDU type 0x09', expect: 'aborted', run: (port) => probe(port, [pdu(0x09, Buffer.alloc(4))]) },
    { kind: 'pdu', name: 'A-ASSOCIATE-AC sent to the acceptor', expect: 'aborted', run: (port) => probe(port, [pdu(0x02, Buffer.alloc(68))]) },
    {
      kind: 'pdu',
      name: 'second A-ASSOCIATE-RQ inside an association',
      expect: 'aborted',
      run: (port) => probe(port, [associateRq('BRAINSTRIP', 'HOSTILE', storeContexts)], { associate: true }),
    },
    { kind: 'pdu', name: 'an HTTP request on the DICOM port', expect: 'aborted', run: (port) => probe(port, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]) },
    { kind: 'pdu', name: 'A-RELEASE-RQ announcing 1 GB', expect: 'aborted', run: (port) => probe(port, [pdu(0x05, Buffer.alloc(4), 1 << 30)], { associate: true }) },
    { kind: 'pdu', name: 'A-ABORT announcing 1 GB', expect: 'aborted', run: (port) => probe(port, [pdu(0x07, Buffer.alloc(4), 1 << 30)], { associate: true }) },
    {
      kind: 'pdu',
      name: 'A-ASSOCIATE-RQ announcing more bytes than it sends (ARTIM)',
      expect: 'closed',
      run: (port) => probe(port, [pdu(0x01, Buffer.alloc(10), 1000)], { waitMs: 6000 }),
    },
    { kind: 'pdu', name: 'connection that sends nothing (ARTIM)', expect: 'closed', run: (port) => probe(port, [], { waitMs: 6000 }) },
    {
      kind: 'pdu',
      name: 'a command set that never ends (70 KB of fragments)',
      expect: 'aborted',
      run: (port) => probe(port, pdata(1, Buffer.alloc(70_000), true, 16_384), { associate: true }),
    },
    { kind: 'pdu', name: 'dataset fragments without a command', expect: 'aborted', run: (port) => probe(port, pdata(3, Buffer.alloc(1000), false, 16_384), { associate: true }) },
    {
      kind: 'pdu',
      name: 'C-ECHO followed by a 2 MB dataset',
      expect: 'aborted',
      run: (port) =>
        probe(
          port,
          [
            ...pdata(1, commandSet({ sopClassUid: VERIFICATION, command: 0x0030, messageId: 1, hasDataset: true }), true, 262_144),
            ...pdata(1, Buffer.alloc(2 * 1024 * 1024), false, 262_144),
          ],
          { associate: true },
        ),
    },
    {
      kind: 'pdu',
      name: 'presentation data value longer than its PDU',
      expect: 'aborted',
      run: (port) => probe(port, [pdu(0x04, Buffer.concat([Buffer.from([0, 0, 0x03, 0xe8, 1, 3]), Buffer.alloc(10)]))], { associate: true }),
    },
    { kind: 'pdu', name: 'wrong called AE title', expect: 'rejected', run: (port) => probe(port, [associateRq('SOMEONEELSE', 'HOSTILE', storeContexts)]) },
  ];
}
