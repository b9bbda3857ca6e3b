package enrolment

import (
	"context"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// SequenceFloor is the highest sequence stored under one of the number
// counters the edge draws from in Redis: a year's registrations, or a year
// and district's applications.
type SequenceFloor struct {
	Kind     string // enrol.KindRegistration or enrol.KindApplication
	Year     int
	District string // the district code of an application counter
	Sequence int64
}

// sequenceFloorsQuery finds the highest number stored under each counter.
// Each bound is a full-length string of digits, so the comparison reads a
// range of the primary key's index whatever the database's collation. The
// bounds stop below sequence 9,000,000, where the generated load-test and
// demo records are numbered (dashboard generate-enrolment).
const sequenceFloorsQuery = `
SELECT y.year, '', (SELECT max(registration_number) FROM registration
                    WHERE registration_number BETWEEN CAST(y.year || '00000000' AS char(12))
                                                  AND CAST(y.year || '89999999' AS char(12)))
FROM enrolment_year y
UNION ALL
SELECT y.year, d.code, (SELECT max(application_number) FROM application
                        WHERE application_number BETWEEN CAST(y.year || right(d.code, 2) || '00000000' AS char(14))
                                                      AND CAST(y.year || right(d.code, 2) || '89999999' AS char(14)))
FROM enrolment_year y CROSS JOIN district d`

// SequenceFloors returns the highest sequence stored under every counter
// that has stored numbers. A counter in Redis below its floor would hand
// out stored numbers again, as after Redis restarts from an append-only
// file that missed its last second, or fails over to a replica that lagged.
func (s *Store) SequenceFloors(ctx context.Context) ([]SequenceFloor, error) {
	rows, err := s.DB.QueryContext(ctx, sequenceFloorsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var floors []SequenceFloor
	for rows.Next() {
		var floor SequenceFloor
		var number *string
		if err := rows.Scan(&floor.Year, &floor.District, &number); err != nil {
			return nil, err
		}
		if number == nil {
			continue
		}
		floor.Kind = enrol.KindRegistration
		if floor.District != "" {
			floor.Kind = enrol.KindApplication
		}
		floor.Sequence = enrol.NumberSequence(*number)
		floors = append(floors, floor)
	}
	return floors, rows.Err()
}
