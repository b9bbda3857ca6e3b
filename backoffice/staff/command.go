package staff

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// CreateCommand runs "backoffice staff create"; args are the flags after
// "create". Without -password it generates a temporary password, prints it
// once and makes the account change it at the first sign-in. With -password
// it checks the given password against the rules and the account may keep
// it, for scripted tests. The scope level is the role's only level, or
// -scope, or follows from the most specific of -kindergarten, -street and
// -district.
func CreateCommand(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, integrity *access.Integrity, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("staff create", flag.ContinueOnError)
	flags.SetOutput(out)
	username := flags.String("username", "", "用户名：3 至 32 位小写字母、数字、点、下划线或连字符（必填）")
	name := flags.String("name", "", "姓名（必填）")
	role := flags.String("role", "", "角色代码，如 city_admin、district_admin、street_officer、kindergarten_admin、teacher、leader、auditor、security_admin（必填）")
	level := flags.String("scope", "", "数据范围：city、district、street、kindergarten 或 none（默认为角色唯一可选的范围，或由下面的代码推出）")
	district := flags.String("district", "", "区代码，如 310104")
	street := flags.String("street", "", "街道（镇）代码，9 位")
	kindergarten := flags.Int64("kindergarten", 0, "园所 ID")
	password := flags.String("password", "", "指定密码（须符合密码规则，首次登录不要求修改）；不指定时生成临时密码")
	phone := flags.String("phone", "", "手机号（可选，加密存储）")
	idNumber := flags.String("id-number", "", "居民身份证号（可选，加密存储）")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("无法识别的参数 %q，用法见 backoffice staff create -h", flags.Arg(0))
	}

	scope := scopeRequest{Level: *level, DistrictCode: *district, StreetCode: *street, KindergartenID: *kindergarten}
	if scope.Level == "" {
		switch {
		case scope.KindergartenID != 0:
			scope.Level = access.LevelKindergarten
		case scope.StreetCode != "":
			scope.Level = access.LevelStreet
		case scope.DistrictCode != "":
			scope.Level = access.LevelDistrict
		}
	}
	roles := &access.Roles{DB: db, Integrity: integrity}
	prepared, err := prepareAccount(ctx, db, roles, accountInput{
		Username: *username, DisplayName: *name, Role: *role, Scope: scope, Phone: *phone, IDNumber: *idNumber,
	}, time.Now())
	if err != nil {
		return err
	}
	temporary := *password == ""
	chosen := *password
	if temporary {
		chosen = GenerateTemporaryPassword(prepared.Username)
	} else if err := CheckPasswordRules(chosen, prepared.Username); err != nil {
		return err
	}
	if prepared.PasswordHash, err = HashPassword(chosen); err != nil {
		return err
	}
	prepared.MustChangePassword = temporary

	detail := "通过命令行创建账号，生成临时密码"
	if !temporary {
		detail = "通过命令行创建账号，使用指定密码"
	}
	id, err := createAccounts(ctx, db, keyring, integrity, []newAccount{prepared}, detail)
	if err != nil {
		return err
	}
	roleName := *role
	if found, err := roles.Role(ctx, prepared.Role); err == nil {
		roleName = found.Name
	}
	fmt.Fprintf(out, "已创建账号 %s（ID %d，%s，数据范围：%s）。\n", prepared.Username, id[0], roleName, levelNames[prepared.Scope.Level])
	if temporary {
		fmt.Fprintf(out, "临时密码：%s\n首次登录时须修改密码，并绑定动态验证码。\n", chosen)
	} else {
		fmt.Fprintln(out, "已使用指定的密码。首次登录时须绑定动态验证码。")
	}
	return nil
}

// createAccounts inserts accounts in one transaction, each with an audit
// event by the system, and returns their IDs in order. An account whose
// username exists fails the whole call with errUsernameTaken.
func createAccounts(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, integrity *access.Integrity, accounts []newAccount, detail string) ([]int64, error) {
	trail := &audit.Trail{DB: db, Now: time.Now}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ids := make([]int64, 0, len(accounts))
	for _, account := range accounts {
		id, err := insertAccount(ctx, tx, keyring, integrity, account)
		if err != nil {
			return nil, err
		}
		err = trail.RecordTx(ctx, tx, nil, nil, audit.Event{
			Action: "staff.create", Resource: "staff_user", ResourceID: strconv.FormatInt(id, 10),
			DistrictCode: account.Scope.DistrictCode, Detail: detail,
			After: auditState{
				Username: account.Username, DisplayName: account.DisplayName, Role: account.Role,
				ScopeLevel: account.Scope.Level, DistrictCode: account.Scope.DistrictCode,
				StreetCode: account.Scope.StreetCode, KindergartenID: account.Scope.KindergartenID,
				Phone: account.Phone, IDNumber: account.IDNumber, Status: StatusActive,
				MustChangePassword: account.MustChangePassword,
			},
		})
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, tx.Commit()
}

// DemoPassword is the password of every demo account SeedDemo creates. It
// meets the password rules and contains none of the demo usernames.
const DemoPassword = "Shanghai#Demo2025"

// DemoDistrict is the district of the demo's district, street and
// kindergarten accounts (徐汇区).
const DemoDistrict = "310104"

// DemoAccount is an account SeedDemo made or found.
type DemoAccount struct {
	Username    string
	DisplayName string
	Role        string
	Password    string
	// Created is false when the account existed and was left as it was,
	// password included.
	Created bool
}

// SeedDemo creates one demo account per built-in role with DemoPassword,
// which need not change at the first sign-in; TOTP is enrolled then. It is
// idempotent: existing accounts are left as they are. The street, the
// kindergarten and the teacher's kindergarten are the first of DemoDistrict
// by code and by ID, so the divisions and kindergartens must be seeded
// first.
func SeedDemo(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, integrity *access.Integrity) ([]DemoAccount, error) {
	var street string
	err := db.GetContext(ctx, &street, `SELECT code FROM street WHERE district_code = $1 ORDER BY code LIMIT 1`, DemoDistrict)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("区 %s 没有街道（镇），请先运行 backoffice seed", DemoDistrict)
	}
	if err != nil {
		return nil, fmt.Errorf("read demo street: %w", err)
	}
	var kindergarten int64
	err = db.GetContext(ctx, &kindergarten, `SELECT id FROM kindergarten WHERE district_code = $1 ORDER BY id LIMIT 1`, DemoDistrict)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("区 %s 没有园所，请先运行 backoffice seed", DemoDistrict)
	}
	if err != nil {
		return nil, fmt.Errorf("read demo kindergarten: %w", err)
	}

	inputs := []accountInput{
		{Username: "city.admin", DisplayName: "市级管理员（演示）", Role: "city_admin"},
		{Username: "xuhui.admin", DisplayName: "徐汇区管理员（演示）", Role: "district_admin", Scope: scopeRequest{DistrictCode: DemoDistrict}},
		{Username: "xuhui.street", DisplayName: "徐汇区街镇工作人员（演示）", Role: "street_officer", Scope: scopeRequest{StreetCode: street}},
		{Username: "xuhui.kindergarten", DisplayName: "徐汇区园所管理员（演示）", Role: "kindergarten_admin", Scope: scopeRequest{KindergartenID: kindergarten}},
		{Username: "xuhui.teacher", DisplayName: "徐汇区教师（演示）", Role: "teacher", Scope: scopeRequest{KindergartenID: kindergarten}},
		{Username: "leader", DisplayName: "领导（演示）", Role: "leader", Scope: scopeRequest{Level: access.LevelCity}},
		{Username: "auditor", DisplayName: "审计员（演示）", Role: "auditor"},
		{Username: "security.admin", DisplayName: "安全管理员（演示）", Role: "security_admin"},
	}
	roles := &access.Roles{DB: db, Integrity: integrity}
	demo := make([]DemoAccount, 0, len(inputs))
	var missing []newAccount
	var missingIndex []int
	for _, input := range inputs {
		demo = append(demo, DemoAccount{Username: input.Username, DisplayName: input.DisplayName, Role: input.Role, Password: DemoPassword})
		var exists bool
		if err := db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM staff_user WHERE username = $1)`, input.Username); err != nil {
			return nil, fmt.Errorf("check demo account %s: %w", input.Username, err)
		}
		if exists {
			continue
		}
		prepared, err := prepareAccount(ctx, db, roles, input, time.Now())
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", input.Username, err)
		}
		if err := CheckPasswordRules(DemoPassword, prepared.Username); err != nil {
			return nil, fmt.Errorf("demo account %s: %w", input.Username, err)
		}
		if prepared.PasswordHash, err = HashPassword(DemoPassword); err != nil {
			return nil, err
		}
		missing = append(missing, prepared)
		missingIndex = append(missingIndex, len(demo)-1)
	}
	if len(missing) == 0 {
		return demo, nil
	}
	if _, err := createAccounts(ctx, db, keyring, integrity, missing, "创建演示账号"); err != nil {
		return nil, err
	}
	for _, i := range missingIndex {
		demo[i].Created = true
	}
	return demo, nil
}
