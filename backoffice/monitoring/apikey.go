package monitoring

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/tjfoc/gmsm/sm3"
)

// apiKeyPrefix starts every key, so a leaked key is easy to recognise.
const apiKeyPrefix = "pskm_"

// ErrUnknownAPIKey is returned by KindergartenOfKey for a key that does
// not exist or was revoked.
var ErrUnknownAPIKey = errors.New("unknown or revoked API key")

func hashAPIKey(key string) []byte { return sm3.Sm3Sum([]byte(key)) }

// CreateAPIKey creates an API key for a kindergarten's system and returns
// it. Only its SM3 hash is stored, so the caller must hand the key over now.
func CreateAPIKey(ctx context.Context, db *sqlx.DB, kindergartenID int64, name string) (string, error) {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	key := apiKeyPrefix + hex.EncodeToString(secret)
	_, err := db.ExecContext(ctx, `INSERT INTO monitoring_api_key (kindergarten_id, name, key_hash) VALUES ($1, $2, $3)`,
		kindergartenID, name, hashAPIKey(key))
	if err != nil {
		return "", fmt.Errorf("create API key for kindergarten %d: %w", kindergartenID, err)
	}
	return key, nil
}

// KeyOwner is the kindergarten an API key belongs to.
type KeyOwner struct {
	KeyID          int64  `db:"id"`
	KeyName        string `db:"name"`
	KindergartenID int64  `db:"kindergarten_id"`
	DistrictCode   string `db:"district_code"`
}

// KindergartenOfKey returns the owner of a key, or ErrUnknownAPIKey.
func KindergartenOfKey(ctx context.Context, db *sqlx.DB, key string) (KeyOwner, error) {
	var owner KeyOwner
	const q = `
		SELECT a.id, a.name, a.kindergarten_id, k.district_code
		FROM monitoring_api_key a JOIN kindergarten k ON k.id = a.kindergarten_id
		WHERE a.key_hash = $1 AND a.revoked_at IS NULL`
	err := db.GetContext(ctx, &owner, q, hashAPIKey(key))
	if errors.Is(err, sql.ErrNoRows) {
		return owner, ErrUnknownAPIKey
	}
	return owner, err
}
