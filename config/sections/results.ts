// Results back to the archive: how derived objects are identified (UID root, series naming) and where they are
// sent (destinations, retries, TLS). The node's own TLS identity is here too so that the SCP can use the same
// certificate for incoming associations as the SCU does for outgoing ones.
export type { Destination, DestinationTls } from '../formats.js';
import type { Destination } from '../formats.js';

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
    format: 'text',
    default: ' skull-stripped',
    env: 'BRAINSTRIP_RESULTS_SERIES_SUFFIX',
  },
  segSeriesDescriptionSuffix: {
    doc: 'Appended to the source SeriesDescription for the SEG series (cut to 64 characters)',
    format: 'text',
    default: ' brain SEG',
    env: 'BRAINSTRIP_RESULTS_SEG_SUFFIX',
  },
  seriesNumberOffset: {
    doc: 'SeriesNumber of the skull-stripped series = source SeriesNumber + this; the SEG gets one more',
    format: 'whole-number',
    default: 1000,
    env: 'BRAINSTRIP_RESULTS_SERIES_NUMBER_OFFSET',
  },
  institutionName: {
    doc: 'InstitutionName written in the Equipment module of derived objects; empty to leave it out',
    format: 'dicom-long-string',
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
  knownAes: {
    doc:
      'AEs that may receive results back when a routing rule names "@caller" as a destination: JSON list of ' +
      '{aeTitle, host, port, tls?}. The calling AE title of the series is looked up here; its address is never taken ' +
      'from the association',
    format: 'dicom-destinations',
    default: [] as Destination[],
    env: 'BRAINSTRIP_RESULTS_KNOWN_AES',
  },
  callingAeTitle: {
    doc: 'Calling AE title of the SCU when sending results (archives usually know the node by it)',
    format: 'ae-title',
    default: 'BRAINSTRIP',
    env: 'BRAINSTRIP_RESULTS_CALLING_AE',
  },
  associations: {
    doc:
      'Associations opened at once to each destination while sending a job\'s results, each carrying its share of the ' +
      'objects. Archives built on DCMTK (Orthanc among them) negotiate no asynchronous ' +
      'operations window, so one association carries one C-STORE at a time; several keep objects in flight while the ' +
      'archive stores. Lower it for an archive that limits associations per calling AE',
    format: 'positive-whole-number',
    default: 4,
    env: 'BRAINSTRIP_RESULTS_ASSOCIATIONS',
  },
  sendConcurrency: {
    doc:
      'Jobs sending their results at once, apart from jobs.concurrency: a job whose results are on disk frees its ' +
      'processing slot and waits for one of these, so an archive that is down holds up sending only, never the ' +
      'next series\' processing (0: nothing is sent; jobs wait in `sending`)',
    format: 'whole-number',
    default: 2,
    env: 'BRAINSTRIP_RESULTS_SEND_CONCURRENCY',
  },
  retry: {
    maxAttempts: {
      doc:
        'C-STORE attempts per destination before the job fails (network errors and transient statuses); 0: no limit, ' +
        'only giveUpAfterHours',
      format: 'whole-number',
      default: 0,
      env: 'BRAINSTRIP_RESULTS_RETRY_MAX_ATTEMPTS',
    },
    giveUpAfterHours: {
      doc:
        'An archive that keeps failing transiently (down, busy, out of resources) is retried this long before the job ' +
        'fails; the job stays `sending` meanwhile and can be retried later from the API (0: no time limit)',
      format: 'duration',
      default: 24,
      env: 'BRAINSTRIP_RESULTS_RETRY_GIVE_UP_H',
    },
    initialDelayMs: {
      doc: 'Wait before the first retry; doubles after each failed attempt',
      format: 'duration',
      default: 2000,
      env: 'BRAINSTRIP_RESULTS_RETRY_INITIAL_DELAY_MS',
    },
    maxDelayMs: {
      doc: 'Upper bound of the wait between attempts',
      format: 'duration',
      default: 300000,
      env: 'BRAINSTRIP_RESULTS_RETRY_MAX_DELAY_MS',
    },
  },
  timeouts: {
    connectMs: { doc: 'TCP/TLS connect timeout of the SCU', format: 'positive-duration', default: 10000, env: 'BRAINSTRIP_RESULTS_CONNECT_TIMEOUT_MS' },
    associationMs: {
      doc: 'Longest wait for an association to finish (all C-STORE responses and the release)',
      format: 'positive-duration',
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
  certificate: { doc: 'PEM certificate file of this node; empty: no client certificate', format: 'optional-path', default: '', env: 'BRAINSTRIP_TLS_CERT' },
  privateKey: { doc: 'PEM private key file of this node', format: 'optional-path', default: '', env: 'BRAINSTRIP_TLS_KEY', sensitive: true },
  ca: { doc: 'PEM CA bundle file trusted for peers (archives and senders); empty: the system CAs', format: 'optional-path', default: '', env: 'BRAINSTRIP_TLS_CA' },
  scpEnabled: { doc: 'Accept incoming associations over TLS instead of plain TCP (needs certificate and privateKey)', format: 'flag', default: false, env: 'BRAINSTRIP_TLS_SCP' },
  requireClientCert: {
    doc: 'With scpEnabled: reject callers without a certificate signed by ca',
    format: 'flag',
    default: false,
    env: 'BRAINSTRIP_TLS_REQUIRE_CLIENT_CERT',
  },
};
