// The receiving half of the node: who may send, which series become jobs, and when a series counts as complete.
import { ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE } from '../../src/dicom/uids.js';
export type { RoutingRule } from '../formats.js';
import type { RoutingRule } from '../formats.js';

export const receiveSection = {
  aeTitle: {
    doc: 'AE title of the node; associations calling any other AE title are rejected (called AE not recognised)',
    format: 'ae-title',
    default: 'BRAINSTRIP',
    env: 'BRAINSTRIP_AE_TITLE',
  },
  port: {
    doc: 'TCP port of the DICOM SCP (0: any free port, logged at start)',
    format: 'tcp-port',
    default: 11112,
    env: 'BRAINSTRIP_DICOM_PORT',
  },
  host: {
    doc: 'Address the DICOM port listens on: empty for every interface (IPv4 and IPv6), or one address of this machine',
    format: 'bind-address',
    default: '',
    env: 'BRAINSTRIP_DICOM_HOST',
  },
  allowedCallers: {
    doc:
      'Calling AE titles allowed to send, as "AE" or "AE@host" (host: IP address the association comes from). ' +
      'Empty: any caller. Environment: comma-separated list or JSON.',
    format: 'calling-ae-list',
    default: [] as string[],
    env: 'BRAINSTRIP_ALLOWED_CALLERS',
  },
  maxAssociations: {
    doc: 'Simultaneous associations; more are rejected as transient (local limit exceeded)',
    format: 'positive-whole-number',
    default: 16,
    env: 'BRAINSTRIP_MAX_ASSOCIATIONS',
  },
  maxPduLength: {
    doc: 'Maximum PDU length the SCP offers to senders (bytes, 4096–262144); a longer P-DATA-TF PDU is aborted',
    format: 'pdu-length',
    default: 262144,
    env: 'BRAINSTRIP_MAX_PDU_LENGTH',
  },
  timeoutSeconds: {
    doc: 'An association that sends nothing for this long is closed',
    format: 'positive-duration',
    default: 120,
    env: 'BRAINSTRIP_ASSOCIATION_TIMEOUT_S',
  },
  artimSeconds: {
    doc: 'A connection that has not sent its association request after this long is closed (ARTIM timer, PS3.8 9.1.5)',
    format: 'positive-duration',
    default: 30,
    env: 'BRAINSTRIP_ARTIM_S',
  },
  maxPendingConnections: {
    doc: 'Connections held at once that have not yet asked for an association; more are closed at once',
    format: 'positive-whole-number',
    default: 32,
    env: 'BRAINSTRIP_MAX_PENDING_CONNECTIONS',
  },
  minFreeMegabytes: {
    doc:
      'Instances are refused with Out of Resources (and /health reports not ready) when the spool has less free space ' +
      'than this, so that the job store never finds the disk full',
    format: 'whole-number',
    default: 64,
    env: 'BRAINSTRIP_MIN_FREE_MB',
  },
  errorAreaMaxFiles: {
    doc: 'Refused instances kept in spool/errors for inspection (deleted after unroutedRetentionHours); more are not kept',
    format: 'whole-number',
    default: 1000,
    env: 'BRAINSTRIP_ERROR_AREA_MAX_FILES',
  },
  spoolDir: {
    doc: 'Where received instances are kept, exactly as received (relative to dataDir)',
    format: 'path',
    default: 'spool',
    env: 'BRAINSTRIP_SPOOL_DIR',
  },
  seriesIdleSeconds: {
    doc: 'A series is complete when no instance of it arrived for this long and no association is still delivering it',
    format: 'positive-duration',
    default: 30,
    env: 'BRAINSTRIP_SERIES_IDLE_S',
  },
  completionGraceSeconds: {
    doc:
      'A series that is provably whole (an Enhanced MR instance, or as many instances as its headers declare forming one regular stack) is complete ' +
      'this long after the association that delivered it was released, unless another instance arrives; 0: only seriesIdleSeconds completes a series',
    format: 'completion-grace',
    default: 1,
    env: 'BRAINSTRIP_COMPLETION_GRACE_S',
  },
  unroutedRetentionHours: {
    doc: 'Instances that were acknowledged but not routed to a job are deleted after this many hours',
    format: 'duration',
    default: 24,
    env: 'BRAINSTRIP_UNROUTED_RETENTION_H',
  },
  routing: {
    sopClasses: {
      doc: 'SOP classes that can become jobs (default: MR Image Storage, Enhanced MR Image Storage)',
      format: 'uid-list',
      default: [MR_IMAGE_STORAGE, ENHANCED_MR_IMAGE_STORAGE],
      env: 'BRAINSTRIP_ROUTING_SOP_CLASSES',
    },
    excludeImageTypes: {
      doc: 'Instances whose ImageType contains any of these values are not processed (localizers, derived images)',
      format: 'text-list',
      default: ['LOCALIZER', 'DERIVED'],
      env: 'BRAINSTRIP_ROUTING_EXCLUDE_IMAGE_TYPES',
    },
    include: {
      doc:
        'If not empty, an instance must match at least one of these rules: JSON list of ' +
        '{modality?, seriesDescription? (regex), callingAe?}',
      format: 'routing-rules',
      default: [{ modality: 'MR' }] as RoutingRule[],
      env: 'BRAINSTRIP_ROUTING_INCLUDE',
    },
    exclude: {
      doc: 'Instances matching any of these rules are not processed, e.g. [{"seriesDescription": "diffusion|dwi"}]',
      format: 'routing-rules',
      default: [] as RoutingRule[],
      env: 'BRAINSTRIP_ROUTING_EXCLUDE',
    },
  },
};
