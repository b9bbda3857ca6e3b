package forms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
)

// LibraryColumns ties a library row to a data scope: district staff reach
// their district's overrides only, and city rows belong to the city scope.
var LibraryColumns = access.Columns{Districts: []string{"l.district_code"}}

// errOutOfScope is returned by the write queries when the scope filter
// leaves out the row; the handlers turn it into access.ErrOutOfScope.
var errOutOfScope = errors.New("form library row outside the scope")

func nullString(value string) sql.NullString {
	return sql.NullString{String: value, Valid: value != ""}
}

func nullInt(value *int) sql.NullInt64 {
	if value == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*value), Valid: true}
}

func nullFloat(value *float64) sql.NullFloat64 {
	if value == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *value, Valid: true}
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

const fieldColumns = `l.id, l.code, l.district_code, l.label, l.field_type, l.dictionary_code, l.help, l.required,
	l.min_length, l.max_length, l.pattern, l.pattern_message, l.min_value, l.max_value, l.linkage, l.enabled, l.updated_at`

func scanField(scanner interface{ Scan(...any) error }, extra ...any) (Field, error) {
	var field Field
	var district, dictionary, pattern, patternMessage sql.NullString
	var minLength, maxLength sql.NullInt64
	var minValue, maxValue sql.NullFloat64
	var linkage []byte
	targets := append([]any{&field.ID, &field.Code, &district, &field.Label, &field.Type, &dictionary, &field.Help,
		&field.Required, &minLength, &maxLength, &pattern, &patternMessage, &minValue, &maxValue, &linkage,
		&field.Enabled, &field.UpdatedAt}, extra...)
	if err := scanner.Scan(targets...); err != nil {
		return field, err
	}

	field.DistrictCode, field.DictionaryCode = district.String, dictionary.String
	field.Pattern, field.PatternMessage = pattern.String, patternMessage.String
	if minLength.Valid {
		value := int(minLength.Int64)
		field.MinLength = &value
	}
	if maxLength.Valid {
		value := int(maxLength.Int64)
		field.MaxLength = &value
	}
	if minValue.Valid {
		field.Min = &minValue.Float64
	}
	if maxValue.Valid {
		field.Max = &maxValue.Float64
	}
	field.Linkage = []LinkageRule{}
	if err := json.Unmarshal(linkage, &field.Linkage); err != nil {
		return field, err
	}
	return field, nil
}

// listFields returns the city fields and, when districtCode is not empty,
// that district's overrides, ordered by code. The scope condition keeps
// out overrides of districts the staff member may not see.
func listFields(ctx context.Context, db sqlx.QueryerContext, scope access.Scope, districtCode string) ([]Field, error) {
	condition := scope.Filter(LibraryColumns, 2)
	q := `
		SELECT ` + fieldColumns + `
		FROM form_field l
		WHERE l.district_code IS NULL OR (l.district_code = $1 AND ` + condition.SQL + `)
		ORDER BY l.code, l.district_code NULLS FIRST`
	rows, err := db.QueryContext(ctx, q, append([]any{nullString(districtCode)}, condition.Args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fields := []Field{}
	for rows.Next() {
		field, err := scanField(rows)
		if err != nil {
			return nil, err
		}
		fields = append(fields, field)
	}
	return fields, rows.Err()
}

func fieldArgs(field Field) ([]any, error) {
	linkage, err := json.Marshal(field.Linkage)
	if err != nil {
		return nil, err
	}
	return []any{field.Code, nullString(field.DistrictCode), field.Label, field.Type, nullString(field.DictionaryCode),
		field.Help, field.Required, nullInt(field.MinLength), nullInt(field.MaxLength), nullString(field.Pattern),
		nullString(field.PatternMessage), nullFloat(field.Min), nullFloat(field.Max), string(linkage), field.Enabled}, nil
}

// insertField inserts field with the scope filter applied to its district.
// It returns errOutOfScope when the scope does not cover the row and
// ErrDuplicateCode when the code is taken at that level.
func insertField(ctx context.Context, tx *sqlx.Tx, scope access.Scope, field Field) (Field, error) {
	args, err := fieldArgs(field)
	if err != nil {
		return field, err
	}
	condition := scope.Filter(LibraryColumns, len(args)+1)
	q := `
		INSERT INTO form_field (code, district_code, label, field_type, dictionary_code, help, required,
			min_length, max_length, pattern, pattern_message, min_value, max_value, linkage, enabled)
		SELECT l.* FROM (SELECT $1::text AS code, $2::char(6) AS district_code, $3::text, $4::text, $5::text, $6::text,
			$7::boolean, $8::integer, $9::integer, $10::text, $11::text, $12::double precision, $13::double precision,
			$14::jsonb, $15::boolean) AS l
		WHERE ` + condition.SQL + `
		RETURNING id, updated_at`
	err = tx.QueryRowContext(ctx, q, append(args, condition.Args...)...).Scan(&field.ID, &field.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return field, errOutOfScope
	}
	if isUniqueViolation(err) {
		return field, ErrDuplicateCode
	}
	return field, err
}

// lockField returns the field with id locked for update, with whether the
// scope covers it, or ErrFieldNotFound.
func lockField(ctx context.Context, tx *sqlx.Tx, scope access.Scope, id int64) (Field, bool, error) {
	condition := scope.Filter(LibraryColumns, 2)
	q := `SELECT ` + fieldColumns + `, (` + condition.SQL + `) IS TRUE FROM form_field l WHERE l.id = $1 FOR UPDATE`
	var inScope bool
	field, err := scanField(tx.QueryRowContext(ctx, q, append([]any{id}, condition.Args...)...), &inScope)
	if errors.Is(err, sql.ErrNoRows) {
		return field, false, ErrFieldNotFound
	}
	return field, inScope, err
}

// updateField stores every column of field but its code and district.
func updateField(ctx context.Context, tx *sqlx.Tx, scope access.Scope, field Field) (Field, error) {
	args, err := fieldArgs(field)
	if err != nil {
		return field, err
	}
	args = append(args[2:], field.ID)
	condition := scope.Filter(LibraryColumns, len(args)+1)
	q := `
		UPDATE form_field AS l SET label = $1, field_type = $2, dictionary_code = $3, help = $4, required = $5,
			min_length = $6, max_length = $7, pattern = $8, pattern_message = $9, min_value = $10, max_value = $11,
			linkage = $12::jsonb, enabled = $13, updated_at = now()
		WHERE l.id = $14 AND ` + condition.SQL + `
		RETURNING l.updated_at`
	err = tx.QueryRowContext(ctx, q, append(args, condition.Args...)...).Scan(&field.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return field, errOutOfScope
	}
	return field, err
}

func deleteRow(ctx context.Context, tx *sqlx.Tx, scope access.Scope, table string, id int64) error {
	condition := scope.Filter(LibraryColumns, 2)
	// table is one of two constants, never request input.
	result, err := tx.ExecContext(ctx, `DELETE FROM `+table+` AS l WHERE l.id = $1 AND `+condition.SQL,
		append([]any{id}, condition.Args...)...)
	if err != nil {
		return err
	}
	if count, err := result.RowsAffected(); err != nil {
		return err
	} else if count == 0 {
		return errOutOfScope
	}
	return nil
}

// cityRowExists reports whether the city library has a row with code, which
// a district override needs.
func cityRowExists(ctx context.Context, tx *sqlx.Tx, table, code string) (bool, error) {
	var exists bool
	err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE code = $1 AND district_code IS NULL)`, code)
	return exists, err
}

// dictionaryExists reports whether a dictionary with code exists.
func dictionaryExists(ctx context.Context, db sqlx.QueryerContext, code string) (bool, error) {
	var exists bool
	err := sqlx.GetContext(ctx, db, &exists, `SELECT EXISTS (SELECT 1 FROM dictionary WHERE code = $1)`, code)
	return exists, err
}

const certificateColumns = `l.id, l.code, l.district_code, l.name, l.help, l.accepted_types, l.max_size_kb, l.max_count, l.enabled, l.updated_at`

func scanCertificate(scanner interface{ Scan(...any) error }, extra ...any) (Certificate, error) {
	var certificate Certificate
	var district sql.NullString
	targets := append([]any{&certificate.ID, &certificate.Code, &district, &certificate.Name, &certificate.Help,
		pgtype.NewMap().SQLScanner(&certificate.AcceptedTypes), &certificate.MaxSizeKB, &certificate.MaxCount, &certificate.Enabled, &certificate.UpdatedAt}, extra...)
	if err := scanner.Scan(targets...); err != nil {
		return certificate, err
	}
	certificate.DistrictCode = district.String
	return certificate, nil
}

// listCertificates is listFields for the certificate library.
func listCertificates(ctx context.Context, db sqlx.QueryerContext, scope access.Scope, districtCode string) ([]Certificate, error) {
	condition := scope.Filter(LibraryColumns, 2)
	q := `
		SELECT ` + certificateColumns + `
		FROM form_certificate l
		WHERE l.district_code IS NULL OR (l.district_code = $1 AND ` + condition.SQL + `)
		ORDER BY l.code, l.district_code NULLS FIRST`
	rows, err := db.QueryContext(ctx, q, append([]any{nullString(districtCode)}, condition.Args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	certificates := []Certificate{}
	for rows.Next() {
		certificate, err := scanCertificate(rows)
		if err != nil {
			return nil, err
		}
		certificates = append(certificates, certificate)
	}
	return certificates, rows.Err()
}

func insertCertificate(ctx context.Context, tx *sqlx.Tx, scope access.Scope, certificate Certificate) (Certificate, error) {
	condition := scope.Filter(LibraryColumns, 9)
	q := `
		INSERT INTO form_certificate (code, district_code, name, help, accepted_types, max_size_kb, max_count, enabled)
		SELECT l.* FROM (SELECT $1::text AS code, $2::char(6) AS district_code, $3::text, $4::text, $5::text[],
			$6::integer, $7::smallint, $8::boolean) AS l
		WHERE ` + condition.SQL + `
		RETURNING id, updated_at`
	args := []any{certificate.Code, nullString(certificate.DistrictCode), certificate.Name, certificate.Help,
		certificate.AcceptedTypes, certificate.MaxSizeKB, certificate.MaxCount, certificate.Enabled}
	err := tx.QueryRowContext(ctx, q, append(args, condition.Args...)...).Scan(&certificate.ID, &certificate.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return certificate, errOutOfScope
	}
	if isUniqueViolation(err) {
		return certificate, ErrDuplicateCode
	}
	return certificate, err
}

func lockCertificate(ctx context.Context, tx *sqlx.Tx, scope access.Scope, id int64) (Certificate, bool, error) {
	condition := scope.Filter(LibraryColumns, 2)
	q := `SELECT ` + certificateColumns + `, (` + condition.SQL + `) IS TRUE FROM form_certificate l WHERE l.id = $1 FOR UPDATE`
	var inScope bool
	certificate, err := scanCertificate(tx.QueryRowContext(ctx, q, append([]any{id}, condition.Args...)...), &inScope)
	if errors.Is(err, sql.ErrNoRows) {
		return certificate, false, ErrCertificateNotFound
	}
	return certificate, inScope, err
}

func updateCertificate(ctx context.Context, tx *sqlx.Tx, scope access.Scope, certificate Certificate) (Certificate, error) {
	condition := scope.Filter(LibraryColumns, 8)
	q := `
		UPDATE form_certificate AS l SET name = $1, help = $2, accepted_types = $3, max_size_kb = $4, max_count = $5,
			enabled = $6, updated_at = now()
		WHERE l.id = $7 AND ` + condition.SQL + `
		RETURNING l.updated_at`
	args := []any{certificate.Name, certificate.Help, certificate.AcceptedTypes, certificate.MaxSizeKB,
		certificate.MaxCount, certificate.Enabled, certificate.ID}
	err := tx.QueryRowContext(ctx, q, append(args, condition.Args...)...).Scan(&certificate.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return certificate, errOutOfScope
	}
	return certificate, err
}
