// DIMSE status codes (PS3.7 Annex C, PS3.4 B.2.3) that the node answers with or reads in the answers it gets, and
// their meaning in words. Ranges (A7xx, A9xx, Cxx) are named by their first code.

export const DimseStatus = {
  Success: 0x0000,
  Warning: 0x0001,
  AttributeListError: 0x0107,
  /** B000: coercion of data elements. */
  CoercionOfDataElements: 0xb000,
  ElementsDiscarded: 0xb006,
  /** B007: the archive stored it, though the data set does not match the SOP class. */
  DataSetDoesNotMatchSopClassWarning: 0xb007,
  /** A7xx Refused: Out of Resources. */
  OutOfResources: 0xa700,
  /** A9xx Error: Data Set does not match SOP Class (a required attribute is missing or invalid). */
  DataSetDoesNotMatchSopClass: 0xa900,
  /** Cxxx Error: Cannot understand (the bytes are not a data set). */
  CannotUnderstand: 0xc000,
  ProcessingFailure: 0x0110,
  /** The SOP Instance UID is already stored with other content. */
  DuplicateSopInstance: 0x0111,
  /** The SOP Instance UID is not a UID. */
  InvalidSopInstance: 0x0117,
  SopClassNotSupported: 0x0122,
  NotAuthorized: 0x0124,
  /** An earlier attempt with the same message is still being processed. */
  DuplicateInvocation: 0x0210,
  UnrecognizedOperation: 0x0211,
  ResourceLimitation: 0x0213,
} as const;

/** true when `status` lies in the range that `first` opens: A700 and A900 stand for A7xx and A9xx, B000 and C000 for Bxxx and Cxxx. */
export function inStatusRange(status: number, first: number): boolean {
  const mask = (first & 0x0fff) === 0 ? 0xf000 : 0xff00;
  return (status & mask) === first;
}

/** The code as DICOM documents write it: `0xA700`. */
export function statusHex(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The status in words with its code, e.g. `Refused: out of resources (0xA700)`. */
export function describeStatus(status: number): string {
  const hex = statusHex(status);
  const name = (() => {
    if (status === DimseStatus.Success) return 'Success';
    if (status === DimseStatus.Warning || status === DimseStatus.AttributeListError) return 'Warning';
    if (status === DimseStatus.CoercionOfDataElements) return 'Warning: coercion of data elements';
    if (status === DimseStatus.DataSetDoesNotMatchSopClassWarning) return 'Warning: data set does not match SOP class';
    if (status === DimseStatus.ElementsDiscarded) return 'Warning: elements discarded';
    if (inStatusRange(status, DimseStatus.OutOfResources)) return 'Refused: out of resources';
    if (inStatusRange(status, DimseStatus.DataSetDoesNotMatchSopClass)) return 'Error: data set does not match SOP class';
    if (inStatusRange(status, DimseStatus.CannotUnderstand)) return 'Error: cannot understand';
    if (status === DimseStatus.SopClassNotSupported) return 'Refused: SOP class not supported';
    if (status === DimseStatus.NotAuthorized) return 'Refused: not authorized';
    if (status === DimseStatus.InvalidSopInstance) return 'Refused: invalid SOP instance';
    if (status === DimseStatus.UnrecognizedOperation) return 'Refused: unrecognized operation';
    if (status === DimseStatus.ResourceLimitation) return 'Refused: resource limitation';
    if (status === DimseStatus.ProcessingFailure) return 'Failure: processing failure';
    return 'Failure';
  })();
  return `${name} (${hex})`;
}
