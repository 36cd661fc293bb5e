// Who may open an association, and what it may send: the called and calling AE titles, the operator's pause, the
// association limit, and the presentation contexts (SOP class and transfer syntax) that are accepted.
import dcmjsDimse from 'dcmjs-dimse';
import type { association as dimseAssociation } from 'dcmjs-dimse';
import { VERIFICATION_SOP_CLASS } from '../dicom/uids.js';
import { chooseTransferSyntax, STORAGE_SOP_CLASSES } from './presentation-contexts.js';
import type { ScpOptions } from './runtime.js';

const { constants } = dcmjsDimse;
type Association = dimseAssociation.Association;

/** An A-ASSOCIATE-RJ to send (PS3.8 9.3.4), with why in words for the log and the metrics. */
export interface AssociationRejection {
  result: number;
  source: number;
  reason: number;
  why: string;
}

/** true when `callingAe` from `host` is on the allow-list (or the list is empty). */
export function callerAllowed(allowed: string[], callingAe: string, host: string | undefined): boolean {
  if (allowed.length === 0) return true;
  const normalizedHost = (host ?? '').replace(/^::ffff:/, '');
  return allowed.some((entry) => {
    const [ae, allowedHost] = entry.split('@');
    if (ae.trim() !== callingAe.trim()) return false;
    return allowedHost === undefined || allowedHost.trim() === normalizedHost;
  });
}

/**
 * Why an association request must be rejected, or undefined when it may be accepted. A wrong AE title is
 * permanent; a pause or a full house is transient, so that the sender keeps its series and tries again.
 */
export function associationRejection(
  request: { calledAe: string; callingAe: string; peer: string | undefined },
  options: ScpOptions,
  activeAssociations: number,
): AssociationRejection | undefined {
  const { RejectResult, RejectSource, RejectReason } = constants;
  if (request.calledAe !== options.aeTitle) {
    return { result: RejectResult.Permanent, source: RejectSource.ServiceUser, reason: RejectReason.CalledAeNotRecognized, why: 'called AE title not recognised' };
  }
  if (!callerAllowed(options.allowedCallers, request.callingAe, request.peer)) {
    return { result: RejectResult.Permanent, source: RejectSource.ServiceUser, reason: RejectReason.CallingAeNotRecognized, why: 'calling AE title not allowed' };
  }
  if (options.intakePaused?.()) {
    return { result: RejectResult.Transient, source: RejectSource.ServiceProviderPresentation, reason: RejectReason.TemporaryCongestion, why: 'intake paused by an operator' };
  }
  if (activeAssociations >= options.maxAssociations) {
    return { result: RejectResult.Transient, source: RejectSource.ServiceProviderPresentation, reason: RejectReason.LocalLimitExceeded, why: 'too many associations' };
  }
  return undefined;
}

/** Accepts each proposed presentation context whose SOP class and one of whose transfer syntaxes we take. */
export function settlePresentationContexts(association: Association): void {
  for (const { context } of association.getPresentationContexts()) {
    const abstract = context.getAbstractSyntaxUid();
    if (abstract !== VERIFICATION_SOP_CLASS && !(abstract in STORAGE_SOP_CLASSES)) {
      context.setResult(constants.PresentationContextResult.RejectAbstractSyntaxNotSupported);
      continue;
    }
    const ts = chooseTransferSyntax(abstract, context.getTransferSyntaxUids());
    if (ts) context.setResult(constants.PresentationContextResult.Accept, ts);
    else context.setResult(constants.PresentationContextResult.RejectTransferSyntaxesNotSupported);
  }
}
