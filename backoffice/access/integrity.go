package access

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"
	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// ErrTampered is returned when a role or a staff account's access fields do
// not match their SM2 signature, so they were changed outside the back
// office or their signature is missing.
var ErrTampered = apierror.New(http.StatusForbidden, "access_control_tampered",
	"权限数据完整性校验失败，已拒绝访问并通知安全管理员。")

// ResignCommand is the command that moves access-control rows signed by a
// previous signing key, such as the local key before CRYPTO_PROVIDER=cloud,
// under the current one.
const ResignCommand = "backoffice keys resign -old-keys ID=PUBLIC_KEY.pem"

// ErrUnknownSigningKey is returned when a role or a staff account's access
// fields are signed with a key that the cryptography provider does not
// have, as after a switch of CRYPTO_PROVIDER before ResignCommand ran.
var ErrUnknownSigningKey = apierror.New(http.StatusForbidden, "access_control_key_unknown",
	"权限数据的签名密钥不是当前密码服务的密钥，已拒绝访问。如刚切换了密码服务，请运维人员运行 backoffice keys resign 重新签名权限数据；否则请联系安全管理员。")

// Message domains, so that a role's signature can never pass as a staff
// account's or the other way round.
const (
	roleDomain        = "preschool/acl/role/v1"
	staffDomain       = "preschool/acl/staff_user/v1"
	certificateDomain = "preschool/acl/staff_certificate/v1"
)

// RoleRecord is the access-control content of a role row: what its
// signature covers.
type RoleRecord struct {
	Code         string
	Permissions  []string
	ScopeLevels  []string
	BusinessData bool
}

// StaffRecord is the access-control content of a staff_user row: what its
// signature covers.
type StaffRecord struct {
	ID             int64
	Username       string
	RoleCode       string
	ScopeLevel     string
	DistrictCode   string
	StreetCode     string
	KindergartenID int64
	Status         string
}

// canonical writes fields as 4-byte big-endian lengths followed by the
// bytes, so no two different records encode the same.
type canonical []byte

func (c canonical) text(value string) canonical {
	c = binary.BigEndian.AppendUint32(c, uint32(len(value)))
	return append(c, value...)
}

func (c canonical) list(values []string) canonical {
	c = binary.BigEndian.AppendUint32(c, uint32(len(values)))
	for _, value := range values {
		c = c.text(value)
	}
	return c
}

// Message returns the canonical encoding of the role that is signed.
// Permissions and scope levels keep their stored order.
func (r RoleRecord) Message() []byte {
	message := canonical(nil).text(roleDomain).text(r.Code).list(r.Permissions).list(r.ScopeLevels)
	return message.text(strconv.FormatBool(r.BusinessData))
}

// CertificateBindingMessage returns the signed bytes of a certificate
// binding (table staff_certificate): the domain, the fingerprint and the
// staff ID, each with a 4-byte big-endian length.
func CertificateBindingMessage(fingerprint string, staffID int64) []byte {
	return canonical(nil).text(certificateDomain).text(fingerprint).text(strconv.FormatInt(staffID, 10))
}

// Message returns the canonical encoding of the account that is signed.
func (s StaffRecord) Message() []byte {
	message := canonical(nil).text(staffDomain).text(strconv.FormatInt(s.ID, 10)).text(s.Username).text(s.RoleCode)
	message = message.text(s.ScopeLevel).text(s.DistrictCode).text(s.StreetCode)
	return message.text(strconv.FormatInt(s.KindergartenID, 10)).text(s.Status)
}

// Integrity signs the access-control rows (roles and the role, scope and
// status of staff accounts) with SM2 and verifies them before use. A row
// changed directly in the database, or whose signature was removed, fails
// verification: the request is rejected with ErrTampered and Alert is
// called.
type Integrity struct {
	DB       *sqlx.DB
	Provider crypto.Provider
	// UserID is the SM2 signer identity the provider signs with; empty
	// means crypto.DefaultUserID.
	UserID string
	// Alert records a failed verification, in the audit trail in the back
	// office. It is called after the log line and may be nil.
	Alert func(ctx context.Context, r *http.Request, resource, resourceID string, cause error)

	// verified holds the SM3 digest of each message and signature pair that
	// verified, so an unchanged row costs one hash and no SM2 verification.
	verified sync.Map
	// alerted holds the digests of the pairs already alerted, so a changed
	// row reaches Alert once and not on every request or periodic check.
	alerted sync.Map
}

// errUnsigned is the cause reported for a row without a signature.
var errUnsigned = errors.New("the row has no signature")

// sqlQueryer is the query and exec interface shared by *sqlx.DB and *sqlx.Tx.
type sqlQueryer interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

func readRole(ctx context.Context, q sqlx.QueryerContext, code string, lock bool) (RoleRecord, crypto.Signature, error) {
	query := `SELECT code, permissions, scope_levels, business_data, acl_key_id, acl_signature FROM role WHERE code = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	typeMap := pgtype.NewMap()
	var record RoleRecord
	var keyID sql.NullString
	var signature crypto.Signature
	err := q.QueryRowxContext(ctx, query, code).Scan(&record.Code, typeMap.SQLScanner(&record.Permissions),
		typeMap.SQLScanner(&record.ScopeLevels), &record.BusinessData, &keyID, &signature.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return record, signature, ErrUnknownRole
	}
	if err != nil {
		return record, signature, fmt.Errorf("read role %s: %w", code, err)
	}
	signature.KeyID = keyID.String
	return record, signature, nil
}

func readStaff(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (StaffRecord, crypto.Signature, error) {
	query := `SELECT id, username, role_code, scope_level, COALESCE(district_code, ''), COALESCE(street_code, ''),
	                 COALESCE(kindergarten_id, 0), status, acl_key_id, acl_signature
	          FROM staff_user WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var record StaffRecord
	var keyID sql.NullString
	var signature crypto.Signature
	err := q.QueryRowxContext(ctx, query, id).Scan(&record.ID, &record.Username, &record.RoleCode, &record.ScopeLevel,
		&record.DistrictCode, &record.StreetCode, &record.KindergartenID, &record.Status, &keyID, &signature.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return record, signature, errNoSuchStaff
	}
	if err != nil {
		return record, signature, fmt.Errorf("read staff %d: %w", id, err)
	}
	signature.KeyID = keyID.String
	return record, signature, nil
}

// errNoSuchStaff is returned for a staff ID with no row.
var errNoSuchStaff = errors.New("no such staff account")

// SignRole signs the role's current row. Call it in the transaction that
// changed the row, after the change.
func (i *Integrity) SignRole(ctx context.Context, q sqlQueryer, code string) error {
	record, _, err := readRole(ctx, q, code, true)
	if err != nil {
		return err
	}
	signature, err := i.Provider.Sign(ctx, record.Message())
	if err != nil {
		return fmt.Errorf("sign role %s: %w", code, err)
	}
	_, err = q.ExecContext(ctx, `UPDATE role SET acl_signature = $2, acl_key_id = $3 WHERE code = $1`,
		code, signature.Value, signature.KeyID)
	if err != nil {
		return fmt.Errorf("store signature of role %s: %w", code, err)
	}
	return nil
}

// SignStaff signs the account's current access fields. Call it in the
// transaction that created or changed the row, after the change.
func (i *Integrity) SignStaff(ctx context.Context, q sqlQueryer, id int64) error {
	record, _, err := readStaff(ctx, q, id, true)
	if err != nil {
		return err
	}
	signature, err := i.Provider.Sign(ctx, record.Message())
	if err != nil {
		return fmt.Errorf("sign staff %d: %w", id, err)
	}
	_, err = q.ExecContext(ctx, `UPDATE staff_user SET acl_signature = $2, acl_key_id = $3 WHERE id = $1`,
		id, signature.Value, signature.KeyID)
	if err != nil {
		return fmt.Errorf("store signature of staff %d: %w", id, err)
	}
	return nil
}

// verify checks a signature over message, using the cache of verified
// pairs.
func (i *Integrity) verify(ctx context.Context, message []byte, signature crypto.Signature) error {
	if len(signature.Value) == 0 || signature.KeyID == "" {
		return errUnsigned
	}
	key := pairDigest(message, signature)
	if _, ok := i.verified.Load(key); ok {
		return nil
	}
	signature.UserID = i.UserID
	if signature.UserID == "" {
		signature.UserID = crypto.DefaultUserID
	}
	if err := i.Provider.Verify(ctx, message, signature); err != nil {
		return err
	}
	i.verified.Store(key, struct{}{})
	return nil
}

// pairDigest returns the hex SM3 digest of a message with its signature.
func pairDigest(message []byte, signature crypto.Signature) string {
	digest := sm3.New()
	digest.Write(canonical(nil).text(string(message)).text(signature.KeyID).text(string(signature.Value)))
	return hex.EncodeToString(digest.Sum(nil))
}

// VerifyRole reads a role and returns it if its signature verifies, or
// ErrTampered after logging and alerting.
func (i *Integrity) VerifyRole(ctx context.Context, r *http.Request, q sqlx.QueryerContext, code string) (RoleRecord, error) {
	record, signature, err := readRole(ctx, q, code, false)
	if err != nil {
		return record, err
	}
	if err := i.verify(ctx, record.Message(), signature); err != nil {
		i.alert(ctx, r, "role", code, pairDigest(record.Message(), signature), err)
		return record, RejectionError(err)
	}
	return record, nil
}

// VerifyStaff reads an account's access fields and returns them if their
// signature verifies, or ErrTampered after logging and alerting.
func (i *Integrity) VerifyStaff(ctx context.Context, r *http.Request, q sqlx.QueryerContext, id int64) (StaffRecord, error) {
	record, signature, err := readStaff(ctx, q, id, false)
	if err != nil {
		return record, err
	}
	if err := i.verify(ctx, record.Message(), signature); err != nil {
		i.alert(ctx, r, "staff_user", strconv.FormatInt(id, 10), pairDigest(record.Message(), signature), err)
		return record, RejectionError(err)
	}
	return record, nil
}

// RejectionError returns the error of a request whose access-control data
// failed verification with cause: ErrUnknownSigningKey when the provider
// does not have the signing key, else ErrTampered.
func RejectionError(cause error) error {
	if errors.Is(cause, crypto.ErrUnknownKey) {
		return ErrUnknownSigningKey
	}
	return ErrTampered
}

// alert logs and reports a row that failed verification, once for each
// distinct content of the row. Repeats are logged at warning level only.
func (i *Integrity) alert(ctx context.Context, r *http.Request, resource, resourceID, digest string, cause error) {
	if _, repeated := i.alerted.LoadOrStore(resource+"/"+resourceID+"/"+digest, struct{}{}); repeated {
		slog.Warn("access-control data still fails its signature check, access rejected",
			"resource", resource, "resource_id", resourceID, "error", cause)
		return
	}
	if errors.Is(cause, crypto.ErrUnknownKey) {
		slog.Error("ALERT: access-control data is signed with a key the cryptography provider does not have, access rejected; "+
			"if CRYPTO_PROVIDER or the signing key changed, run "+ResignCommand,
			"resource", resource, "resource_id", resourceID, "error", cause)
	} else {
		slog.Error("ALERT: access-control data failed its signature check, access rejected",
			"resource", resource, "resource_id", resourceID, "error", cause)
	}
	if i.Alert != nil {
		i.Alert(ctx, r, resource, resourceID, cause)
	}
}

// CheckSession verifies, before a request uses them, the signatures of the
// session's role and (for a staff account, not a development sign-in with
// ID 0) of the account's access fields, and that the session still matches
// them: same role, permissions, scope and an active account. A mismatch
// that verifies is a legitimate change whose session should have been
// revoked, and it is rejected as not signed in.
func (i *Integrity) CheckSession(ctx context.Context, r *http.Request, staff *Staff) error {
	role, err := i.VerifyRole(ctx, r, i.DB, staff.Role)
	if errors.Is(err, ErrUnknownRole) {
		return ErrNotSignedIn
	}
	if err != nil {
		return err
	}
	if !slices.Equal(role.Permissions, staff.Permissions) {
		return ErrNotSignedIn
	}
	if staff.ID == 0 {
		return nil
	}
	account, err := i.VerifyStaff(ctx, r, i.DB, staff.ID)
	if errors.Is(err, errNoSuchStaff) {
		return ErrNotSignedIn
	}
	if err != nil {
		return err
	}
	same := account.RoleCode == staff.Role && account.ScopeLevel == staff.Scope.Level &&
		account.DistrictCode == staff.Scope.DistrictCode && account.StreetCode == staff.Scope.StreetCode &&
		account.KindergartenID == staff.Scope.KindergartenID && account.Status == "active" &&
		subtle.ConstantTimeCompare([]byte(account.Username), []byte(staff.Username)) == 1
	if !same {
		return ErrNotSignedIn
	}
	return nil
}

// Problem is a row whose signature does not verify.
type Problem struct {
	Resource   string
	ResourceID string
	Cause      error
}

// VerifyAll checks every role and staff account and returns the rows that
// fail, alerting for each. The periodic check and "backoffice acl verify"
// run it.
func (i *Integrity) VerifyAll(ctx context.Context) ([]Problem, error) {
	db := i.DB
	var codes []string
	if err := sqlx.SelectContext(ctx, db, &codes, `SELECT code FROM role ORDER BY code`); err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	var problems []Problem
	for _, code := range codes {
		record, signature, err := readRole(ctx, db, code, false)
		if err != nil {
			return nil, err
		}
		if err := i.verify(ctx, record.Message(), signature); err != nil {
			i.alert(ctx, nil, "role", code, pairDigest(record.Message(), signature), err)
			problems = append(problems, Problem{Resource: "role", ResourceID: code, Cause: err})
		}
	}
	var ids []int64
	if err := sqlx.SelectContext(ctx, db, &ids, `SELECT id FROM staff_user ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	for _, id := range ids {
		record, signature, err := readStaff(ctx, db, id, false)
		if err != nil {
			return nil, err
		}
		if err := i.verify(ctx, record.Message(), signature); err != nil {
			i.alert(ctx, nil, "staff_user", strconv.FormatInt(id, 10), pairDigest(record.Message(), signature), err)
			problems = append(problems, Problem{Resource: "staff_user", ResourceID: strconv.FormatInt(id, 10), Cause: err})
		}
	}
	return problems, nil
}

// builtInRoles are the roles that migration 0004_access.sql inserts, with
// the access-control content they have once every migration has run
// (0007, 0010 and 0011 grant the form, attendance and dashboard
// permissions). TestBuiltInRolesMatchMigrations keeps the two equal: a
// migration that changes a built-in role changes this list too.
var builtInRoles = []RoleRecord{
	{Code: "city_admin", Permissions: []string{"enrolment.read", "enrolment.write", "dictionary.read", "dictionary.write", "org.read", "dashboard.read", "form.read", "form.write", "attendance.write", "dashboard.write"}, ScopeLevels: []string{"city"}, BusinessData: true},
	{Code: "district_admin", Permissions: []string{"enrolment.read", "enrolment.write", "dictionary.read", "dictionary.write", "org.read", "dashboard.read", "form.read", "form.write", "attendance.write"}, ScopeLevels: []string{"district"}, BusinessData: true},
	{Code: "street_officer", Permissions: []string{"enrolment.read", "org.read", "dictionary.read", "dashboard.read"}, ScopeLevels: []string{"street"}, BusinessData: true},
	{Code: "kindergarten_admin", Permissions: []string{"enrolment.read", "org.read", "dictionary.read", "attendance.write", "dashboard.read"}, ScopeLevels: []string{"kindergarten"}, BusinessData: true},
	{Code: "teacher", Permissions: []string{"org.read", "dictionary.read"}, ScopeLevels: []string{"kindergarten"}, BusinessData: true},
	{Code: "leader", Permissions: []string{"dashboard.read", "org.read"}, ScopeLevels: []string{"city", "district"}, BusinessData: true},
	{Code: "auditor", Permissions: []string{"audit.read", "login_log.read"}, ScopeLevels: []string{"none"}, BusinessData: false},
	{Code: "security_admin", Permissions: []string{"staff.read", "staff.write", "role.read", "role.write", "org.read"}, ScopeLevels: []string{"none"}, BusinessData: false},
}

// SignBuiltInRoles signs each unsigned built-in role whose content is still
// the one the migration gave it, and returns how many it signed. The back
// office runs it at start, so a new database needs no manual step. An
// unsigned built-in role with any other content stays unsigned and
// rejected: removing a signature cannot launder a change.
func (i *Integrity) SignBuiltInRoles(ctx context.Context) (int, error) {
	db := i.DB
	signed := 0
	for _, builtIn := range builtInRoles {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return signed, err
		}
		record, signature, err := readRole(ctx, tx, builtIn.Code, true)
		if errors.Is(err, ErrUnknownRole) || err == nil && (len(signature.Value) > 0 || !sameRole(record, builtIn)) {
			tx.Rollback()
			continue
		}
		if err != nil {
			tx.Rollback()
			return signed, err
		}
		if err := i.SignRole(ctx, tx, builtIn.Code); err != nil {
			tx.Rollback()
			return signed, err
		}
		if err := tx.Commit(); err != nil {
			return signed, err
		}
		signed++
	}
	return signed, nil
}

func sameRole(a, b RoleRecord) bool {
	return a.Code == b.Code && slices.Equal(a.Permissions, b.Permissions) &&
		slices.Equal(a.ScopeLevels, b.ScopeLevels) && a.BusinessData == b.BusinessData
}

// SignUnsigned signs every role and staff account that has no signature
// and returns what it signed. It is the operator's step after reviewing
// rows that existed before signatures did ("backoffice acl sign-unsigned");
// rows with a wrong signature are left alone.
func (i *Integrity) SignUnsigned(ctx context.Context) (roles []string, staffIDs []int64, err error) {
	db := i.DB
	if err := sqlx.SelectContext(ctx, db, &roles, `SELECT code FROM role WHERE acl_signature IS NULL ORDER BY code`); err != nil {
		return nil, nil, fmt.Errorf("list unsigned roles: %w", err)
	}
	if err := sqlx.SelectContext(ctx, db, &staffIDs, `SELECT id FROM staff_user WHERE acl_signature IS NULL ORDER BY id`); err != nil {
		return nil, nil, fmt.Errorf("list unsigned staff: %w", err)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	for _, code := range roles {
		if err := i.SignRole(ctx, tx, code); err != nil {
			return nil, nil, err
		}
	}
	for _, id := range staffIDs {
		if err := i.SignStaff(ctx, tx, id); err != nil {
			return nil, nil, err
		}
	}
	return roles, staffIDs, tx.Commit()
}
