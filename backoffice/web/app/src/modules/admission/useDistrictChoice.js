// The district an admission page works on: the staff member's own, or for
// city staff the one chosen in the page header's select.
import { computed, ref } from 'vue';
import { admissionStrings as strings } from './strings.js';
import { showError } from '@/shared/notify.js';
import { isCityStaff, loadDistricts, session } from '@/session.js';

/**
 * Returns { cityStaff, chosenDistrict, district, emptyText }. City staff set
 * chosenDistrict, and district is '' until they do. Street and kindergarten
 * staff get no district, because the admission API serves whole districts,
 * and emptyText explains it to them.
 */
export function useDistrictChoice() {
  const cityStaff = computed(isCityStaff);
  const chosenDistrict = ref('');
  const district = computed(() => {
    if (cityStaff.value) return chosenDistrict.value;
    return session.staff?.scopeLevel === 'district' ? session.staff.districtCode || '' : '';
  });
  const emptyText = computed(() => (cityStaff.value ? strings.chooseDistrict : strings.districtStaffOnly));
  if (cityStaff.value) loadDistricts().catch(showError);
  return { cityStaff, chosenDistrict, district, emptyText };
}
