// What a C-STORE response status means for the sender (PS3.4 B.2.3, PS3.7 C): stored or not, and whether trying
// again later can help. Only Success and the Warning codes mean the archive holds the object.
import { DimseStatus, inStatusRange } from '../dicom/status.js';

export type StatusClass = 'success' | 'warning' | 'transient' | 'permanent';

export function classifyStatus(status: number): StatusClass {
  if (status === DimseStatus.Success) return 'success';
  // 0001 warning, 0107 attribute list error, B000/B006/B007 coercion / elements discarded.
  if (status === DimseStatus.Warning || status === DimseStatus.AttributeListError || inStatusRange(status, DimseStatus.CoercionOfDataElements)) return 'warning';
  // A7xx Refused: Out of Resources; 0213 Resource limitation; 0210 duplicate invocation (an earlier attempt is
  // still being processed): an archive that is full or busy now may accept later.
  if (inStatusRange(status, DimseStatus.OutOfResources) || status === DimseStatus.ResourceLimitation || status === DimseStatus.DuplicateInvocation) return 'transient';
  // A9xx data set does not match SOP class, Cxxx cannot understand, 0122 SOP class not supported, 0124 not
  // authorized, 0117 invalid instance, …: sending the same bytes again gives the same answer.
  return 'permanent';
}
