// Who brainstrip is in the DICOM world: the Manufacturer of every object it creates (and by which loop protection
// recognises them on the way back in), and the implementation it writes into every file meta header it makes
// (results and spooled instances alike).
export const MANUFACTURER = 'brainstrip';

/** brainstrip's implementation class UID (PS3.7 D.3.3.2), a fixed UUID-derived UID. */
export const IMPLEMENTATION_CLASS_UID = '2.25.53716988225638326896631341756211899713';
export const IMPLEMENTATION_VERSION_NAME = 'BRAINSTRIP_01';
