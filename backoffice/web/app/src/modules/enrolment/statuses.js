// Tag colours of the enrolment statuses. Each tag also shows its label, so
// the colour is never the only cue.
const tagTypes = {
  recorded: 'info',
  verified: 'success',
  needs_manual_verification: 'warning',
  documents_verified: 'primary',
  returned: 'warning',
  admitted: 'success',
  not_admitted: 'danger',
  deleted: 'info',
};

/** Returns the Element Plus tag type of a status, 'info' for an unknown one. */
export function statusTagType(status) {
  return tagTypes[status] || 'info';
}
