// The range and drill-down position shared by a dashboard page's panels.
import { computed, reactive } from 'vue';
import { session } from '@/session.js';
import { dashboardStrings as strings } from './strings.js';

/**
 * Returns the area the signed-in staff member's scope starts at: the whole
 * city, their district, or their street (kindergarten staff see their
 * kindergarten's street). The API returns the same area when no district or
 * street is sent, and rejects any area outside it.
 */
function ownArea(staff) {
  switch (staff?.scopeLevel) {
    case 'district':
      return { level: 'district', district: staff.districtCode, districtName: staff.districtName || staff.districtCode };
    case 'street':
    case 'kindergarten':
      return {
        level: 'street',
        district: staff.districtCode,
        districtName: staff.districtName || staff.districtCode,
        street: staff.streetCode,
        // NOTE: GET /me returns no street name, so the breadcrumb names the
        // street generically.
        streetName: strings.ownStreet,
      };
    default:
      return { level: 'city', district: '', districtName: '', street: '', streetName: '' };
  }
}

export function useDrillDown() {
  const own = ownArea(session.staff);
  const state = reactive({
    period: 'all',
    date: '',
    range: [],
    district: own.district,
    districtName: own.districtName,
    street: own.street || '',
    streetName: own.streetName || '',
  });

  /** Whether the range is complete: a custom range needs both dates. */
  const ready = computed(() => state.period !== 'custom' || Boolean(state.range?.[0] && state.range?.[1]));

  /** The query every panel call sends. */
  const query = computed(() => ({
    period: state.period,
    date: state.period !== 'custom' && state.period !== 'all' ? state.date : undefined,
    from: state.period === 'custom' ? state.range?.[0] : undefined,
    to: state.period === 'custom' ? state.range?.[1] : undefined,
    district: state.district || undefined,
    street: state.street || undefined,
  }));

  /** Returns the level whose areas the breakdowns list. */
  const childLevel = computed(() => {
    if (state.street) return 'kindergarten';
    if (state.district) return 'street';
    return 'district';
  });

  /** The breadcrumb from the viewer's own area down to the current one. */
  const breadcrumb = computed(() => {
    const items = [];
    if (own.level === 'city') items.push({ level: 'city', name: strings.city });
    if (state.district && own.level !== 'street') items.push({ level: 'district', name: state.districtName || state.district });
    if (state.street) items.push({ level: 'street', name: state.streetName || state.street });
    return items;
  });

  /** Drills into an area of the current breakdown; kindergartens are the bottom. */
  function drill(code, name) {
    if (childLevel.value === 'district') Object.assign(state, { district: code, districtName: name });
    else if (childLevel.value === 'street') Object.assign(state, { street: code, streetName: name });
  }

  /** Goes back up to level ('city' or 'district'), but not above the viewer's own area. */
  function climb(level) {
    const order = ['city', 'district', 'street'];
    if (order.indexOf(level) < order.indexOf(own.level)) return;
    if (level === 'city') Object.assign(state, { district: '', districtName: '', street: '', streetName: '' });
    if (level === 'district') Object.assign(state, { street: '', streetName: '' });
  }

  return { state, ready, query, childLevel, breadcrumb, drill, climb };
}

/** Formats a rate as a percentage with one decimal. */
export const percent = (value) => (value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`);

/** Formats a count with thousands separators. */
export const count = (value) => (value === null || value === undefined ? '—' : Number(value).toLocaleString('zh-CN'));

/** Formats a trend bucket's time for its bucket size. */
export function bucketLabel(bucket) {
  return (at) => {
    const date = new Date(at);
    const pad = (n) => String(n).padStart(2, '0');
    const day = `${date.getMonth() + 1}-${pad(date.getDate())}`;
    if (bucket === 'hour') return `${pad(date.getHours())}:00`;
    if (bucket === 'month') return `${date.getFullYear()}-${pad(date.getMonth() + 1)}`;
    return day;
  };
}
