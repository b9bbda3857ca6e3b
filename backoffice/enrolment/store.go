// Package enrolment is the back office's side of the enrolment path: it
// stores the registrations and applications drained from the stream, and
// lists them for district staff within their data scope.
package enrolment

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Store writes and reads enrolment records.
type Store struct {
	DB *sqlx.DB
}

// Outcome is what storing one record did.
type Outcome struct {
	// Stored is true when the record is in the database: inserted now, or
	// inserted before by an earlier delivery of the same entry.
	Stored bool
	// FirstNumber is set when the record was not stored because the child
	// already has a record under another number, FirstNumber.
	FirstNumber string
	// OtherFamily is true, with FirstNumber, when that first record was
	// submitted by another family. Its number is then not shown to this
	// one, as the edge shows a second family only that the child is
	// registered.
	OtherFamily bool
	// OtherContents is true, with Stored, when the child's record under
	// this number was stored before with other contents: a submission
	// drawn the same number again after Redis lost its counter. The first
	// contents stay, and this submission's are not stored.
	OtherContents bool
	// NumberTaken is true when the record was not stored because its
	// number is stored for another child: Redis handed the number out
	// again after losing its counter (see SequenceFloors).
	NumberTaken bool
	// RegistrationTaken is true when an application was not stored because
	// the registration number it names is stored for another child: its
	// own registration got a taken number and was not stored.
	RegistrationTaken bool
	// RegistrationDeleted is true when an application was not stored
	// because a city admin approved the deletion of its registration while
	// the application waited in the stream.
	RegistrationDeleted bool
}

// BatchResult maps each record's number to its outcome.
type BatchResult map[string]Outcome

// ErrPermanent marks a database error that retrying the same record cannot
// fix (a data exception or an integrity violation other than the unique
// keys handled by ON CONFLICT), so the caller may dead-letter the record.
var ErrPermanent = errors.New("record rejected by the database")

// registrationColumns are the registration columns the drainer writes, in
// the order of registrationRow.
var registrationColumns = []string{
	"registration_number", "enrolment_year", "child_index", "child_document_type", "child_document_number",
	"child_name", "child_sex", "child_birth_date", "child_nationality", "category_group",
	"hukou_in_shanghai", "hukou_province", "hukou_district_code", "hukou_street_code", "hukou_committee_code",
	"hukou_address", "residence_district_code", "residence_street_code", "residence_committee_code", "residence_address",
	"hukou_at_residence", "guardians", "guardian_indexes", "guardian_shanghai_hukou", "guardian_residence_document",
	"guardian_points_qualified", "form_values", "schema_version", "key_id", "payload_hash",
	"owner_index", "supplementary", "accepted_at", "certificates_fetched", "certificates_uploaded",
}

var applicationColumns = []string{
	"application_number", "registration_number", "enrolment_year", "child_index", "district_code",
	"entry_id", "category_code", "campus_choices", "form_values", "schema_version",
	"key_id", "payload_hash", "owner_index", "supplementary", "accepted_at", "certificates_uploaded",
}

func registrationRow(r *enrol.RegistrationRecord) ([]any, error) {
	birth, err := time.Parse(time.DateOnly, r.ChildBirthDate)
	if err != nil {
		return nil, fmt.Errorf("%w: registration %s: birth date %q", ErrPermanent, r.Number, r.ChildBirthDate)
	}
	return []any{
		r.Number, int16(r.Year), r.ChildIndex, r.ChildDocumentType, nullBytes(r.SealedChildDocumentNumber),
		r.SealedChildName, r.ChildSex, birth, r.ChildNationality, r.CategoryGroup,
		r.HukouInShanghai, nullString(r.HukouProvince), nullString(r.HukouDistrict), nullString(r.HukouStreet), nullString(r.HukouCommittee),
		nullBytes(r.SealedHukouAddress), r.ResidenceDistrict, r.ResidenceStreet, nullString(r.ResidenceCommittee), r.SealedResidenceAddr,
		r.HukouAtResidence, r.SealedGuardians, r.GuardianIndexes, r.GuardianShanghaiHukou, nullString(r.GuardianResidenceDoc),
		r.GuardianPoints, nullBytes(r.SealedFormValues), int32(r.SchemaVersion), r.KeyID, r.PayloadHash,
		r.OwnerIndex, r.Supplementary, r.AcceptedAt, fetchedTypes(r.CertificateSources), uploadedTypes(r.CertificateSources),
	}, nil
}

func applicationRow(a *enrol.ApplicationRecord) []any {
	return []any{
		a.Number, a.RegistrationNumber, int16(a.Year), a.ChildIndex, a.DistrictCode,
		a.EntryID, a.CategoryCode, a.CampusChoices, nullBytes(a.SealedFormValues), int32(a.SchemaVersion),
		a.KeyID, a.PayloadHash, a.OwnerIndex, a.Supplementary, a.AcceptedAt, uploadedTypes(a.CertificateSources),
	}
}

// fetchedTypes and uploadedTypes return a record's certificate types for
// their text[] columns: NULL when the record does not say (sealed before
// codec version 2), an empty array when it attached none.
func fetchedTypes(sources *enrol.CertificateSources) any {
	if sources == nil {
		return nil
	}
	return nonNilTexts(sources.Fetched)
}

func uploadedTypes(sources *enrol.CertificateSources) any {
	if sources == nil {
		return nil
	}
	return nonNilTexts(sources.Uploaded)
}

func nonNilTexts(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}

func nullString(value string) any {
	if value == "" {
		return nil
	}
	return value
}

func nullBytes(value []byte) any {
	if len(value) == 0 {
		return nil
	}
	return value
}

// Staging tables live for the session and empty at every commit, so the
// COPY of one batch never sees another's rows.
const createStaging = `
CREATE TEMP TABLE IF NOT EXISTS registration_batch
    (LIKE registration INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS application_batch
    (LIKE application INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;`

// InsertBatch stores registrations and then applications in one
// transaction, skipping records already stored. It returns ErrPermanent
// (wrapped) when the database rejects the batch's data, and another error
// when the database could not be used; in both cases nothing is stored.
func (s *Store) InsertBatch(ctx context.Context, registrations []enrol.RegistrationRecord, applications []enrol.ApplicationRecord) (BatchResult, error) {
	regRows := make([][]any, 0, len(registrations))
	for i := range registrations {
		row, err := registrationRow(&registrations[i])
		if err != nil {
			return nil, err
		}
		regRows = append(regRows, row)
	}
	appRows := make([][]any, 0, len(applications))
	for i := range applications {
		appRows = append(appRows, applicationRow(&applications[i]))
	}

	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	result := BatchResult{}
	err = conn.Raw(func(driverConn any) error {
		pgxConn := driverConn.(*stdlib.Conn).Conn()
		tx, err := pgxConn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, createStaging); err != nil {
			return err
		}
		if len(regRows) > 0 {
			if err := insertStaged(ctx, tx, "registration", registrationColumns, regRows, result, `
				SELECT b.registration_number, r.registration_number, r.owner_index <> b.owner_index
				FROM registration_batch b
				JOIN registration r ON r.enrolment_year = b.enrolment_year AND r.child_index = b.child_index
				WHERE b.registration_number <> ALL($1) AND r.registration_number <> b.registration_number`, `
				SELECT b.registration_number, r.enrolment_year = b.enrolment_year AND r.child_index = b.child_index
				FROM registration_batch b
				JOIN registration r ON r.registration_number = b.registration_number
				WHERE b.registration_number <> ALL($1) AND r.payload_hash <> b.payload_hash`); err != nil {
				return err
			}
		}
		if appRows, err = skipDeletedRegistrations(ctx, tx, appRows, result); err != nil {
			return err
		}
		if len(appRows) > 0 {
			if err := lockAdmissionRounds(ctx, tx, applications); err != nil {
				return err
			}
			if err := insertStaged(ctx, tx, "application", applicationColumns, appRows, result, `
				SELECT b.application_number, a.application_number, false
				FROM application_batch b
				JOIN application a ON a.enrolment_year = b.enrolment_year AND a.child_index = b.child_index
				     AND a.status NOT IN ('returned', 'deleted')
				WHERE b.application_number <> ALL($1) AND a.application_number <> b.application_number`, `
				SELECT b.application_number, a.enrolment_year = b.enrolment_year AND a.child_index = b.child_index
				FROM application_batch b
				JOIN application a ON a.application_number = b.application_number
				WHERE b.application_number <> ALL($1) AND a.payload_hash <> b.payload_hash`); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return nil, classify(err)
	}
	return result, nil
}

// lockAdmissionRounds takes the admission lock of every district and year
// of the applications shared, in key order. A proposal or confirmation in
// progress, which holds its lock exclusive, makes the batch wait until it
// ends.
func lockAdmissionRounds(ctx context.Context, tx pgx.Tx, applications []enrol.ApplicationRecord) error {
	var keys []string
	for i := range applications {
		key := AdmissionLockKey(applications[i].Year, applications[i].DistrictCode)
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1, hashtext($2))`, AdmissionLockClass, key); err != nil {
			return fmt.Errorf("take the admission lock %s: %w", key, err)
		}
	}
	return nil
}

// skipDeletedRegistrations removes from rows the applications whose
// registration was deleted by an approved deletion request, or is stored
// for another child, records them in result as RegistrationDeleted or
// RegistrationTaken, and returns the other rows.
//
// It first locks the registrations that still exist with FOR KEY SHARE,
// which waits for a deletion in progress to commit or roll back and then
// keeps the rows until this transaction ends. So a registration missing
// afterwards is one whose deletion has committed, and one that exists
// cannot be deleted before the applications are inserted. An application
// whose registration is missing without an approved deletion is left in
// rows, and the foreign key rejects it.
func skipDeletedRegistrations(ctx context.Context, tx pgx.Tx, rows [][]any, result BatchResult) ([][]any, error) {
	if len(rows) == 0 {
		return rows, nil
	}
	numbers := make([]string, 0, len(rows))
	for _, row := range rows {
		numbers = append(numbers, row[1].(string))
	}
	// The numbers are cast to char(12), the key's type, so the primary
	// key's index serves the lookup.
	existing, err := tx.Query(ctx, `
		SELECT registration_number, child_index FROM registration
		WHERE registration_number = ANY(CAST($1 AS char(12)[]))
		FOR KEY SHARE`, numbers)
	if err != nil {
		return nil, err
	}
	childOf := make(map[string][]byte, len(numbers))
	var number string
	var child []byte
	if _, err := pgx.ForEachRow(existing, []any{&number, &child}, func() error {
		childOf[number] = bytes.Clone(child)
		return nil
	}); err != nil {
		return nil, err
	}
	var missing []string
	listed := make(map[string]bool)
	for _, number := range numbers {
		if _, ok := childOf[number]; !ok && !listed[number] {
			listed[number] = true
			missing = append(missing, number)
		}
	}
	rows = skipTakenRegistrations(rows, childOf, result)
	if len(missing) == 0 {
		return rows, nil
	}

	deleted, err := tx.Query(ctx, `
		SELECT DISTINCT record_number FROM deletion_request
		WHERE record_kind = 'registration' AND status = 'approved' AND record_number = ANY($1)`, missing)
	if err != nil {
		return nil, err
	}
	deletedNumbers, err := pgx.CollectRows(deleted, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(deletedNumbers) == 0 {
		return rows, nil
	}
	remaining := rows[:0:0]
	for _, row := range rows {
		if slices.Contains(deletedNumbers, row[1].(string)) { // a handful of deletions at most
			result[row[0].(string)] = Outcome{RegistrationDeleted: true}
			continue
		}
		remaining = append(remaining, row)
	}
	return remaining, nil
}

// skipTakenRegistrations removes from rows the applications whose
// registration number is stored for another child (childOf maps stored
// numbers to their child's index), records them in result as
// RegistrationTaken, and returns the other rows.
func skipTakenRegistrations(rows [][]any, childOf map[string][]byte, result BatchResult) [][]any {
	namesTaken := func(row []any) bool {
		child, stored := childOf[row[1].(string)]
		return stored && !bytes.Equal(child, row[3].([]byte))
	}
	if !slices.ContainsFunc(rows, namesTaken) {
		return rows // the normal batch: nothing to copy
	}
	remaining := rows[:0:0]
	for _, row := range rows {
		if namesTaken(row) {
			result[row[0].(string)] = Outcome{RegistrationTaken: true}
			continue
		}
		remaining = append(remaining, row)
	}
	return remaining
}

// insertStaged copies rows into the table's staging table, inserts them
// with ON CONFLICT DO NOTHING, and records each number's outcome:
// inserted, or already there as the same record (an earlier delivery), or
// not stored because of another record. The queries for the last case run
// only when some rows were not inserted, so a normal batch costs one COPY
// and one INSERT:
//   - takenQuery finds numbers stored with another payload. The same child
//     under the same number keeps the record stored first (OtherContents);
//     another child means the number was handed out twice (NumberTaken).
//   - conflictQuery finds records whose child has another record already
//     (FirstNumber), and whether another family submitted that record
//     (OtherFamily). This outcome replaces NumberTaken, because the child
//     is then stored under its first number.
func insertStaged(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any, result BatchResult, conflictQuery, takenQuery string) error {
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{table + "_batch"}, columns, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	inserted, err := tx.Query(ctx, `INSERT INTO `+table+` (`+joinIdentifiers(columns)+`)
		SELECT `+joinIdentifiers(columns)+` FROM `+table+`_batch
		ON CONFLICT DO NOTHING RETURNING `+columns[0])
	if err != nil {
		return err
	}
	insertedNumbers, err := pgx.CollectRows(inserted, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, row := range rows {
		result[row[0].(string)] = Outcome{Stored: true}
	}
	if len(insertedNumbers) == len(rows) {
		return nil
	}

	takenRows, err := tx.Query(ctx, takenQuery, insertedNumbers)
	if err != nil {
		return err
	}
	var number string
	var sameChild bool
	if _, err := pgx.ForEachRow(takenRows, []any{&number, &sameChild}, func() error {
		if sameChild {
			result[number] = Outcome{Stored: true, OtherContents: true}
		} else {
			result[number] = Outcome{NumberTaken: true}
		}
		return nil
	}); err != nil {
		return err
	}

	conflicts, err := tx.Query(ctx, conflictQuery, insertedNumbers)
	if err != nil {
		return err
	}
	defer conflicts.Close()
	for conflicts.Next() {
		var number, firstNumber string
		var otherFamily bool
		if err := conflicts.Scan(&number, &firstNumber, &otherFamily); err != nil {
			return err
		}
		result[number] = Outcome{FirstNumber: firstNumber, OtherFamily: otherFamily}
	}
	return conflicts.Err()
}

func joinIdentifiers(columns []string) string {
	quoted := make([]string, len(columns))
	for i, column := range columns {
		quoted[i] = pgx.Identifier{column}.Sanitize()
	}
	return strings.Join(quoted, ", ")
}

// classify wraps data errors in ErrPermanent. Class 22 is data exception,
// class 23 integrity constraint violation (SQLSTATE, PostgreSQL appendix A).
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23") {
		// The detail of a check violation quotes the whole row, sealed data
		// and blind indexes included, so it stays out of logs and dead letters.
		detail := pgErr.Detail
		if strings.HasPrefix(detail, "Failing row contains") {
			detail = ""
		}
		return fmt.Errorf("%w: %s (%s) %s", ErrPermanent, pgErr.Message, pgErr.Code, detail)
	}
	if errors.Is(err, ErrPermanent) {
		return err
	}
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("database connection lost: %w", err)
	}
	return err
}
