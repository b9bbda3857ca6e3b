// The range and drill-down position shared by a dashboard page's panels.
import { computed, reactive } from 'vue';
import { dashboardStrings as strings } from './strings.js';

export function useDrillDown() {
  const state = reactive({
    period: 'all',
    date: '',
    range: [],
    district: '',
    districtName: '',
    street: '',
    streetName: '',
  });

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

  const breadcrumb = computed(() => {
    const items = [{ level: 'city', name: strings.city }];
    if (state.district) items.push({ level: 'district', name: state.districtName || state.district });
    if (state.street) items.push({ level: 'street', name: state.streetName || state.street });
    return items;
  });

  /** Drills into an area of the current breakdown; kindergartens are the bottom. */
  function drill(code, name) {
    if (childLevel.value === 'district') Object.assign(state, { district: code, districtName: name });
    else if (childLevel.value === 'street') Object.assign(state, { street: code, streetName: name });
  }

  /** Goes back up to level ('city' or 'district'). */
  function climb(level) {
    if (level === 'city') Object.assign(state, { district: '', districtName: '', street: '', streetName: '' });
    if (level === 'district') Object.assign(state, { street: '', streetName: '' });
  }

  return { state, query, childLevel, breadcrumb, drill, climb };
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
