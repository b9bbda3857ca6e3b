package enrolment

import "fmt"

// AdmissionLockClass and AdmissionLockKey name the transaction-level
// advisory lock of a district's admission round in one year, as
// pg_advisory_xact_lock(AdmissionLockClass, hashtext(AdmissionLockKey(...))).
// Proposals and confirmations take it exclusive, and InsertBatch takes it
// shared for each district and year of the applications it stores. So an
// application commits either before a confirmation checks the proposal,
// which then finds it unplaced, or after the confirmation commits.
const AdmissionLockClass = 7140014

// AdmissionLockKey returns the text whose hash is the lock's second key.
func AdmissionLockKey(year int, district string) string {
	return fmt.Sprintf("admission:%d:%s", year, district)
}
