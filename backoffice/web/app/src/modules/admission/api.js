// API calls of the admission module. Changes go through request(), which
// adds the session's CSRF token.
import { api } from '@/api/client.js';

/** GET /admission/rules: the district's rules for the year (the defaults until saved), the choices and the round's status. */
export function getRules({ district, year }) {
  return api.get('/admission/rules', { district, year });
}

/** PUT /admission/rules: replaces the district's rules and returns them as GET does. */
export function saveRules(rules) {
  return api.put('/admission/rules', rules);
}

/** POST /admission/proposal: computes the proposed admission list again and returns its summary. */
export function runProposal({ district, year }) {
  return api.post('/admission/proposal', { districtCode: district, year });
}

/** GET /admission/proposal: the round, every campus's seats and one page of the proposal, optionally of one campus or outcome. */
export function getProposal({ district, year, campus, outcome, page, size }, signal) {
  return api.get('/admission/proposal', { district, year, campus, outcome, page, size }, { signal });
}

/** POST /admission/proposal/resync: writes a confirmed round's outcomes into the parents' receipts again. */
export function resyncProposal({ district, year }) {
  return api.post('/admission/proposal/resync', { districtCode: district, year });
}

/** POST /admission/proposal/confirm: makes the list final, sets the statuses and queues the notices. */
export function confirmProposal({ district, year }) {
  return api.post('/admission/proposal/confirm', { districtCode: district, year });
}
