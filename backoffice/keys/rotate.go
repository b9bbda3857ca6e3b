// Package keys re-encrypts the sealed columns of the database under the
// keyring's active SM4 key ("backoffice keys rotate"), in small batches and
// transactions so the system keeps running.
//
// Blind indexes are HMAC-SM3 under the keyring's index key, which is not
// rotated with the sealing keys: the indexes in the database stay valid, so
// duplicate checks and look-ups keep working during and after a rotation.
// Changing the index key would need every index recomputed from the
// decrypted values in one step, which this package does not do.
package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/feedback"
)

// Column is a sealed column and the context its values are sealed with.
type Column struct {
	Name    string
	Context string
	// Text marks a text column that stores the text form of the ciphertext
	// (crypto.Keyring.SealText) in place of bytea.
	Text bool
	// LegacyPlaintext marks a text column that held plaintext before it was
	// sealed: a value without crypto.SealedTextPrefix is that plaintext,
	// and Rotate seals it.
	LegacyPlaintext bool
}

// Table is a table with sealed columns. Key is its primary key, of SQL type
// KeyType, and Start a value below every key, where paging begins.
type Table struct {
	Name    string
	Key     string
	KeyType string
	Start   string
	Columns []Column
	// KeyIDColumn records the key of the row's newest ciphertext; empty for a
	// table without one.
	KeyIDColumn string
}

// Tables are the tables with sealed columns. Contexts must match the ones
// the writers use (shared/enrolment/record.go, backoffice/staff,
// backoffice/sms and shared/feedback).
// Password hashes are stored in text form, and rows written before they
// were sealed hold the encoded hash itself.
var Tables = []Table{
	{
		Name: "registration", Key: "registration_number", KeyType: "bpchar", Start: "", KeyIDColumn: "key_id",
		Columns: []Column{
			{Name: "child_name", Context: enrol.ContextChildName},
			{Name: "child_document_number", Context: enrol.ContextChildDocumentNumber},
			{Name: "hukou_address", Context: enrol.ContextHukouAddress},
			{Name: "residence_address", Context: enrol.ContextResidenceAddress},
			{Name: "guardians", Context: enrol.ContextGuardians},
			{Name: "form_values", Context: enrol.ContextRegistrationForm},
		},
	},
	{
		Name: "application", Key: "application_number", KeyType: "bpchar", Start: "", KeyIDColumn: "key_id",
		Columns: []Column{{Name: "form_values", Context: enrol.ContextApplicationForm}},
	},
	{
		Name: "staff_user", Key: "id", KeyType: "bigint", Start: "-1", KeyIDColumn: "key_id",
		Columns: []Column{
			{Name: "phone", Context: "staff.phone"},
			{Name: "id_number", Context: "staff.id_number"},
			{Name: "totp_secret", Context: "staff.totp_secret"},
			{Name: "password_hash", Context: "staff.password_hash", Text: true, LegacyPlaintext: true},
		},
	},
	{
		Name: "staff_password_history", Key: "id", KeyType: "bigint", Start: "-1",
		Columns: []Column{{Name: "password_hash", Context: "staff.password_hash", Text: true, LegacyPlaintext: true}},
	},
	{
		Name: "sms_outbox", Key: "id", KeyType: "bigint", Start: "-1", KeyIDColumn: "key_id",
		Columns: []Column{
			{Name: "phone", Context: sms.ContextPhone},
			{Name: "body", Context: sms.ContextBody},
		},
	},
	{
		Name: "service_feedback", Key: "id", KeyType: "bigint", Start: "-1", KeyIDColumn: "key_id",
		Columns: []Column{{Name: "phone", Context: feedback.ContextPhone}},
	},
}

// Result counts what Rotate changed in one table.
type Result struct {
	Table string
	Rows  int
}

// Rotator re-encrypts sealed columns under the keyring's active key.
type Rotator struct {
	DB      *sqlx.DB
	Keyring *crypto.Keyring
	// BatchSize is the number of rows per transaction.
	BatchSize int
	Tables    []Table
}

// staleCondition is the SQL condition, with the active key ID's bytes as
// $2, that a row has a ciphertext under another key. A ciphertext starts
// with the format version, the key ID's length and the key ID
// (crypto.Keyring.Seal), so the key is read without decrypting.
func (t Table) staleCondition() string {
	parts := make([]string, len(t.Columns))
	for i, column := range t.Columns {
		parts[i] = column.staleCondition()
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// staleCondition is the column's part of Table.staleCondition. A text
// column's ciphertext is decoded from base64 first; the CASE keeps decode
// away from a legacy plaintext value, which is always stale.
func (c Column) staleCondition() string {
	if !c.Text {
		return fmt.Sprintf("(%[1]s IS NOT NULL AND length(%[1]s) > 2 AND substring(%[1]s FROM 3 FOR get_byte(%[1]s, 1)) <> $2)", c.Name)
	}
	sealed := fmt.Sprintf("decode(substring(%s FROM %d), 'base64')", c.Name, len(crypto.SealedTextPrefix)+1)
	return fmt.Sprintf(`(%[1]s IS NOT NULL AND CASE WHEN starts_with(%[1]s, '%[2]s')
		THEN length(%[3]s) <= 2 OR substring(%[3]s FROM 3 FOR get_byte(%[3]s, 1)) <> $2 ELSE true END)`,
		c.Name, crypto.SealedTextPrefix, sealed)
}

func (t Table) columnList() string {
	names := make([]string, len(t.Columns))
	for i, column := range t.Columns {
		names[i] = column.Name
	}
	return strings.Join(names, ", ")
}

// Rotate re-encrypts every table and returns the rows changed per table.
// Rows are found by keyset paging on the primary key and re-read under a
// row lock in each batch's transaction, so a concurrent change is never
// overwritten with an older value.
func (r *Rotator) Rotate(ctx context.Context) ([]Result, error) {
	tables := r.Tables
	if tables == nil {
		tables = Tables
	}
	batchSize := r.BatchSize
	if batchSize <= 0 {
		batchSize = 500
	}
	var results []Result
	for _, table := range tables {
		rows, err := r.rotateTable(ctx, table, batchSize)
		results = append(results, Result{Table: table.Name, Rows: rows})
		if err != nil {
			return results, err
		}
		slog.Info("sealed columns re-encrypted", "table", table.Name, "rows", rows, "key_id", r.Keyring.ActiveKeyID())
	}
	return results, nil
}

func (r *Rotator) rotateTable(ctx context.Context, table Table, batchSize int) (int, error) {
	active := []byte(r.Keyring.ActiveKeyID())
	find := fmt.Sprintf(`SELECT %[1]s::text FROM %[2]s WHERE %[1]s > CAST($1 AS %[3]s) AND %[4]s ORDER BY %[1]s LIMIT %[5]d`,
		table.Key, table.Name, table.KeyType, table.staleCondition(), batchSize)
	cursor := table.Start
	total := 0
	for {
		var keys []string
		if err := r.DB.SelectContext(ctx, &keys, find, cursor, active); err != nil {
			return total, fmt.Errorf("find rows of %s to re-encrypt: %w", table.Name, err)
		}
		if len(keys) == 0 {
			return total, nil
		}
		changed, err := r.rotateBatch(ctx, table, keys, active)
		total += changed
		if err != nil {
			return total, err
		}
		cursor = keys[len(keys)-1]
	}
}

func (r *Rotator) rotateBatch(ctx context.Context, table Table, keys []string, active []byte) (int, error) {
	tx, err := r.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	lock := fmt.Sprintf(`SELECT %[1]s::text, %[2]s FROM %[3]s WHERE %[1]s = ANY(CAST($1 AS %[5]s[])) AND %[4]s FOR UPDATE`,
		table.Key, table.columnList(), table.Name, table.staleCondition(), table.KeyType)
	rows, err := tx.QueryContext(ctx, lock, keys, active)
	if err != nil {
		return 0, fmt.Errorf("lock rows of %s: %w", table.Name, err)
	}
	type update struct {
		key    string
		values [][]byte
	}
	var updates []update
	for rows.Next() {
		values := make([][]byte, len(table.Columns))
		targets := []any{new(string)}
		for i := range values {
			targets = append(targets, &values[i])
		}
		if err := rows.Scan(targets...); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read rows of %s: %w", table.Name, err)
		}
		key := *targets[0].(*string)
		for i, column := range table.Columns {
			if values[i] == nil {
				continue
			}
			if values[i], err = r.reseal(column, values[i]); err != nil {
				rows.Close()
				return 0, fmt.Errorf("open %s.%s of %s: %w", table.Name, column.Name, key, err)
			}
		}
		updates = append(updates, update{key: key, values: values})
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()

	// The values are $2 onwards, and the active key ID follows them when
	// the table records it.
	sets := make([]string, len(table.Columns))
	for i, column := range table.Columns {
		sets[i] = fmt.Sprintf("%s = $%d", column.Name, i+2)
	}
	if table.KeyIDColumn != "" {
		sets = append(sets, fmt.Sprintf("%s = $%d", table.KeyIDColumn, len(table.Columns)+2))
	}
	store := fmt.Sprintf(`UPDATE %s SET %s WHERE %s = CAST($1 AS %s)`,
		table.Name, strings.Join(sets, ", "), table.Key, table.KeyType)
	for _, u := range updates {
		args := []any{u.key}
		for i, value := range u.values {
			if table.Columns[i].Text && value != nil {
				args = append(args, string(value))
				continue
			}
			args = append(args, value)
		}
		if table.KeyIDColumn != "" {
			args = append(args, string(active))
		}
		if _, err := tx.ExecContext(ctx, store, args...); err != nil {
			return 0, fmt.Errorf("store re-encrypted row %s of %s: %w", u.key, table.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return len(updates), nil
}

// reseal returns a stored value of column sealed again under the active
// key, in the column's form.
func (r *Rotator) reseal(column Column, stored []byte) ([]byte, error) {
	if !column.Text {
		plaintext, err := r.Keyring.Open(stored, column.Context)
		if err != nil {
			return nil, err
		}
		return r.Keyring.Seal(plaintext, column.Context), nil
	}
	plaintext, err := r.Keyring.OpenText(string(stored), column.Context)
	if errors.Is(err, crypto.ErrNotSealedText) && column.LegacyPlaintext {
		plaintext, err = string(stored), nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(r.Keyring.SealText(plaintext, column.Context)), nil
}
