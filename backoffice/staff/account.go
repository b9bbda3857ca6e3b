package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/person"
)

// Sealing contexts and the blind-index domain of staff_user's personal data.
const (
	phoneContext    = "staff.phone"
	idNumberContext = "staff.id_number"
	// passwordHashContext seals the encoded password hashes of staff_user
	// and staff_password_history (sealPasswordHash).
	passwordHashContext = "staff.password_hash"
	idNumberDomain      = "staff_id_number"
)

// Account statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// account is a staff_user row.
type account struct {
	ID             int64          `db:"id"`
	Username       string         `db:"username"`
	DisplayName    string         `db:"display_name"`
	RoleCode       string         `db:"role_code"`
	ScopeLevel     string         `db:"scope_level"`
	DistrictCode   sql.NullString `db:"district_code"`
	StreetCode     sql.NullString `db:"street_code"`
	KindergartenID sql.NullInt64  `db:"kindergarten_id"`
	Phone          []byte         `db:"phone"`
	IDNumber       []byte         `db:"id_number"`
	// PasswordHash is the stored value: the encoded hash sealed by
	// sealPasswordHash, or the encoded hash itself in a row stored before
	// hashes were sealed. openPasswordHash reads both.
	PasswordHash       string       `db:"password_hash"`
	PasswordChangedAt  time.Time    `db:"password_changed_at"`
	MustChangePassword bool         `db:"must_change_password"`
	TOTPSecret         []byte       `db:"totp_secret"`
	TOTPEnabled        bool         `db:"totp_enabled"`
	TOTPLastStep       int64        `db:"totp_last_step"`
	FailedAttempts     int          `db:"failed_attempts"`
	LockedUntil        sql.NullTime `db:"locked_until"`
	Status             string       `db:"status"`
	CreatedAt          time.Time    `db:"created_at"`
	UpdatedAt          time.Time    `db:"updated_at"`
}

const accountColumns = `id, username, display_name, role_code, scope_level, district_code, street_code,
	kindergarten_id, phone, id_number, password_hash, password_changed_at, must_change_password, totp_secret,
	totp_enabled, totp_last_step, failed_attempts, locked_until, status, created_at, updated_at`

// errAccountNotFound is returned by the loaders for a missing account.
var errAccountNotFound = errors.New("staff account not found")

// ErrStaffNotFound is the API error for a missing account.
var ErrStaffNotFound = apierror.New(http.StatusNotFound, "staff_not_found", "未找到该账号。")

func loadAccountBy(ctx context.Context, q sqlx.QueryerContext, where string, arg any) (account, error) {
	var row account
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+accountColumns+` FROM staff_user WHERE `+where, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return row, errAccountNotFound
	}
	if err != nil {
		return row, fmt.Errorf("read staff account: %w", err)
	}
	return row, nil
}

// lockAccount reads an account and locks its row until tx ends.
func lockAccount(ctx context.Context, tx *sqlx.Tx, id int64) (account, error) {
	row, err := loadAccountBy(ctx, tx, `id = $1 FOR UPDATE`, id)
	if errors.Is(err, errAccountNotFound) {
		return row, ErrStaffNotFound
	}
	return row, err
}

func (a *account) scope() access.Scope {
	return access.Scope{
		Level: a.ScopeLevel, DistrictCode: a.DistrictCode.String, StreetCode: a.StreetCode.String,
		KindergartenID: a.KindergartenID.Int64,
	}
}

func (a *account) lockedAt(now time.Time) bool {
	return a.LockedUntil.Valid && a.LockedUntil.Time.After(now)
}

// passwordExpired reports whether the password is older than
// PasswordMaxAgeDays.
func (a *account) passwordExpired(now time.Time) bool {
	return now.After(a.PasswordChangedAt.AddDate(0, 0, PasswordMaxAgeDays))
}

// Validation errors of account fields.
var (
	errInvalidUsername    = apierror.Invalid("username", "invalid_username", "用户名须为 3 至 32 位小写字母、数字、点、下划线或连字符，并以字母或数字开头。")
	errUsernameTaken      = apierror.New(http.StatusConflict, "username_taken", "该用户名已被使用，请换一个用户名。").WithField("username")
	errInvalidDisplayName = apierror.Invalid("displayName", "invalid_display_name", "请填写姓名，长度不超过 50 个字符。")
	errUnknownRole        = apierror.Invalid("role", "unknown_role", "所选角色不存在。")
	errIDNumberTaken      = apierror.New(http.StatusConflict, "id_number_taken", "该身份证号码已登记在其他账号上。").WithField("idNumber")
	errInvalidStatus      = apierror.Invalid("status", "invalid_status", "账号状态只能是启用（active）或停用（disabled）。")
)

// usernamePattern is the CHECK constraint of staff_user.username.
var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)

func validateUsername(username string) error {
	if !usernamePattern.MatchString(username) {
		return errInvalidUsername
	}
	return nil
}

func normaliseDisplayName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 50 {
		return "", errInvalidDisplayName
	}
	return name, nil
}

// normalisePhone validates an optional phone number; "" stays "".
func normalisePhone(phone string) (string, error) {
	if strings.TrimSpace(phone) == "" {
		return "", nil
	}
	normalised, err := person.NormalisePhone(phone)
	if err != nil {
		if apiErr := apierror.As(err); apiErr != nil {
			return "", apiErr.WithField("phone")
		}
		return "", err
	}
	return normalised, nil
}

// normaliseIDNumber validates an optional resident ID number; "" stays "".
func normaliseIDNumber(number string, now time.Time) (string, error) {
	if strings.TrimSpace(number) == "" {
		return "", nil
	}
	parsed, err := document.Parse(document.ResidentID, number, "", now)
	if err != nil {
		if apiErr := apierror.As(err); apiErr != nil {
			return "", apiErr.WithField("idNumber")
		}
		return "", err
	}
	return parsed.Number, nil
}

// scopeRequest is a data scope as the admin app and the command give it.
type scopeRequest struct {
	Level          string `json:"level"`
	DistrictCode   string `json:"districtCode"`
	StreetCode     string `json:"streetCode"`
	KindergartenID int64  `json:"kindergartenId"`
}

// levelNames are the Chinese names of the scope levels.
var levelNames = map[string]string{
	access.LevelCity: "全市", access.LevelDistrict: "区", access.LevelStreet: "街镇",
	access.LevelKindergarten: "园所", access.LevelNone: "无业务数据",
}

func scopeLevelsText(levels []string) string {
	names := make([]string, len(levels))
	for i, level := range levels {
		names[i] = levelNames[level]
	}
	return strings.Join(names, "、")
}

// resolveScope checks a requested scope against the role and the
// divisions, and fills in the district (and street) that a street or
// kindergarten lies in. An empty level means the role's only level.
func resolveScope(ctx context.Context, q sqlx.QueryerContext, role access.Role, request scopeRequest) (access.Scope, error) {
	level := request.Level
	if level == "" && len(role.ScopeLevels) == 1 {
		level = role.ScopeLevels[0]
	}
	if level == "" {
		return access.Scope{}, apierror.Invalid("scope.level", "missing_scope_level",
			"请选择数据范围，角色“"+role.Name+"”可选："+scopeLevelsText(role.ScopeLevels)+"。")
	}
	if !slices.Contains(role.ScopeLevels, level) {
		return access.Scope{}, apierror.Invalid("scope.level", "scope_level_not_allowed",
			"角色“"+role.Name+"”的数据范围只能是："+scopeLevelsText(role.ScopeLevels)+"。")
	}
	scope := access.Scope{Level: level}
	switch level {
	case access.LevelCity, access.LevelNone:
		if request.DistrictCode != "" || request.StreetCode != "" || request.KindergartenID != 0 {
			return scope, apierror.Invalid("scope", "scope_codes_not_expected",
				"数据范围为“"+levelNames[level]+"”时不能指定区、街镇或园所。")
		}
	case access.LevelDistrict:
		if request.StreetCode != "" || request.KindergartenID != 0 {
			return scope, apierror.Invalid("scope", "scope_codes_not_expected", "数据范围为“区”时只需指定区。")
		}
		if request.DistrictCode == "" {
			return scope, apierror.Invalid("scope.districtCode", "missing_district", "请选择区。")
		}
		var exists bool
		if err := sqlx.GetContext(ctx, q, &exists, `SELECT EXISTS (SELECT 1 FROM district WHERE code = $1)`, request.DistrictCode); err != nil {
			return scope, fmt.Errorf("read district: %w", err)
		}
		if !exists {
			return scope, apierror.Invalid("scope.districtCode", "unknown_district", "所选的区不存在。")
		}
		scope.DistrictCode = request.DistrictCode
	case access.LevelStreet:
		if request.KindergartenID != 0 {
			return scope, apierror.Invalid("scope", "scope_codes_not_expected", "数据范围为“街镇”时不能指定园所。")
		}
		if request.StreetCode == "" {
			return scope, apierror.Invalid("scope.streetCode", "missing_street", "请选择街道（镇）。")
		}
		var district string
		err := sqlx.GetContext(ctx, q, &district, `SELECT district_code FROM street WHERE code = $1`, request.StreetCode)
		if errors.Is(err, sql.ErrNoRows) {
			return scope, apierror.Invalid("scope.streetCode", "unknown_street", "所选的街道（镇）不存在。")
		}
		if err != nil {
			return scope, fmt.Errorf("read street: %w", err)
		}
		if request.DistrictCode != "" && request.DistrictCode != district {
			return scope, apierror.Invalid("scope.streetCode", "street_not_in_district", "所选的街道（镇）不在所选的区内。")
		}
		scope.DistrictCode, scope.StreetCode = district, request.StreetCode
	case access.LevelKindergarten:
		if request.KindergartenID == 0 {
			return scope, apierror.Invalid("scope.kindergartenId", "missing_kindergarten", "请选择园所。")
		}
		var place struct {
			District string `db:"district_code"`
			Street   string `db:"street_code"`
		}
		err := sqlx.GetContext(ctx, q, &place, `SELECT district_code, street_code FROM kindergarten WHERE id = $1`, request.KindergartenID)
		if errors.Is(err, sql.ErrNoRows) {
			return scope, apierror.Invalid("scope.kindergartenId", "unknown_kindergarten", "所选的园所不存在。")
		}
		if err != nil {
			return scope, fmt.Errorf("read kindergarten: %w", err)
		}
		if request.DistrictCode != "" && request.DistrictCode != place.District ||
			request.StreetCode != "" && request.StreetCode != place.Street {
			return scope, apierror.Invalid("scope.kindergartenId", "kindergarten_not_in_area", "所选的园所不在所选的区或街道（镇）内。")
		}
		scope.DistrictCode, scope.StreetCode, scope.KindergartenID = place.District, place.Street, request.KindergartenID
	}
	return scope, nil
}

// newAccount is a validated account to insert.
type newAccount struct {
	Username           string
	DisplayName        string
	Role               string
	Scope              access.Scope
	Phone              string
	IDNumber           string
	PasswordHash       string
	MustChangePassword bool
}

func nullString(value string) sql.NullString {
	return sql.NullString{String: value, Valid: value != ""}
}

func nullInt(value int64) sql.NullInt64 {
	return sql.NullInt64{Int64: value, Valid: value != 0}
}

// insertAccount inserts an account and its first password history entry,
// and signs its access fields when integrity is set. It returns
// errUsernameTaken or errIDNumberTaken for a duplicate.
func insertAccount(ctx context.Context, tx *sqlx.Tx, keyring *crypto.Keyring, integrity *access.Integrity, a newAccount) (int64, error) {
	var taken bool
	if err := tx.GetContext(ctx, &taken, `SELECT EXISTS (SELECT 1 FROM staff_user WHERE username = $1)`, a.Username); err != nil {
		return 0, fmt.Errorf("check username: %w", err)
	}
	if taken {
		return 0, errUsernameTaken
	}

	var phone, idNumber, idIndex []byte
	if a.Phone != "" {
		phone = keyring.Seal([]byte(a.Phone), phoneContext)
	}
	if a.IDNumber != "" {
		idNumber = keyring.Seal([]byte(a.IDNumber), idNumberContext)
		idIndex = keyring.Index(idNumberDomain, []byte(a.IDNumber))
		if err := tx.GetContext(ctx, &taken, `SELECT EXISTS (SELECT 1 FROM staff_user WHERE id_number_index = $1)`, idIndex); err != nil {
			return 0, fmt.Errorf("check ID number: %w", err)
		}
		if taken {
			return 0, errIDNumberTaken
		}
	}

	var id int64
	err := tx.GetContext(ctx, &id, `
		INSERT INTO staff_user (username, display_name, role_code, scope_level, district_code, street_code,
		                        kindergarten_id, phone, id_number, id_number_index, password_hash,
		                        must_change_password, key_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (username) DO NOTHING
		RETURNING id`,
		a.Username, a.DisplayName, a.Role, a.Scope.Level, nullString(a.Scope.DistrictCode), nullString(a.Scope.StreetCode),
		nullInt(a.Scope.KindergartenID), phone, idNumber, idIndex, sealPasswordHash(keyring, a.PasswordHash), a.MustChangePassword,
		keyring.ActiveKeyID())
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errUsernameTaken
	}
	if err != nil {
		return 0, fmt.Errorf("insert staff account: %w", err)
	}
	if err := addPasswordHistory(ctx, tx, keyring, id, a.PasswordHash); err != nil {
		return 0, err
	}
	if integrity != nil {
		if err := integrity.SignStaff(ctx, tx, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// addPasswordHistory records an encoded password hash, sealed, and keeps
// only the newest PasswordHistorySize entries of the account.
func addPasswordHistory(ctx context.Context, tx *sqlx.Tx, keyring *crypto.Keyring, staffID int64, passwordHash string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO staff_password_history (staff_id, password_hash, changed_at) VALUES ($1, $2, clock_timestamp())`,
		staffID, sealPasswordHash(keyring, passwordHash)); err != nil {
		return fmt.Errorf("record password history: %w", err)
	}
	_, err := tx.ExecContext(ctx, `
		DELETE FROM staff_password_history
		WHERE staff_id = $1 AND ctid NOT IN (
			SELECT ctid FROM staff_password_history WHERE staff_id = $1 ORDER BY changed_at DESC LIMIT $2)`,
		staffID, PasswordHistorySize)
	if err != nil {
		return fmt.Errorf("trim password history: %w", err)
	}
	return nil
}

// passwordHistory returns the newest PasswordHistorySize encoded password
// hashes of an account, opened.
func passwordHistory(ctx context.Context, q sqlx.QueryerContext, keyring *crypto.Keyring, staffID int64) ([]string, error) {
	var stored []string
	err := sqlx.SelectContext(ctx, q, &stored, `
		SELECT password_hash FROM staff_password_history WHERE staff_id = $1 ORDER BY changed_at DESC LIMIT $2`,
		staffID, PasswordHistorySize)
	if err != nil {
		return nil, fmt.Errorf("read password history: %w", err)
	}
	hashes := make([]string, len(stored))
	for i, value := range stored {
		if hashes[i], _, err = openPasswordHash(keyring, value); err != nil {
			return nil, fmt.Errorf("open password history of staff %d: %w", staffID, err)
		}
	}
	return hashes, nil
}

// openPersonal opens a sealed personal field; an empty column opens to "".
func openPersonal(keyring *crypto.Keyring, sealed []byte, context string) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	plain, err := keyring.Open(sealed, context)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// maskPhone keeps the first three and last four digits of a phone number.
func maskPhone(phone string) string {
	runes := []rune(phone)
	if len(runes) <= 7 {
		return strings.Repeat("*", len(runes))
	}
	return string(runes[:3]) + strings.Repeat("*", len(runes)-7) + string(runes[len(runes)-4:])
}

// maskIDNumber keeps the first and last two characters of an ID number.
func maskIDNumber(number string) string {
	if len(number) <= 4 {
		return strings.Repeat("*", len(number))
	}
	return number[:2] + strings.Repeat("*", len(number)-4) + number[len(number)-2:]
}

// parseStaffID reads the {id} path parameter; anything but a positive
// integer is a missing account.
func parseStaffID(value string) (int64, error) {
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrStaffNotFound
	}
	return id, nil
}
