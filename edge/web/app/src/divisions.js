// Streets and committees loaded so far, shared by every picker on the page
// and read by the checks (a street without committees needs none chosen).
import { reactive } from 'vue';
import { api } from './api.js';

export const streetsByDistrict = reactive({});
export const committeesByStreet = reactive({});

export async function loadStreets(districtCode) {
  if (!streetsByDistrict[districtCode]) streetsByDistrict[districtCode] = await api.streets(districtCode);
  return streetsByDistrict[districtCode];
}

export async function loadCommittees(streetCode) {
  if (!committeesByStreet[streetCode]) committeesByStreet[streetCode] = await api.committees(streetCode);
  return committeesByStreet[streetCode];
}

/**
 * Reports whether a committee must be chosen in the street. A street whose
 * list has not loaded counts as having none, and the edge then judges.
 */
export function committeesRequired(streetCode) {
  return (committeesByStreet[streetCode] || []).length > 0;
}
