// A list page with server-side paging whose filters, page and page size
// live in the URL query, so reload, back and forward show the same page.
import { reactive, ref, shallowRef, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { showError } from './notify.js';

export const pageSizes = [10, 20, 50, 100];
const defaultPageSize = 20;

function queryText(value) {
  return typeof value === 'string' ? value.trim() : '';
}

function sameQuery(left, right) {
  const leftKeys = Object.keys(left);
  return leftKeys.length === Object.keys(right).length && leftKeys.every((key) => left[key] === right[key]);
}

function queryNumber(value, fallback) {
  const number = Number.parseInt(queryText(value), 10);
  return Number.isInteger(number) && number > 0 ? number : fallback;
}

/**
 * Binds a list to the current route. `filterNames` are the URL query keys
 * of the filters, and `fetchPage(params, signal)` loads one page and
 * returns {total, items}. A newer load aborts the one still running.
 */
export function useServerList({ filterNames, fetchPage }) {
  const route = useRoute();
  const router = useRouter();
  const routeName = route.name;

  const draft = reactive(Object.fromEntries(filterNames.map((name) => [name, ''])));
  const applied = ref({});
  const page = ref(1);
  const size = ref(defaultPageSize);
  const items = shallowRef([]);
  const total = ref(0);
  const loading = ref(false);
  let controller = null;

  function readQuery() {
    const filters = {};
    for (const name of filterNames) {
      filters[name] = queryText(route.query[name]);
      draft[name] = filters[name];
    }
    applied.value = filters;
    page.value = queryNumber(route.query.page, 1);
    const requestedSize = queryNumber(route.query.size, defaultPageSize);
    size.value = pageSizes.includes(requestedSize) ? requestedSize : defaultPageSize;
  }

  async function load() {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    loading.value = true;
    try {
      const result = await fetchPage({ ...applied.value, page: page.value, size: size.value }, current.signal);
      items.value = result.items || [];
      total.value = result.total || 0;
    } catch (error) {
      if (error.name !== 'AbortError') {
        items.value = [];
        total.value = 0;
      }
      showError(error);
    } finally {
      if (controller === current) loading.value = false;
    }
  }

  function navigate(query) {
    const next = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== '' && value !== undefined));
    if (sameQuery(next, route.query)) load();
    else router.push({ name: routeName, query: next });
  }

  const search = () => navigate({ ...draft, page: '1', size: String(size.value) });
  const reset = () => navigate({ size: String(size.value) });
  const changePage = (number) => navigate({ ...applied.value, page: String(number), size: String(size.value) });
  const changeSize = (number) => navigate({ ...applied.value, page: '1', size: String(number) });
  const hasFilters = () => Object.values(applied.value).some((value) => value !== '');

  // The watcher runs only for this page's own route: while the router
  // moves to another page, the query changes before this page unmounts.
  watch(
    () => route.query,
    () => {
      if (route.name !== routeName) return;
      readQuery();
      load();
    },
    { immediate: true },
  );

  return { draft, applied, page, size, items, total, loading, search, reset, changePage, changeSize, hasFilters, reload: load };
}
