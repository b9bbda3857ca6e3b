package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// NewIntegrity builds the signer and verifier of access-control rows from
// the cryptography provider's configuration, checks that it can sign,
// records every failed verification in the audit trail, and signs the
// built-in roles that are unsigned but unchanged (a new database). The
// commands of the back-office binary use it too.
func NewIntegrity(ctx context.Context, cfg crypto.ProviderConfig, db *sqlx.DB, trail *audit.Trail) (*access.Integrity, error) {
	provider, err := crypto.NewProvider(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := provider.Sign(ctx, []byte("preschool/start-up signing check")); err != nil {
		if errors.Is(err, crypto.ErrSigningUnavailable) {
			return nil, errors.New("the back office signs access-control data and audit checkpoints with SM2: " +
				"set CRYPTO_SIGNING_KEY_FILE and CRYPTO_SIGNING_KEY_ID (\"backoffice keygen KEYRING SIGNING_KEY\" writes a key)")
		}
		return nil, fmt.Errorf("SM2 signing check failed: %w", err)
	}
	integrity := &access.Integrity{DB: db, Provider: provider, UserID: cfg.UserID}
	integrity.Alert = func(ctx context.Context, r *http.Request, resource, resourceID string, cause error) {
		err := trail.Record(context.WithoutCancel(ctx), r, nil, audit.Event{
			Action: "acl.tampered", Resource: resource, ResourceID: resourceID, Outcome: audit.OutcomeFailed,
			Detail: "权限数据签名校验失败，已拒绝使用：" + cause.Error(),
		})
		if err != nil {
			slog.Error("record the access-control alert in the audit trail failed", "resource", resource,
				"resource_id", resourceID, "error", err)
		}
	}
	signed, err := integrity.SignBuiltInRoles(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign the built-in roles: %w", err)
	}
	if signed > 0 {
		slog.Info("signed the unsigned built-in roles that still have their initial permissions", "roles", signed)
	}
	unknown, err := integrity.UnknownSigningKeys(ctx)
	if err != nil {
		// The check only explains rejected sign-ins, so its failure does not
		// stop the back office from starting.
		slog.Warn("checking the signing keys of access-control rows failed", "error", err)
	}
	if len(unknown) > 0 {
		slog.Error("access-control rows are signed with keys that the cryptography provider does not have, so the staff they cover cannot sign in; "+
			"if CRYPTO_PROVIDER or the signing key changed, run "+access.ResignCommand+" with the previous keys' public keys",
			"rows_by_key_id", unknown)
	}
	return integrity, nil
}

// checkIntegrity verifies every role and account signature at start and
// then every IntegrityInterval, so a changed row is alerted even when no
// one signs in with it.
func (b *BackOffice) checkIntegrity(ctx context.Context) {
	ticker := time.NewTicker(b.config.IntegrityInterval)
	defer ticker.Stop()
	for {
		problems, err := b.integrity.VerifyAll(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("access-control signature check failed", "error", err)
		}
		if len(problems) > 0 {
			slog.Error("access-control rows fail their signature check", "rows", len(problems))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// writeCheckpoints signs the audit chain's head every
// AuditCheckpointInterval, and once more when the back office stops.
func (b *BackOffice) writeCheckpoints(ctx context.Context) {
	ticker := time.NewTicker(b.config.AuditCheckpointInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			b.writeCheckpoint(context.WithoutCancel(ctx))
			return
		case <-ticker.C:
			b.writeCheckpoint(ctx)
		}
	}
}

func (b *BackOffice) writeCheckpoint(ctx context.Context) {
	checkpoint, written, err := b.checkpoints.Write(ctx)
	if err != nil {
		slog.Error("signing an audit checkpoint failed", "error", err)
		return
	}
	if written {
		slog.Info("audit checkpoint signed", "checkpoint", checkpoint.ID, "last_row", checkpoint.LastID, "key_id", checkpoint.KeyID)
	}
}
