package enrolment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// StoredRegistration is a registration as PostgreSQL holds it: the record
// the drainer stored, read back, and what has happened to it since.
type StoredRegistration struct {
	Record     enrol.RegistrationRecord
	Status     string
	Note       string // the verifier's note, if any
	RecordedAt time.Time
}

// StoredApplication is an application as PostgreSQL holds it, with the
// reason the family was given for a return, a deletion or an admission
// outcome, where there is one.
type StoredApplication struct {
	Record     enrol.ApplicationRecord
	Status     string
	RecordedAt time.Time
	// ReturnReason is the reason of the application's return.
	ReturnReason string
	// DeletionReason is the reason of the approved deletion request.
	DeletionReason string
	// AdmissionReason and AdmittedCampus come from the confirmed admission
	// proposal: the reason of an outcome not admitted, and the campus
	// ("kindergarten（campus）") of an admission.
	AdmissionReason string
	AdmittedCampus  string
}

// StoredStatus is a stored record's number and status, with the year and
// child index that name the child's claim.
type StoredStatus struct {
	Number     string
	Status     string
	Year       int
	ChildIndex []byte
}

// StoredStatuses returns up to limit numbers of kind (enrol.KindRegistration
// or enrol.KindApplication) stored after the number after and accepted
// after since, in order, with their statuses. It leaves out the generated
// load-test and demo records (sequence 9,000,000 and up, see
// sequenceFloorsQuery), which have no family behind them.
func (s *Store) StoredStatuses(ctx context.Context, kind, after string, since time.Time, limit int) ([]StoredStatus, error) {
	query := `SELECT registration_number, status, enrolment_year, child_index FROM registration
		WHERE registration_number > $1 AND substr(registration_number, 5, 1) <> '9' AND accepted_at > $2
		ORDER BY registration_number LIMIT $3`
	if kind == enrol.KindApplication {
		query = `SELECT application_number, status, enrolment_year, child_index FROM application
			WHERE application_number > $1 AND substr(application_number, 7, 1) <> '9' AND accepted_at > $2
			ORDER BY application_number LIMIT $3`
	}
	rows, err := s.DB.QueryContext(ctx, query, after, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list stored %s numbers: %w", kind, err)
	}
	defer rows.Close()
	var statuses []StoredStatus
	for rows.Next() {
		var status StoredStatus
		if err := rows.Scan(&status.Number, &status.Status, &status.Year, &status.ChildIndex); err != nil {
			return nil, fmt.Errorf("list stored %s numbers: %w", kind, err)
		}
		statuses = append(statuses, status)
	}
	return statuses, rows.Err()
}

// LoadRegistrations reads the stored registrations with the given numbers.
// A number not stored is left out.
func (s *Store) LoadRegistrations(ctx context.Context, numbers []string) ([]StoredRegistration, error) {
	query := `SELECT ` + strings.Join(registrationColumns, ", ") + `, status, coalesce(verification_note, ''), recorded_at
		FROM registration WHERE registration_number = ANY($1) ORDER BY registration_number`
	stored, err := loadRows(ctx, s, query, numbers, func(rows pgx.Rows) (StoredRegistration, error) {
		var row StoredRegistration
		r := &row.Record
		var year int16
		var schemaVersion int32
		var birth time.Time
		var documentNumber, hukouAddress, formValues []byte
		var province, hukouDistrict, hukouStreet, hukouCommittee, residenceCommittee, residenceDocument *string
		var fetched, uploaded []string
		if err := rows.Scan(
			&r.Number, &year, &r.ChildIndex, &r.ChildDocumentType, &documentNumber,
			&r.SealedChildName, &r.ChildSex, &birth, &r.ChildNationality, &r.CategoryGroup,
			&r.HukouInShanghai, &province, &hukouDistrict, &hukouStreet, &hukouCommittee,
			&hukouAddress, &r.ResidenceDistrict, &r.ResidenceStreet, &residenceCommittee, &r.SealedResidenceAddr,
			&r.HukouAtResidence, &r.SealedGuardians, &r.GuardianIndexes, &r.GuardianShanghaiHukou, &residenceDocument,
			&r.GuardianPoints, &formValues, &schemaVersion, &r.KeyID, &r.PayloadHash,
			&r.OwnerIndex, &r.Supplementary, &r.AcceptedAt, &fetched, &uploaded,
			&row.Status, &row.Note, &row.RecordedAt,
		); err != nil {
			return row, err
		}
		r.Year, r.SchemaVersion = int(year), int(schemaVersion)
		r.ChildBirthDate = birth.Format(time.DateOnly)
		r.SealedChildDocumentNumber, r.SealedHukouAddress, r.SealedFormValues = documentNumber, hukouAddress, formValues
		r.HukouProvince, r.HukouDistrict, r.HukouStreet = text(province), text(hukouDistrict), text(hukouStreet)
		r.HukouCommittee, r.ResidenceCommittee, r.GuardianResidenceDoc = text(hukouCommittee), text(residenceCommittee), text(residenceDocument)
		r.CertificateSources = certificateSources(fetched, uploaded)
		return row, nil
	})
	if err != nil {
		return nil, fmt.Errorf("load stored registrations: %w", err)
	}
	return stored, nil
}

// LoadApplications reads the stored applications with the given numbers.
// A number not stored is left out.
func (s *Store) LoadApplications(ctx context.Context, numbers []string) ([]StoredApplication, error) {
	query := `SELECT ` + prefixed("a.", applicationColumns) + `, a.status, a.recorded_at,
		       coalesce(x.reason, ''),
		       CASE WHEN a.status = 'deleted' THEN
		           coalesce((SELECT d.reason FROM deletion_request d
		                     WHERE d.record_kind = 'application' AND d.record_number = a.application_number
		                       AND d.status = 'approved'
		                     ORDER BY d.decided_at DESC LIMIT 1), '')
		       ELSE '' END,
		       coalesce(p.reason, ''), coalesce(k.name || '（' || c.name || '）', '')
		FROM application a
		LEFT JOIN application_return x ON x.application_number = a.application_number
		LEFT JOIN admission_proposal p ON p.application_number = a.application_number
		LEFT JOIN campus c ON c.id = p.campus_id
		LEFT JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE a.application_number = ANY($1) ORDER BY a.application_number`
	stored, err := loadRows(ctx, s, query, numbers, func(rows pgx.Rows) (StoredApplication, error) {
		var row StoredApplication
		a := &row.Record
		var year int16
		var schemaVersion int32
		var uploaded []string
		if err := rows.Scan(
			&a.Number, &a.RegistrationNumber, &year, &a.ChildIndex, &a.DistrictCode,
			&a.EntryID, &a.CategoryCode, &a.CampusChoices, &a.SealedFormValues, &schemaVersion,
			&a.KeyID, &a.PayloadHash, &a.OwnerIndex, &a.Supplementary, &a.AcceptedAt, &uploaded,
			&row.Status, &row.RecordedAt, &row.ReturnReason, &row.DeletionReason, &row.AdmissionReason, &row.AdmittedCampus,
		); err != nil {
			return row, err
		}
		a.Year, a.SchemaVersion = int(year), int(schemaVersion)
		if uploaded != nil {
			a.CertificateSources = &enrol.CertificateSources{Uploaded: uploaded}
		}
		return row, nil
	})
	if err != nil {
		return nil, fmt.Errorf("load stored applications: %w", err)
	}
	return stored, nil
}

// loadRows runs query with the numbers and scans each row. It uses the
// pool's pgx connection, whose scanning reads arrays such as bytea[].
func loadRows[T any](ctx context.Context, s *Store, query string, numbers []string, scan func(pgx.Rows) (T, error)) ([]T, error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var loaded []T
	err = conn.Raw(func(driverConn any) error {
		rows, err := driverConn.(*stdlib.Conn).Conn().Query(ctx, query, numbers)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			row, err := scan(rows)
			if err != nil {
				return err
			}
			loaded = append(loaded, row)
		}
		return rows.Err()
	})
	return loaded, err
}

func prefixed(prefix string, columns []string) string {
	qualified := make([]string, len(columns))
	for i, column := range columns {
		qualified[i] = prefix + column
	}
	return strings.Join(qualified, ", ")
}

func text(value *string) string {
	if value == nil {
		return ""
	}
	return *value
}

// certificateSources is the inverse of fetchedTypes and uploadedTypes: nil
// when both columns are NULL (a record sealed before codec version 2).
func certificateSources(fetched, uploaded []string) *enrol.CertificateSources {
	if fetched == nil && uploaded == nil {
		return nil
	}
	return &enrol.CertificateSources{Fetched: nonNilTexts(fetched), Uploaded: nonNilTexts(uploaded)}
}
