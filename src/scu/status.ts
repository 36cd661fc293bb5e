// What a C-STORE response status means for the sender (PS3.4 B.2.3, PS3.7 C): stored or not, and whether trying
// again later can help. Only Success and the Warning codes mean the archive holds the object.

export type StatusClass = 'success' | 'warning' | 'transient' | 'permanent';

export function classifyStatus(status: number): StatusClass {
  if (status === 0x0000) return 'success';
  // 0001 attribute list error, 0107 attribute value out of range, B000/B006/B007 coercion / elements discarded.
  if (status === 0x0001 || status === 0x0107 || (status >= 0xb000 && status <= 0xbfff)) return 'warning';
  // A7xx Refused: Out of Resources; 0213 Resource limitation; 0210 duplicate invocation (an earlier attempt is
  // still being processed): an archive that is full or busy now may accept later.
  if ((status >= 0xa700 && status <= 0xa7ff) || status === 0x0213 || status === 0x0210) return 'transient';
  // A9xx data set does not match SOP class, Cxxx cannot understand, 0122 SOP class not supported, 0124 not
  // authorized, 0117 invalid instance, …: sending the same bytes again gives the same answer.
  return 'permanent';
}

export function describeStatus(status: number): string {
  const hex = `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = (() => {
    if (status === 0x0000) return 'Success';
    if (status === 0x0001 || status === 0x0107) return 'Warning';
    if (status === 0xb000) return 'Warning: coercion of data elements';
    if (status === 0xb007) return 'Warning: data set does not match SOP class';
    if (status === 0xb006) return 'Warning: elements discarded';
    if (status >= 0xa700 && status <= 0xa7ff) return 'Refused: out of resources';
    if (status >= 0xa900 && status <= 0xa9ff) return 'Error: data set does not match SOP class';
    if (status >= 0xc000 && status <= 0xcfff) return 'Error: cannot understand';
    if (status === 0x0122) return 'Refused: SOP class not supported';
    if (status === 0x0124) return 'Refused: not authorized';
    if (status === 0x0117) return 'Refused: invalid SOP instance';
    if (status === 0x0211) return 'Refused: unrecognized operation';
    if (status === 0x0213) return 'Refused: resource limitation';
    if (status === 0x0110) return 'Failure: processing failure';
    return 'Failure';
  })();
  return `${name} (${hex})`;
}
