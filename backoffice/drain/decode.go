package drain

import (
	"fmt"

	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// decodedBatch is a batch of stream entries split by kind.
type decodedBatch struct {
	entries       []decodedEntry
	registrations []enrol.RegistrationRecord
	applications  []enrol.ApplicationRecord
	malformed     []malformedEntry
}

// decodedEntry points from a stream entry to its record in the batch.
type decodedEntry struct {
	entry  rueidis.XRangeEntry
	kind   string
	number string
	index  int
	// year and childIndex name the record's claim in Redis.
	year       int
	childIndex []byte
	// registrationTaken is set by finish for an application whose
	// registration number is stored for another child.
	registrationTaken bool
}

type malformedEntry struct {
	entry  rueidis.XRangeEntry
	kind   string
	number string
	reason string
}

// decode parses stream entries. An entry that cannot be parsed (its data
// trimmed away, an unknown kind, a broken body) is set aside as malformed,
// because no retry can fix it.
func decode(entries []rueidis.XRangeEntry) *decodedBatch {
	batch := &decodedBatch{}
	for _, entry := range entries {
		kind := entry.FieldValues[enrol.StreamFieldKind]
		number := entry.FieldValues[enrol.StreamFieldNumber]
		body, hasBody := entry.FieldValues[enrol.StreamFieldBody]
		if entry.FieldValues == nil || !hasBody {
			batch.malformed = append(batch.malformed, malformedEntry{entry, kind, number, "entry has no data (trimmed before it was stored?)"})
			continue
		}
		if enrol.NumberKind(number) != kind {
			batch.malformed = append(batch.malformed, malformedEntry{entry, kind, number, fmt.Sprintf("number %q does not fit kind %q", number, kind)})
			continue
		}
		switch kind {
		case enrol.KindRegistration:
			record, err := enrol.DecodeRegistration(number, []byte(body))
			if err != nil {
				batch.malformed = append(batch.malformed, malformedEntry{entry, kind, number, err.Error()})
				continue
			}
			batch.entries = append(batch.entries, decodedEntry{
				entry: entry, kind: kind, number: number, index: len(batch.registrations),
				year: record.Year, childIndex: record.ChildIndex,
			})
			batch.registrations = append(batch.registrations, record)
		case enrol.KindApplication:
			record, err := enrol.DecodeApplication(number, []byte(body))
			if err != nil {
				batch.malformed = append(batch.malformed, malformedEntry{entry, kind, number, err.Error()})
				continue
			}
			batch.entries = append(batch.entries, decodedEntry{
				entry: entry, kind: kind, number: number, index: len(batch.applications),
				year: record.Year, childIndex: record.ChildIndex,
			})
			batch.applications = append(batch.applications, record)
		default:
			batch.malformed = append(batch.malformed, malformedEntry{entry, kind, number, fmt.Sprintf("unknown kind %q", kind)})
		}
	}
	return batch
}
