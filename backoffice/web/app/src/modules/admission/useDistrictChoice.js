// The district an admission page works on: the staff member's own, or for
// city staff the one chosen in the page header's select.
import { computed, ref } from 'vue';
import { showError } from '@/shared/notify.js';
import { isCityStaff, loadDistricts, session } from '@/session.js';

/** Returns { cityStaff, chosenDistrict, district }. City staff set chosenDistrict, and district is '' until they do. */
export function useDistrictChoice() {
  const cityStaff = computed(isCityStaff);
  const chosenDistrict = ref('');
  const district = computed(() => (cityStaff.value ? chosenDistrict.value : session.staff?.districtCode || ''));
  if (cityStaff.value) loadDistricts().catch(showError);
  return { cityStaff, chosenDistrict, district };
}
