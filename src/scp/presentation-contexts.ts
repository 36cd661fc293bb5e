// What the SCP accepts: Verification, and the storage SOP classes a PACS sends along with an MR study, in every
// transfer syntax that archives commonly hold MR in. Instances are stored as received, never transcoded.
import {
  ENHANCED_MR_IMAGE_STORAGE, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
  JPEG_2000, JPEG_2000_LOSSLESS, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS, JPEG_LOSSLESS_SV1, JPEG_LS_LOSSLESS,
  JPEG_LS_NEAR_LOSSLESS, LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE, RLE_LOSSLESS,
  SEGMENTATION_STORAGE, VERIFICATION_SOP_CLASS,
} from '../dicom/uids.js';

export const STORAGE_SOP_CLASSES: Record<string, string> = {
  [MR_IMAGE_STORAGE]: 'MR Image Storage',
  [ENHANCED_MR_IMAGE_STORAGE]: 'Enhanced MR Image Storage',
  '1.2.840.10008.5.1.4.1.1.4.2': 'MR Spectroscopy Storage',
  '1.2.840.10008.5.1.4.1.1.4.3': 'Enhanced MR Color Image Storage',
  [LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE]: 'Legacy Converted Enhanced MR Image Storage',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.1': 'Multi-frame Single Bit Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.2': 'Multi-frame Grayscale Byte Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.3': 'Multi-frame Grayscale Word Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.4': 'Multi-frame True Color Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State Storage',
  '1.2.840.10008.5.1.4.1.1.30': 'Parametric Map Storage',
  '1.2.840.10008.5.1.4.1.1.66': 'Raw Data Storage',
  '1.2.840.10008.5.1.4.1.1.66.1': 'Spatial Registration Storage',
  [SEGMENTATION_STORAGE]: 'Segmentation Storage',
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.59': 'Key Object Selection Document Storage',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF Storage',
  '1.3.12.2.1107.5.9.1': 'Siemens CSA Non-Image Storage',
};

export const TRANSFER_SYNTAXES: Record<string, string> = {
  [IMPLICIT_VR_LITTLE_ENDIAN]: 'Implicit VR Little Endian',
  [EXPLICIT_VR_LITTLE_ENDIAN]: 'Explicit VR Little Endian',
  [EXPLICIT_VR_BIG_ENDIAN]: 'Explicit VR Big Endian',
  [RLE_LOSSLESS]: 'RLE Lossless',
  [JPEG_BASELINE]: 'JPEG Baseline (Process 1)',
  [JPEG_EXTENDED]: 'JPEG Extended (Process 2 & 4)',
  [JPEG_LOSSLESS]: 'JPEG Lossless, Non-Hierarchical (Process 14)',
  [JPEG_LOSSLESS_SV1]: 'JPEG Lossless, First-Order Prediction (Process 14 SV1)',
  [JPEG_LS_LOSSLESS]: 'JPEG-LS Lossless',
  [JPEG_LS_NEAR_LOSSLESS]: 'JPEG-LS Near-Lossless',
  [JPEG_2000_LOSSLESS]: 'JPEG 2000 Lossless Only',
  [JPEG_2000]: 'JPEG 2000',
};

/**
 * The transfer syntax to accept from those proposed for one presentation context: the sender's first choice that
 * we can store, so that it never has to transcode (and the stored bytes are the archive's own).
 */
export function chooseTransferSyntax(abstractSyntaxUid: string, proposed: string[]): string | undefined {
  if (abstractSyntaxUid === VERIFICATION_SOP_CLASS) {
    return proposed.find((ts) => ts === IMPLICIT_VR_LITTLE_ENDIAN || ts === EXPLICIT_VR_LITTLE_ENDIAN || ts === EXPLICIT_VR_BIG_ENDIAN);
  }
  return proposed.find((ts) => ts in TRANSFER_SYNTAXES);
}
