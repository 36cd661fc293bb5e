// Each area adds its section here. Keep one import and one key per area.
export const sectionsByArea = {};
