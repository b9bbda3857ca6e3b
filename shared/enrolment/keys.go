package enrolment

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// Keys builds the Redis key names of the enrolment path. Every key starts
// with Prefix, so tests and several deployments can share one Redis.
type Keys struct {
	Prefix string
}

// Stream is the stream of accepted submissions that the back office drains.
func (k Keys) Stream() string { return k.Prefix + "stream:submissions" }

// DeadLetter is the stream of entries the back office gave up on, with the reason.
func (k Keys) DeadLetter() string { return k.Prefix + "stream:dead-letter" }

// ConsumerGroup is the name of the back office's consumer group.
func (k Keys) ConsumerGroup() string { return "backoffice" }

// Watermark is the stream entry ID below which every entry has been stored
// (or dead-lettered) and acknowledged; see EffectiveStatus.
func (k Keys) Watermark() string { return k.Prefix + "drain:watermark" }

// DeadLettered marks a stream entry that the drainer copied to the
// dead-letter stream, so a second delivery of it adds no second copy.
func (k Keys) DeadLettered(entryID string) string { return k.Prefix + "drain:dead-lettered:" + entryID }

// Deliveries counts failed attempts to store each stream entry.
func (k Keys) Deliveries() string { return k.Prefix + "drain:failures" }

// RegistrationClaim maps a child and year to the first registration number
// and the hash of the payload it was made with.
func (k Keys) RegistrationClaim(year int, childIndex []byte) string {
	return k.Prefix + "claim:reg:" + strconv.Itoa(year) + ":" + hex.EncodeToString(childIndex)
}

// ApplicationClaim maps a child and year to the live application number, its
// payload hash and district.
func (k Keys) ApplicationClaim(year int, childIndex []byte) string {
	return k.Prefix + "claim:app:" + strconv.Itoa(year) + ":" + hex.EncodeToString(childIndex)
}

// RegistrationSequence is the counter behind a year's registration numbers.
func (k Keys) RegistrationSequence(year int) string {
	return k.Prefix + "seq:reg:" + strconv.Itoa(year)
}

// ClaimValue is the value of a child's claim: the number, the hex payload
// hash and, for a registration, the owner index in hex, for an
// application, the district code. The edge's claim scripts write the same.
func ClaimValue(number string, payloadHash []byte, ownerOrDistrict string) string {
	return number + "|" + hex.EncodeToString(payloadHash) + "|" + ownerOrDistrict
}

// ApplicationSequence is the counter behind a district's application numbers.
func (k Keys) ApplicationSequence(year int, districtCode string) string {
	return k.Prefix + "seq:app:" + strconv.Itoa(year) + ":" + districtCode
}

// ReceiptPrefix precedes a receipt number in the key of its status hash.
func (k Keys) ReceiptPrefix() string { return k.Prefix + "receipt:" }

// Receipt is the hash with the status and facts of one receipt.
func (k Keys) Receipt(number string) string { return k.ReceiptPrefix() + number }

// PrintLayout holds the print layout of one form schema version, which
// registration receipts name by id instead of each carrying a copy.
func (k Keys) PrintLayout(id string) string { return k.Prefix + "printlayout:" + id }

// OwnerPrefix precedes an owner index in the key of the owner's receipt set.
func (k Keys) OwnerPrefix() string { return k.Prefix + "owner:" }

// OwnerReceipts is the set of receipt numbers a parent holds. A member may
// also name a rejected receipt (RejectedReceipt).
func (k Keys) OwnerReceipts(ownerIndex []byte) string {
	return k.OwnerPrefix() + hex.EncodeToString(ownerIndex)
}

// Snapshot is the published edge configuration (gzip-compressed JSON).
func (k Keys) Snapshot() string { return k.Prefix + "config:snapshot" }

// SnapshotVersion is the version number of the published snapshot, so a
// poller can skip downloading an unchanged one.
func (k Keys) SnapshotVersion() string { return k.Prefix + "config:version" }

// SnapshotChannel carries the version number of each new snapshot.
func (k Keys) SnapshotChannel() string { return k.Prefix + "config:changed" }

// Receipt hash fields.
const (
	FieldKind       = "kind"
	FieldStatus     = "status"
	FieldOwner      = "owner"
	FieldAcceptedAt = "accepted_at"
	FieldRecordedAt = "recorded_at"
	// FieldEntry holds the ID of the receipt's stream entry.
	FieldEntry = "entry"
	FieldNote  = "note"
	// FieldFirstNumber holds the number of the record kept instead of this one
	// when its status is StatusRejectedDuplicate.
	FieldFirstNumber = "first_number"
	// FieldNumberTaken marks the receipt of a submission that was handed a
	// number already stored for another child. Its key now names that
	// child's record too, so the back office's status writes for the record
	// skip a receipt with this field.
	FieldNumberTaken = "number_taken"

	// FieldRecord holds a registration's stream body, from which the edge
	// prints the form, and FieldPrintLayoutID the ID of the print layout
	// of the schema version it was made with (Keys.PrintLayout).
	FieldRecord        = "record"
	FieldPrintLayoutID = "print_layout_id"
	// FieldFacts holds a registration's facts for the application step,
	// packed by PackRegistrationFacts.
	FieldFacts = "facts"

	// Fields of an application's receipt: its year, registration number,
	// district, household category and campus choices (IDs joined by
	// commas, in ranked order).
	FieldYear         = "year"
	FieldRegistration = "registration"
	FieldDistrict     = "district"
	FieldCategory     = "category"
	FieldChoices      = "choices"
	// FieldSupplementary is "1" on the receipt of a supplementary
	// application, which staff made for the family.
	FieldSupplementary = "supplementary"
)

// RejectedSeparator joins a number and its owner in the name of a rejected
// receipt (RejectedReceipt). Receipt numbers are digits, so such a name is
// never a number.
const RejectedSeparator = ":rejected:"

// RejectedReceipt names, in the owner's set and as Keys.Receipt's argument,
// the receipt of a submission that was handed a number stored for another
// record, once the back office gave the number's receipt back to that
// record's family (backoffice/receipts). The rejected family reads it in
// its list like any receipt.
func RejectedReceipt(number, ownerHex string) string {
	return number + RejectedSeparator + ownerHex
}

// ReceiptNumber returns the number of a receipt named in an owner's set:
// the name itself, or the number of a rejected receipt.
func ReceiptNumber(name string) string {
	number, _, _ := strings.Cut(name, RejectedSeparator)
	return number
}
