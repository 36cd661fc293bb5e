// Results back to the archive: how derived objects are identified (UID root, series naming) and where they are
// sent (destinations, retries, TLS). The node's own TLS identity is here too so that the SCP can use the same
// certificate for incoming associations as the SCU does for outgoing ones.
import convict from 'convict';

export interface DestinationTls {
  /** PEM file of the CA(s) the archive's certificate must chain to; empty: the system's CAs. */
  ca?: string;
  /** Check the archive's certificate (default true); false only for test set-ups. */
  rejectUnauthorized?: boolean;
}

export interface Destination {
  aeTitle: string;
  host: string;
  port: number;
  /** Absent or false: plain TCP. true or an object: DICOM over TLS (PS3.15 B.1). */
  tls?: boolean | DestinationTls;
}

const AE_TITLE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/; // PS3.5 AE: 16 chars of the default repertoire, no backslash

function validateDestinations(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be a list of {aeTitle, host, port, tls?}');
  for (const d of value as Partial<Destination>[]) {
    if (typeof d !== 'object' || d === null) throw new Error('each destination must be an object');
    if (typeof d.aeTitle !== 'string' || !AE_TITLE.test(d.aeTitle) || d.aeTitle.trim() === '') {
      throw new Error(`destination AE title '${String(d.aeTitle)}' is not a DICOM AE title (1–16 characters, no backslash)`);
    }
    if (typeof d.host !== 'string' || d.host === '') throw new Error(`destination ${d.aeTitle}: host missing`);
    if (!Number.isInteger(d.port) || (d.port as number) < 1 || (d.port as number) > 65535) {
      throw new Error(`destination ${d.aeTitle}: port must be 1–65535`);
    }
    if (d.tls !== undefined && typeof d.tls !== 'boolean' && (typeof d.tls !== 'object' || d.tls === null)) {
      throw new Error(`destination ${d.aeTitle}: tls must be true/false or {ca, rejectUnauthorized}`);
    }
  }
}

convict.addFormat({
  name: 'dicom-destinations',
  validate: validateDestinations,
  // From the environment the list arrives as JSON text.
  coerce: (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v),
});

convict.addFormat({
  name: 'dicom-uid-root',
  validate(value: unknown) {
    // Components are decimal numbers without leading zeros (PS3.5 9.1); leave room for the generated suffix.
    if (typeof value !== 'string' || !/^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(value) || value.length > 40) {
      throw new Error('must be a DICOM UID prefix such as 2.25 or your organisation root, at most 40 characters');
    }
  },
});

export const resultsSection = {
  uidRoot: {
    doc:
      'UID root under which derived Series, SOP Instance and SEG UIDs are generated. Set your organisation\'s ' +
      'registered root; the default 2.25 is the UUID-derived root of PS3.5 B.2, which needs no registration.',
    format: 'dicom-uid-root',
    default: '2.25',
    env: 'BRAINSTRIP_RESULTS_UID_ROOT',
  },
  seriesDescriptionSuffix: {
    doc: 'Appended to the source SeriesDescription for the skull-stripped series (the result is cut to 64 characters, LO)',
    format: String,
    default: ' skull-stripped',
    env: 'BRAINSTRIP_RESULTS_SERIES_SUFFIX',
  },
  segSeriesDescriptionSuffix: {
    doc: 'Appended to the source SeriesDescription for the SEG series (cut to 64 characters)',
    format: String,
    default: ' brain SEG',
    env: 'BRAINSTRIP_RESULTS_SEG_SUFFIX',
  },
  seriesNumberOffset: {
    doc: 'SeriesNumber of the skull-stripped series = source SeriesNumber + this; the SEG gets one more',
    format: 'nat',
    default: 1000,
    env: 'BRAINSTRIP_RESULTS_SERIES_NUMBER_OFFSET',
  },
  institutionName: {
    doc: 'InstitutionName written in the Equipment module of derived objects; empty to leave it out',
    format: String,
    default: '',
    env: 'BRAINSTRIP_RESULTS_INSTITUTION',
  },
  nonHead: {
    doc:
      "A series whose image does not look like a human head (noise, a uniform volume, another body part: the review check's " +
      "'not a head?' reasons): 'flag' sends its results marked [review] with the reason, like any result flagged for review; " +
      "'withhold' sends nothing and ends the job failed with the reason",
    format: ['flag', 'withhold'],
    default: 'flag',
    env: 'BRAINSTRIP_RESULTS_NON_HEAD',
  },
  destinations: {
    doc:
      'Archives that receive the derived series and the SEG: JSON list of {aeTitle, host, port, tls?}. ' +
      'tls: true, or {ca: "/path/ca.pem", rejectUnauthorized: true}.',
    format: 'dicom-destinations',
    default: [{ aeTitle: 'ARCHIVE', host: '127.0.0.1', port: 4242 }] as Destination[],
    env: 'BRAINSTRIP_RESULTS_DESTINATIONS',
  },
  callingAeTitle: {
    doc: 'Calling AE title of the SCU when sending results (archives usually know the node by it)',
    format: String,
    default: 'BRAINSTRIP',
    env: 'BRAINSTRIP_RESULTS_CALLING_AE',
  },
  associations: {
    doc:
      'Associations opened at once to each destination while sending a job\'s results, each carrying its share of the ' +
      'objects. Archives built on DCMTK (Orthanc among them) negotiate no asynchronous ' +
      'operations window, so one association carries one C-STORE at a time; several keep objects in flight while the ' +
      'archive stores. Lower it for an archive that limits associations per calling AE',
    format: 'nat',
    default: 4,
    env: 'BRAINSTRIP_RESULTS_ASSOCIATIONS',
  },
  sendConcurrency: {
    doc:
      'Jobs sending their results at once, apart from jobs.concurrency: a job whose results are on disk frees its ' +
      'processing slot and waits for one of these, so an archive that is down holds up sending only, never the ' +
      'next series\' processing (0: nothing is sent; jobs wait in `sending`)',
    format: 'nat',
    default: 2,
    env: 'BRAINSTRIP_RESULTS_SEND_CONCURRENCY',
  },
  retry: {
    maxAttempts: {
      doc:
        'C-STORE attempts per destination before the job fails (network errors and transient statuses); 0: no limit, ' +
        'only giveUpAfterHours',
      format: 'nat',
      default: 0,
      env: 'BRAINSTRIP_RESULTS_RETRY_MAX_ATTEMPTS',
    },
    giveUpAfterHours: {
      doc:
        'An archive that keeps failing transiently (down, busy, out of resources) is retried this long before the job ' +
        'fails; the job stays `sending` meanwhile and can be retried later from the API (0: no time limit)',
      format: Number,
      default: 24,
      env: 'BRAINSTRIP_RESULTS_RETRY_GIVE_UP_H',
    },
    initialDelayMs: {
      doc: 'Wait before the first retry; doubles after each failed attempt',
      format: 'nat',
      default: 2000,
      env: 'BRAINSTRIP_RESULTS_RETRY_INITIAL_DELAY_MS',
    },
    maxDelayMs: {
      doc: 'Upper bound of the wait between attempts',
      format: 'nat',
      default: 300000,
      env: 'BRAINSTRIP_RESULTS_RETRY_MAX_DELAY_MS',
    },
  },
  timeouts: {
    connectMs: { doc: 'TCP/TLS connect timeout of the SCU', format: 'nat', default: 10000, env: 'BRAINSTRIP_RESULTS_CONNECT_TIMEOUT_MS' },
    associationMs: {
      doc: 'Longest wait for an association to finish (all C-STORE responses and the release)',
      format: 'nat',
      default: 300000,
      env: 'BRAINSTRIP_RESULTS_ASSOCIATION_TIMEOUT_MS',
    },
  },
};

/**
 * The node's TLS identity (PEM files). The SCU presents it to archives that ask for a client certificate; the
 * SCP (receive area) listens with TLS when `scpEnabled` is true and uses `ca` to check callers if `requireClientCert`.
 */
export const tlsSection = {
  certificate: { doc: 'PEM certificate of this node; empty: no client certificate', format: String, default: '', env: 'BRAINSTRIP_TLS_CERT' },
  privateKey: { doc: 'PEM private key of this node', format: String, default: '', env: 'BRAINSTRIP_TLS_KEY', sensitive: true },
  ca: { doc: 'PEM CA bundle trusted for peers (archives and senders); empty: the system CAs', format: String, default: '', env: 'BRAINSTRIP_TLS_CA' },
  scpEnabled: { doc: 'Accept incoming associations over TLS instead of plain TCP', format: Boolean, default: false, env: 'BRAINSTRIP_TLS_SCP' },
  requireClientCert: {
    doc: 'With scpEnabled: reject callers without a certificate signed by ca',
    format: Boolean,
    default: false,
    env: 'BRAINSTRIP_TLS_REQUIRE_CLIENT_CERT',
  },
};
