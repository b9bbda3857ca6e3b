package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// checkpointDomain starts every signed checkpoint message, so that no other
// signed message of the back office can pass as one.
const checkpointDomain = "preschool/audit/checkpoint/v1"

// Reasons that Checkpoints.Verify gives.
const (
	ReasonCheckpointSignature  = "a signed checkpoint does not verify: it was forged or edited, or a checkpoint before it was removed"
	ReasonCheckpointUnknownKey = "a signed checkpoint names a signing key that the cryptography provider does not have: list the retired key's public key in CRYPTO_VERIFY_KEYS"
	ReasonCheckpointOrder      = "a signed checkpoint names an earlier row than the checkpoint before it"
	ReasonCheckpointRowMissing = "a signed checkpoint names a row that no longer exists: rows were deleted"
	ReasonCheckpointHash       = "a signed checkpoint holds another hash for this row: a row up to here was edited and the chain rebuilt"
)

// Checkpoints signs the head of the audit trail's SM3 chain with SM2 at
// intervals and verifies the signed checkpoints. Each checkpoint's message
// includes the digest of the one before, so a checkpoint removed from the
// middle is found too.
type Checkpoints struct {
	DB       *sqlx.DB
	Provider crypto.Provider
}

// Checkpoint is one row of audit_checkpoint.
type Checkpoint struct {
	ID        int64  `db:"id"`
	LastID    int64  `db:"last_id"`
	ChainHash []byte `db:"chain_hash"`
	KeyID     string `db:"key_id"`
	UserID    string `db:"user_id"`
	Signature []byte `db:"signature"`
}

// message returns the canonical bytes that are signed: the domain, the
// digest of the previous checkpoint, the last row's ID and the chain hash,
// each with a 4-byte big-endian length.
func (c Checkpoint) message(previousDigest []byte) []byte {
	var message []byte
	for _, field := range [][]byte{[]byte(checkpointDomain), previousDigest, []byte(strconv.FormatInt(c.LastID, 10)), c.ChainHash} {
		message = binary.BigEndian.AppendUint32(message, uint32(len(field)))
		message = append(message, field...)
	}
	return message
}

// digest returns SM3 over the checkpoint's message and signature, which the
// next checkpoint signs.
func (c Checkpoint) digest(previousDigest []byte) []byte {
	return sm3.Sm3Sum(append(c.message(previousDigest), c.Signature...))
}

// Write signs the chain's current head and stores the checkpoint. It
// returns false without writing when the head has not moved since the last
// checkpoint or the trail is empty.
func (c *Checkpoints) Write(ctx context.Context) (Checkpoint, bool, error) {
	tx, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		return Checkpoint{}, false, err
	}
	defer tx.Rollback()

	var head struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
	}
	// FOR SHARE waits for a writer that holds the head, so the checkpoint
	// names a committed row.
	if err := tx.GetContext(ctx, &head, `SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1 FOR SHARE`); err != nil {
		return Checkpoint{}, false, fmt.Errorf("audit: read chain head: %w", err)
	}
	if head.LastID == 0 {
		return Checkpoint{}, false, nil
	}
	// Lock the checkpoint table against a concurrent writer, so two
	// checkpoints never sign the same previous one.
	if _, err := tx.ExecContext(ctx, `LOCK TABLE audit_checkpoint IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return Checkpoint{}, false, fmt.Errorf("audit: lock checkpoints: %w", err)
	}
	previous, err := lastCheckpoint(ctx, tx)
	if err != nil {
		return Checkpoint{}, false, err
	}
	if previous != nil && previous.LastID == head.LastID {
		return *previous, false, nil
	}
	previousDigest, err := c.chainDigest(ctx, tx)
	if err != nil {
		return Checkpoint{}, false, err
	}

	checkpoint := Checkpoint{LastID: head.LastID, ChainHash: head.LastHash}
	signature, err := c.Provider.Sign(ctx, checkpoint.message(previousDigest))
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	checkpoint.KeyID, checkpoint.UserID, checkpoint.Signature = signature.KeyID, signature.UserID, signature.Value
	err = tx.GetContext(ctx, &checkpoint.ID, `
		INSERT INTO audit_checkpoint (last_id, chain_hash, key_id, user_id, signature)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		checkpoint.LastID, checkpoint.ChainHash, checkpoint.KeyID, checkpoint.UserID, checkpoint.Signature)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("audit: store checkpoint: %w", err)
	}
	return checkpoint, true, tx.Commit()
}

func lastCheckpoint(ctx context.Context, q sqlx.QueryerContext) (*Checkpoint, error) {
	var checkpoint Checkpoint
	err := sqlx.GetContext(ctx, q, &checkpoint, `
		SELECT id, last_id, chain_hash, key_id, user_id, signature FROM audit_checkpoint ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read last checkpoint: %w", err)
	}
	return &checkpoint, nil
}

// chainDigest returns the digest of the last checkpoint, computed along the
// whole checkpoint chain, or nil when there is none.
func (c *Checkpoints) chainDigest(ctx context.Context, q sqlx.QueryerContext) ([]byte, error) {
	var checkpoints []Checkpoint
	err := sqlx.SelectContext(ctx, q, &checkpoints, `
		SELECT id, last_id, chain_hash, key_id, user_id, signature FROM audit_checkpoint ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	var digest []byte
	for _, checkpoint := range checkpoints {
		digest = checkpoint.digest(digest)
	}
	return digest, nil
}

// Verify checks every checkpoint in order: its SM2 signature over the
// previous checkpoint's digest, the row ID and the chain hash, that row IDs
// never go back, and that the row it names still has that hash. A row
// edited and the chain rebuilt after it fails the last check at the first
// checkpoint after the edit. It returns the number of checkpoints and the
// problems, with ID the audit row the failing checkpoint names.
//
// NOTE: rows appended after the last checkpoint, and checkpoints removed
// from the end of the table, are covered only by the unsigned chain until
// the next checkpoint is written.
func (c *Checkpoints) Verify(ctx context.Context) (int, []Problem, error) {
	var checkpoints []Checkpoint
	err := c.DB.SelectContext(ctx, &checkpoints, `
		SELECT id, last_id, chain_hash, key_id, user_id, signature FROM audit_checkpoint ORDER BY id`)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	var problems []Problem
	var digest []byte
	var lastID int64
	for _, checkpoint := range checkpoints {
		signature := crypto.Signature{KeyID: checkpoint.KeyID, UserID: checkpoint.UserID, Value: checkpoint.Signature}
		err := c.Provider.Verify(ctx, checkpoint.message(digest), signature)
		switch {
		case errors.Is(err, crypto.ErrServiceUnavailable):
			// A service that does not respond is not a failed check, so
			// the trail is left unverified.
			return 0, nil, fmt.Errorf("audit: verify checkpoint %d: %w", checkpoint.ID, err)
		case errors.Is(err, crypto.ErrUnknownKey):
			slog.Error("audit checkpoint signed with an unknown key", "checkpoint", checkpoint.ID, "key_id", checkpoint.KeyID, "error", err)
			problems = append(problems, Problem{ID: checkpoint.LastID, Checkpoint: checkpoint.ID, Reason: ReasonCheckpointUnknownKey})
		case err != nil:
			slog.Error("audit checkpoint signature does not verify", "checkpoint", checkpoint.ID, "error", err)
			problems = append(problems, Problem{ID: checkpoint.LastID, Checkpoint: checkpoint.ID, Reason: ReasonCheckpointSignature})
		}
		if checkpoint.LastID < lastID {
			problems = append(problems, Problem{ID: checkpoint.LastID, Checkpoint: checkpoint.ID, Reason: ReasonCheckpointOrder})
		}
		var hash []byte
		err = c.DB.GetContext(ctx, &hash, `SELECT hash FROM audit_event WHERE id = $1`, checkpoint.LastID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			problems = append(problems, Problem{ID: checkpoint.LastID, Checkpoint: checkpoint.ID, Reason: ReasonCheckpointRowMissing})
		case err != nil:
			return 0, nil, fmt.Errorf("audit: read row %d: %w", checkpoint.LastID, err)
		case !bytes.Equal(hash, checkpoint.ChainHash):
			problems = append(problems, Problem{ID: checkpoint.LastID, Checkpoint: checkpoint.ID, Reason: ReasonCheckpointHash})
		}
		digest = checkpoint.digest(digest)
		lastID = checkpoint.LastID
	}
	return len(checkpoints), problems, nil
}
