package keys

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// Resign re-signs ("backoffice keys resign") the roles, staff accounts and
// certificate bindings that verify under old, the public keys of the
// previous signing keys, with the provider of integrity, and records a
// keys.resign audit event, all in one transaction. Rows that do not verify
// are left alone and returned in the report's Problems, so a switch of
// CRYPTO_PROVIDER does not bless a row changed in the database.
func Resign(ctx context.Context, db *sqlx.DB, integrity *access.Integrity, trail *audit.Trail, old *crypto.Verifier) (access.ResignReport, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return access.ResignReport{}, err
	}
	defer tx.Rollback()
	report, err := integrity.Resign(ctx, tx, old)
	if err != nil {
		return report, err
	}

	problems := make([]string, len(report.Problems))
	for i, problem := range report.Problems {
		problems[i] = problem.Resource + " " + problem.ResourceID
	}
	oldKeyIDs := []string{}
	if old != nil {
		oldKeyIDs = old.KeyIDs()
	}
	err = trail.RecordTx(ctx, tx, nil, nil, audit.Event{
		Action: "keys.resign", Resource: "acl", ResourceID: report.KeyID,
		After: map[string]any{
			"keyId": report.KeyID, "oldKeyIds": oldKeyIDs, "roles": report.Roles, "staffIds": report.StaffIDs,
			"certificates": report.Certificates, "notResigned": problems,
		},
		Detail: fmt.Sprintf("通过命令行将 %d 个角色、%d 个账号和 %d 个证书绑定的权限数据改用密钥 %s 签名，%d 条校验失败的未重签",
			len(report.Roles), len(report.StaffIDs), len(report.Certificates), report.KeyID, len(report.Problems)),
	})
	if err != nil {
		return report, err
	}
	return report, tx.Commit()
}
