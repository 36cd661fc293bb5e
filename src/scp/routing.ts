// Which received instances become part of a job. By default: MR volumes (MR / Enhanced MR Image Storage) that are
// ORIGINAL acquisitions, not localizers, and never brainstrip's own outputs (loop protection).
import type { RoutingRule } from '../../config/formats.js';
import { ruleMatches } from '../jobs/processing/routing-rules.js';
import { MANUFACTURER } from '../pipeline/dicom/identity.js';
import type { InstanceHeader } from './dataset-header.js';

export type RoutingRuleConfig = RoutingRule;

export interface RoutingConfig {
  sopClasses: string[];
  excludeImageTypes: string[];
  include: RoutingRuleConfig[];
  exclude: RoutingRuleConfig[];
  /** UID root of brainstrip's derived objects (results.uidRoot). */
  ownUidRoot: string;
}

export type RoutingDecision = { routed: true } | { routed: false; reason: string };

/** The UUID-derived root of PS3.5 B.2 is shared by everyone; it cannot identify our objects on its own. */
const SHARED_UID_ROOT = '2.25';

/** true for objects brainstrip produced itself: its Manufacturer, its UID root, or DERIVED by brainstrip. */
export function isOwnOutput(header: InstanceHeader, ownUidRoot: string): boolean {
  if (header.manufacturer?.trim().toLowerCase() === MANUFACTURER.toLowerCase()) return true;
  if (ownUidRoot && ownUidRoot !== SHARED_UID_ROOT) {
    const prefix = `${ownUidRoot}.`;
    if (header.sopInstanceUid?.startsWith(prefix) || header.seriesInstanceUid?.startsWith(prefix)) return true;
  }
  return header.imageType[0] === 'DERIVED' && (header.derivationDescription ?? '').toLowerCase().includes(MANUFACTURER.toLowerCase());
}

function describe(rule: RoutingRuleConfig): string {
  return JSON.stringify(rule);
}

export function routeInstance(header: InstanceHeader, callingAe: string, config: RoutingConfig): RoutingDecision {
  if (isOwnOutput(header, config.ownUidRoot)) return { routed: false, reason: 'brainstrip output (loop protection)' };
  if (!header.seriesInstanceUid || !header.studyInstanceUid) {
    return { routed: false, reason: 'StudyInstanceUID or SeriesInstanceUID missing' };
  }
  if (!header.sopClassUid || !config.sopClasses.includes(header.sopClassUid)) {
    return { routed: false, reason: `SOP class ${header.sopClassUid ?? '(none)'} is not processed` };
  }
  const excludedType = header.imageType.find((v) => config.excludeImageTypes.map((t) => t.toUpperCase()).includes(v));
  if (excludedType) return { routed: false, reason: `ImageType ${header.imageType.join('\\')} contains ${excludedType}` };
  if (config.include.length > 0 && !config.include.some((rule) => ruleMatches(rule, { ...header, callingAe }))) {
    return { routed: false, reason: 'matches no include rule' };
  }
  const excludedBy = config.exclude.find((rule) => ruleMatches(rule, { ...header, callingAe }));
  if (excludedBy) return { routed: false, reason: `matches exclude rule ${describe(excludedBy)}` };
  return { routed: true };
}
