package staff

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// sealPasswordHash returns the stored form of an encoded password hash:
// sealed with SM4-GCM under the keyring's active key, in the text form of
// crypto.SealText. Without the keyring, a copy of the database then gives
// no PBKDF2 output and salt to an offline guessing attack.
func sealPasswordHash(keyring *crypto.Keyring, encoded string) string {
	return keyring.SealText(encoded, passwordHashContext)
}

// openPasswordHash returns the encoded hash of a stored value and whether
// the value was sealed. A value stored before hashes were sealed is the
// encoded hash itself; sign-in and "backoffice keys rotate" seal it.
func openPasswordHash(keyring *crypto.Keyring, stored string) (encoded string, sealed bool, err error) {
	encoded, err = keyring.OpenText(stored, passwordHashContext)
	if errors.Is(err, crypto.ErrNotSealedText) {
		return stored, false, nil
	}
	if err != nil {
		return "", false, err
	}
	return encoded, true, nil
}

// sealPasswordHistory seals the password history entries of an account
// that were stored before hashes were sealed.
func sealPasswordHistory(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, staffID int64) error {
	var entries []struct {
		ID           int64  `db:"id"`
		PasswordHash string `db:"password_hash"`
	}
	err := db.SelectContext(ctx, &entries, `
		SELECT id, password_hash FROM staff_password_history WHERE staff_id = $1 AND password_hash NOT LIKE $2 || '%'`,
		staffID, crypto.SealedTextPrefix)
	if err != nil {
		return fmt.Errorf("read unsealed password history of staff %d: %w", staffID, err)
	}
	for _, entry := range entries {
		_, err := db.ExecContext(ctx, `UPDATE staff_password_history SET password_hash = $3 WHERE id = $1 AND password_hash = $2`,
			entry.ID, entry.PasswordHash, sealPasswordHash(keyring, entry.PasswordHash))
		if err != nil {
			return fmt.Errorf("seal password history entry %d of staff %d: %w", entry.ID, staffID, err)
		}
	}
	return nil
}
