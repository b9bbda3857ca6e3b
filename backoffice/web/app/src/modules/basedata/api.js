import { api } from '@/api/client.js';

/** GET /dictionaries: {items: [{code, name, description, cityItems, overrides}]}. */
export function listDictionaries() {
  return api.get('/dictionaries');
}

/**
 * GET /dictionaries/{code}/items: {dictionary, districtCode, items,
 * cityItems, overrides}. items are the effective items of the district
 * (or of the city without one); cityItems and overrides carry editable.
 * Without district a district's staff member gets their own district.
 */
export function listDictionaryItems(code, district) {
  return api.get(`/dictionaries/${encodeURIComponent(code)}/items`, { district });
}

/** POST /dictionaries/{code}/items: a city item, or a district's override when districtCode is set. */
export function createDictionaryItem(code, item) {
  return api.post(`/dictionaries/${encodeURIComponent(code)}/items`, item);
}

/** PUT /dictionaries/{code}/items/{id}: the label, sort order and enabled flag; the value cannot change. */
export function updateDictionaryItem(code, id, item) {
  return api.put(`/dictionaries/${encodeURIComponent(code)}/items/${id}`, item);
}

/** DELETE /dictionaries/{code}/items/{id}. Deleting an override brings the city item back in its district. */
export function deleteDictionaryItem(code, id) {
  return api.delete(`/dictionaries/${encodeURIComponent(code)}/items/${id}`);
}

/** GET /org/tree: the districts without parent, else the children of a node ID such as "district:310104". */
export function fetchOrgChildren(parent) {
  return api.get('/org/tree', { parent });
}

/** GET /org/search: {nodes, truncated}, the nodes whose name contains q, each with the path of its ancestors. */
export function searchOrg(q) {
  return api.get('/org/search', { q });
}
