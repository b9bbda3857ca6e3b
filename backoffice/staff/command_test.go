package staff

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/testenv"
)

func TestCreateCommandTemporaryPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var out bytes.Buffer
	err := CreateCommand(context.Background(), e.db, e.keyring, e.integrity,
		[]string{"-username", "xuhui.admin", "-name", "徐汇区管理员", "-role", "district_admin", "-district", xuhui}, &out)
	if err != nil {
		t.Fatalf("CreateCommand: %v", err)
	}
	match := regexp.MustCompile(`临时密码：(\S+)`).FindStringSubmatch(out.String())
	if match == nil {
		t.Fatalf("output %q prints no temporary password", out.String())
	}
	if err := CheckPasswordRules(match[1], "xuhui.admin"); err != nil {
		t.Errorf("temporary password %q breaks a rule: %v", match[1], err)
	}

	var row struct {
		MustChange bool   `db:"must_change_password"`
		Level      string `db:"scope_level"`
		District   string `db:"district_code"`
		Hash       string `db:"password_hash"`
	}
	if err := e.db.Get(&row, `SELECT must_change_password, scope_level, district_code, password_hash FROM staff_user WHERE username = 'xuhui.admin'`); err != nil {
		t.Fatal(err)
	}
	if !row.MustChange || row.Level != "district" || row.District != xuhui {
		t.Errorf("account = %+v, want a district admin of %s who must change the password", row, xuhui)
	}
	encoded, sealed, err := openPasswordHash(e.keyring, row.Hash)
	if err != nil || !sealed {
		t.Fatalf("stored password hash %.20s… opens = %v, sealed %v, want a sealed hash", row.Hash, err, sealed)
	}
	if ok, _, err := VerifyPassword(encoded, match[1]); err != nil || !ok {
		t.Errorf("the printed password does not match the stored hash (%v)", err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'staff.create' AND actor_role = 'system'`); n != 1 {
		t.Errorf("audited creations by the system = %d, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM staff_password_history`); n != 1 {
		t.Errorf("password history entries = %d, want 1", n)
	}
}

func TestCreateCommandGivenPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var out bytes.Buffer
	err := CreateCommand(context.Background(), e.db, e.keyring, e.integrity,
		[]string{"-username", "leader.one", "-name", "领导", "-role", "leader", "-scope", "city", "-password", testPassword}, &out)
	if err != nil {
		t.Fatalf("CreateCommand: %v", err)
	}
	if strings.Contains(out.String(), testPassword) {
		t.Errorf("output %q repeats the given password", out.String())
	}
	if n := e.count(t, `SELECT count(*) FROM staff_user WHERE username = 'leader.one' AND NOT must_change_password AND scope_level = 'city'`); n != 1 {
		t.Errorf("leader.one is missing or must change the password")
	}
	_, me := e.signIn(t, "leader.one", testPassword)
	if me.MustChangePassword {
		t.Errorf("an account with a given password must change it")
	}
}

func TestCreateCommandRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAccount(t, "taken", "city_admin")
	cases := []struct {
		name string
		args []string
		code string
	}{
		{"weak password", []string{"-username", "bob", "-name", "乙", "-role", "city_admin", "-password", "short"}, "password_too_short"},
		{"password with the username", []string{"-username", "bob.lee", "-name", "乙", "-role", "city_admin", "-password", "Bob.Lee#123456"}, "password_contains_username"},
		{"unknown role", []string{"-username", "bob", "-name", "乙", "-role", "root"}, "unknown_role"},
		{"district of a city role", []string{"-username", "bob", "-name", "乙", "-role", "city_admin", "-district", xuhui}, "scope_level_not_allowed"},
		{"unknown district", []string{"-username", "bob", "-name", "乙", "-role", "district_admin", "-district", "319999"}, "unknown_district"},
		{"taken username", []string{"-username", "taken", "-name", "乙", "-role", "city_admin"}, "username_taken"},
		{"invalid username", []string{"-username", "Bob", "-name", "乙", "-role", "city_admin"}, "invalid_username"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			var out bytes.Buffer
			err := CreateCommand(context.Background(), e.db, e.keyring, e.integrity, test.args, &out)
			apiErr := apierror.As(err)
			if apiErr == nil || apiErr.Code != test.code {
				t.Errorf("CreateCommand(%v) = %v, want %s", test.args, err, test.code)
			}
		})
	}
	var out bytes.Buffer
	if err := CreateCommand(context.Background(), e.db, e.keyring, e.integrity, []string{"-username", "bob", "extra"}, &out); err == nil {
		t.Errorf("CreateCommand accepted a stray argument")
	}
	if n := e.count(t, `SELECT count(*) FROM staff_user WHERE username LIKE 'bob%'`); n != 0 {
		t.Errorf("rejected accounts were stored: %d", n)
	}
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	accounts, err := SeedDemo(context.Background(), e.db, e.keyring, e.integrity)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	var roles []string
	if err := e.db.Select(&roles, `SELECT code FROM role ORDER BY code`); err != nil {
		t.Fatal(err)
	}
	seeded := map[string]bool{}
	for _, account := range accounts {
		if !account.Created || account.Password != DemoPassword {
			t.Errorf("first run: %+v, want created with the demo password", account)
		}
		seeded[account.Role] = true
	}
	for _, role := range roles {
		if !seeded[role] {
			t.Errorf("no demo account for role %s", role)
		}
	}
	want := map[string]string{
		"city.admin": "city_admin/city", "xuhui.admin": "district_admin/district", "xuhui.street": "street_officer/street",
		"xuhui.kindergarten": "kindergarten_admin/kindergarten", "leader": "leader/city", "auditor": "auditor/none",
		"security.admin": "security_admin/none",
	}
	for username, roleAndLevel := range want {
		var got string
		err := e.db.Get(&got, `SELECT role_code || '/' || scope_level FROM staff_user WHERE username = $1 AND NOT totp_enabled AND NOT must_change_password`, username)
		if err != nil || got != roleAndLevel {
			t.Errorf("%s = %q (%v), want %s without TOTP and without a required change", username, got, err, roleAndLevel)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM staff_user WHERE username LIKE 'xuhui.%' AND district_code = $1`, xuhui); n != 4 {
		t.Errorf("demo accounts in %s = %d, want 4", xuhui, n)
	}

	again, err := SeedDemo(context.Background(), e.db, e.keyring, e.integrity)
	if err != nil {
		t.Fatalf("second SeedDemo: %v", err)
	}
	for _, account := range again {
		if account.Created {
			t.Errorf("second run created %s again", account.Username)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM staff_user`); n != len(accounts) {
		t.Errorf("accounts after two runs = %d, want %d", n, len(accounts))
	}
	_, me := e.signIn(t, "security.admin", DemoPassword)
	if me.Role != "security_admin" {
		t.Errorf("demo security admin signed in as %s", me.Role)
	}
}

func TestSeedDemoNeedsSeededDivisions(t *testing.T) {
	t.Parallel()
	database := testenv.NewDatabase(t)
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = SeedDemo(context.Background(), database.DB, keyring, nil)
	if err == nil || !strings.Contains(err.Error(), "backoffice seed") {
		t.Errorf("SeedDemo on an unseeded database = %v, want advice to seed first", err)
	}
	var n int
	if err := database.DB.Get(&n, `SELECT count(*) FROM staff_user`); err != nil || n != 0 {
		t.Errorf("SeedDemo on an unseeded database stored %d accounts (%v)", n, err)
	}
}
