package certificates

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// backfillTable is the SQL with which Backfill reads and updates one table.
type backfillTable struct {
	name, numberColumn, sealContext string
	// unknown is the condition of a row whose sources are not stored.
	unknown string
	// update sets the source columns of one row, with the arguments that
	// arguments returns.
	update    string
	arguments func(number string, sources *enrol.CertificateSources) []any
}

var backfillTables = []backfillTable{
	{
		name: "registration", numberColumn: "registration_number", sealContext: enrol.ContextRegistrationForm,
		unknown: "certificates_fetched IS NULL",
		update: `UPDATE registration SET certificates_fetched = $2, certificates_uploaded = $3
			WHERE registration_number = $1 AND certificates_fetched IS NULL`,
		arguments: func(number string, sources *enrol.CertificateSources) []any {
			return []any{number, nonNil(sources.Fetched), nonNil(sources.Uploaded)}
		},
	},
	{
		name: "application", numberColumn: "application_number", sealContext: enrol.ContextApplicationForm,
		unknown: "certificates_uploaded IS NULL",
		update: `UPDATE application SET certificates_uploaded = $2
			WHERE application_number = $1 AND certificates_uploaded IS NULL`,
		arguments: func(number string, sources *enrol.CertificateSources) []any {
			return []any{number, nonNil(sources.Uploaded)}
		},
	},
}

// Backfill fills the certificate source columns of the records stored
// before the edge sent them, by opening each record's sealed form values,
// and then rebuilds the rollups. It commits every batchSize records, so it
// can run while the drainer stores new records, and a rerun continues
// where an interrupted one stopped. Generated records (key ID "generated")
// have no form values to open and are left as they are. It returns the
// number of registrations and applications filled.
func Backfill(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, batchSize int) (int64, int64, error) {
	if batchSize < 1 {
		return 0, 0, fmt.Errorf("invalid batch size %d: use 1 or more", batchSize)
	}
	var filled [2]int64
	for i, table := range backfillTables {
		count, err := backfillTableRows(ctx, db, keyring, table, batchSize)
		if err != nil {
			return filled[0], filled[1], err
		}
		filled[i] = count
	}
	if _, err := dashboardenrolment.Rebuild(ctx, db); err != nil {
		return filled[0], filled[1], err
	}
	return filled[0], filled[1], nil
}

func backfillTableRows(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, table backfillTable, batchSize int) (int64, error) {
	var filled int64
	last := ""
	for {
		var rows []struct {
			Number string `db:"number"`
			Sealed []byte `db:"form_values"`
		}
		err := db.SelectContext(ctx, &rows, `SELECT `+table.numberColumn+` AS number, form_values FROM `+table.name+`
			WHERE `+table.unknown+` AND key_id <> $1 AND `+table.numberColumn+` > $2
			ORDER BY `+table.numberColumn+` LIMIT $3`, dashboardenrolment.GeneratedKeyID, last, batchSize)
		if err != nil {
			return filled, fmt.Errorf("read the %ss to backfill: %w", table.name, err)
		}
		if len(rows) == 0 {
			return filled, nil
		}

		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return filled, err
		}
		for _, row := range rows {
			sources, err := openSources(keyring, row.Sealed, table.sealContext)
			if err != nil {
				tx.Rollback()
				return filled, fmt.Errorf("backfill %s %s: %w", table.name, row.Number, err)
			}
			result, err := tx.ExecContext(ctx, table.update, table.arguments(row.Number, sources)...)
			if err != nil {
				tx.Rollback()
				return filled, fmt.Errorf("backfill %s %s: %w", table.name, row.Number, err)
			}
			updated, _ := result.RowsAffected()
			filled += updated
		}
		if err := tx.Commit(); err != nil {
			return filled, fmt.Errorf("backfill the %ss: %w", table.name, err)
		}
		last = rows[len(rows)-1].Number
	}
}

// openSources opens sealed form values and returns their certificate
// sources. Records without form values attached no certificates.
func openSources(keyring *crypto.Keyring, sealed []byte, sealContext string) (*enrol.CertificateSources, error) {
	if len(sealed) == 0 {
		return &enrol.CertificateSources{}, nil
	}
	plain, err := keyring.Open(sealed, sealContext)
	if err != nil {
		return nil, fmt.Errorf("open the form values: %w", err)
	}
	var values struct {
		Certificates []storedCertificate `json:"certificates"`
	}
	if err := json.Unmarshal(plain, &values); err != nil {
		return nil, fmt.Errorf("decode the form values: %w", err)
	}
	return enrol.NewCertificateSources(values.Certificates, func(c storedCertificate) (string, string) { return c.Type, c.Source }), nil
}

// storedCertificate is the part of a certificate in sealed form values
// that the sources need.
type storedCertificate struct {
	Type   string `json:"type"`
	Source string `json:"source"`
}

func nonNil(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}
