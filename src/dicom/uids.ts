// The DICOM UIDs the node names in its code (PS3.6 Annex A): the SOP classes it receives, creates or skips, the
// transfer syntaxes whose encoding it handles itself, and what a UID may look like. Every module takes them from here.

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
export const ENHANCED_MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4.1';
export const LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4.4';
export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
/** A DICOMDIR: an index of a medium, never an image. */
export const MEDIA_STORAGE_DIRECTORY_STORAGE = '1.2.840.10008.1.3.10';

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
export const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';
export const JPEG_LOSSLESS = '1.2.840.10008.1.2.4.57';
export const JPEG_LOSSLESS_SV1 = '1.2.840.10008.1.2.4.70';
export const JPEG_LS_LOSSLESS = '1.2.840.10008.1.2.4.80';
export const JPEG_LS_NEAR_LOSSLESS = '1.2.840.10008.1.2.4.81';
export const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';
export const JPEG_2000 = '1.2.840.10008.1.2.4.91';
export const JPEG_XL_LOSSLESS = '1.2.840.10008.1.2.4.110';
export const JPEG_XL_JPEG_RECOMPRESSION = '1.2.840.10008.1.2.4.111';
export const JPEG_XL = '1.2.840.10008.1.2.4.112';
export const HTJ2K_LOSSLESS = '1.2.840.10008.1.2.4.201';
export const HTJ2K_LOSSLESS_RPCL = '1.2.840.10008.1.2.4.202';
export const HTJ2K = '1.2.840.10008.1.2.4.203';

/**
 * A DICOM UID (PS3.5 9.1): 1–64 characters, components of digits separated by dots. Leading zeros in a component
 * are not conformant but real scanners send them, and they do no harm to a file name.
 */
export function isValidUid(uid: string | undefined): uid is string {
  return typeof uid === 'string' && uid.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(uid);
}
