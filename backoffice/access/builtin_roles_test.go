package access

import (
	"context"
	"testing"

	"github.com/sh-preschool/preschool/shared/testenv"
)

// TestBuiltInRolesMatchMigrations fails when a migration changes a built-in
// role without the same change to builtInRoles. The back office signs an
// unsigned built-in role at start only when its content equals the list,
// so a mismatch would leave the role unsigned and every one of its staff
// refused.
func TestBuiltInRolesMatchMigrations(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	ctx := context.Background()
	var codes []string
	if err := db.SelectContext(ctx, &codes, `SELECT code FROM role WHERE built_in ORDER BY code`); err != nil {
		t.Fatal(err)
	}
	if len(codes) != len(builtInRoles) {
		t.Errorf("the migrations create %d built-in roles %v, builtInRoles lists %d", len(codes), codes, len(builtInRoles))
	}
	for _, want := range builtInRoles {
		got, _, err := readRole(ctx, db, want.Code, false)
		if err != nil {
			t.Errorf("role %s: %v", want.Code, err)
			continue
		}
		if !sameRole(got, want) {
			t.Errorf("role %s after the migrations:\n  %+v\nbuiltInRoles has:\n  %+v", want.Code, got, want)
		}
	}
}
