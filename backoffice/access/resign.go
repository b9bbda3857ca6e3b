package access

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// ResignReport is the outcome of Integrity.Resign: the rows it re-signed
// and the counts of rows it left alone.
type ResignReport struct {
	// KeyID is the provider's signing key, which signs the re-signed rows.
	KeyID        string
	Roles        []string
	StaffIDs     []int64
	Certificates []string
	// Current counts the rows already signed by KeyID, and Unsigned the
	// rows without a signature ("backoffice acl sign-unsigned" is their
	// path). Resign leaves both alone.
	Current  int
	Unsigned int
	// Problems are the signed rows that do not verify under the old keys or
	// the provider. Resign leaves them alone, so they stay rejected.
	Problems []Problem
}

// resignProbe is the message Resign signs to learn the provider's key ID.
var resignProbe = []byte("preschool/acl/resign probe")

// Resign moves, in tx, every role, staff account and certificate binding
// signed by another key than the provider's signing key under that key.
// It verifies each row's signature with old, the public keys of the
// previous signing keys, or with the provider when old does not have the
// key. Only the rows that verify are re-signed, so a row changed in the
// database keeps its failing signature. The caller commits tx.
func (i *Integrity) Resign(ctx context.Context, tx *sqlx.Tx, old *crypto.Verifier) (ResignReport, error) {
	probe, err := i.Provider.Sign(ctx, resignProbe)
	if err != nil {
		return ResignReport{}, fmt.Errorf("sign with the current provider: %w", err)
	}
	report := ResignReport{KeyID: probe.KeyID}
	if err := i.resignRoles(ctx, tx, old, &report); err != nil {
		return report, err
	}
	if err := i.resignStaff(ctx, tx, old, &report); err != nil {
		return report, err
	}
	if err := i.resignCertificates(ctx, tx, old, &report); err != nil {
		return report, err
	}
	return report, nil
}

// needsResign sorts a row's signature into the report's counts and returns
// whether it verifies under a previous key and so is to be re-signed.
func (i *Integrity) needsResign(ctx context.Context, old *crypto.Verifier, report *ResignReport,
	resource, resourceID string, message []byte, signature crypto.Signature) bool {
	switch {
	case len(signature.Value) == 0 || signature.KeyID == "":
		report.Unsigned++
		return false
	case signature.KeyID == report.KeyID:
		report.Current++
		return false
	}
	if err := i.verifyPrevious(ctx, old, message, signature); err != nil {
		report.Problems = append(report.Problems, Problem{Resource: resource, ResourceID: resourceID, Cause: err})
		return false
	}
	return true
}

// verifyPrevious checks a signature by a previous key: with old when it has
// the key, else with the provider.
func (i *Integrity) verifyPrevious(ctx context.Context, old *crypto.Verifier, message []byte, signature crypto.Signature) error {
	userID := i.UserID
	if userID == "" {
		userID = crypto.DefaultUserID
	}
	if old != nil {
		err := old.Verify(signature.KeyID, message, signature.Value, userID)
		if !errors.Is(err, crypto.ErrUnknownKey) {
			return err
		}
	}
	signature.UserID = userID
	return i.Provider.Verify(ctx, message, signature)
}

func (i *Integrity) resignRoles(ctx context.Context, tx *sqlx.Tx, old *crypto.Verifier, report *ResignReport) error {
	var codes []string
	if err := sqlx.SelectContext(ctx, tx, &codes, `SELECT code FROM role ORDER BY code FOR UPDATE`); err != nil {
		return fmt.Errorf("lock roles: %w", err)
	}
	for _, code := range codes {
		record, signature, err := readRole(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if !i.needsResign(ctx, old, report, "role", code, record.Message(), signature) {
			continue
		}
		if err := i.SignRole(ctx, tx, code); err != nil {
			return err
		}
		report.Roles = append(report.Roles, code)
	}
	return nil
}

func (i *Integrity) resignStaff(ctx context.Context, tx *sqlx.Tx, old *crypto.Verifier, report *ResignReport) error {
	var ids []int64
	if err := sqlx.SelectContext(ctx, tx, &ids, `SELECT id FROM staff_user ORDER BY id FOR UPDATE`); err != nil {
		return fmt.Errorf("lock staff: %w", err)
	}
	for _, id := range ids {
		record, signature, err := readStaff(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !i.needsResign(ctx, old, report, "staff_user", strconv.FormatInt(id, 10), record.Message(), signature) {
			continue
		}
		if err := i.SignStaff(ctx, tx, id); err != nil {
			return err
		}
		report.StaffIDs = append(report.StaffIDs, id)
	}
	return nil
}

func (i *Integrity) resignCertificates(ctx context.Context, tx *sqlx.Tx, old *crypto.Verifier, report *ResignReport) error {
	var bindings []struct {
		Fingerprint string `db:"fingerprint"`
		StaffID     int64  `db:"staff_id"`
		KeyID       string `db:"key_id"`
		Signature   []byte `db:"signature"`
	}
	err := sqlx.SelectContext(ctx, tx, &bindings,
		`SELECT fingerprint, staff_id, key_id, signature FROM staff_certificate ORDER BY fingerprint FOR UPDATE`)
	if err != nil {
		return fmt.Errorf("lock certificate bindings: %w", err)
	}
	for _, binding := range bindings {
		message := CertificateBindingMessage(binding.Fingerprint, binding.StaffID)
		signature := crypto.Signature{KeyID: binding.KeyID, Value: binding.Signature}
		if !i.needsResign(ctx, old, report, "staff_certificate", binding.Fingerprint, message, signature) {
			continue
		}
		signed, err := i.Provider.Sign(ctx, message)
		if err != nil {
			return fmt.Errorf("sign certificate binding %s: %w", binding.Fingerprint, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE staff_certificate SET signature = $2, key_id = $3 WHERE fingerprint = $1`,
			binding.Fingerprint, signed.Value, signed.KeyID)
		if err != nil {
			return fmt.Errorf("store signature of certificate binding %s: %w", binding.Fingerprint, err)
		}
		report.Certificates = append(report.Certificates, binding.Fingerprint)
	}
	return nil
}

// UnknownSigningKeys returns the key IDs that sign roles, staff accounts or
// certificate bindings and that the provider does not have, with the number
// of rows each signs. The back office logs them at start, because staff
// whose rows they sign cannot sign in until ResignCommand runs.
func (i *Integrity) UnknownSigningKeys(ctx context.Context) (map[string]int, error) {
	var counts []struct {
		KeyID string `db:"key_id"`
		Rows  int    `db:"rows"`
	}
	err := sqlx.SelectContext(ctx, i.DB, &counts, `
		SELECT key_id, count(*) AS rows FROM (
			SELECT acl_key_id AS key_id FROM role WHERE acl_key_id IS NOT NULL
			UNION ALL SELECT acl_key_id FROM staff_user WHERE acl_key_id IS NOT NULL
			UNION ALL SELECT key_id FROM staff_certificate
		) signed GROUP BY key_id ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("list the signing keys of access-control rows: %w", err)
	}
	userID := i.UserID
	if userID == "" {
		userID = crypto.DefaultUserID
	}
	unknown := map[string]int{}
	for _, count := range counts {
		// An empty signature fails with ErrInvalidSignature under a known
		// key and with ErrUnknownKey under an unknown one.
		err := i.Provider.Verify(ctx, resignProbe, crypto.Signature{KeyID: count.KeyID, UserID: userID})
		switch {
		case errors.Is(err, crypto.ErrUnknownKey):
			unknown[count.KeyID] = count.Rows
		case err == nil || errors.Is(err, crypto.ErrInvalidSignature):
		default:
			return nil, fmt.Errorf("check signing key %q: %w", count.KeyID, err)
		}
	}
	return unknown, nil
}
