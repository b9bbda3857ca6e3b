package staff

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tjfoc/gmsm/sm2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/keys"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
)

// switchToCloud makes the environment sign and verify through a new
// cryptography service simulator, as a restart with CRYPTO_PROVIDER=cloud
// does, and returns the service's signing key ID.
func (e *env) switchToCloud(t *testing.T) string {
	t.Helper()
	backing, err := cryptoservice.GenerateProvider("cloud-master", "cloud-signing")
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(cryptoservice.NewHandler(backing, "resign-test-key"))
	t.Cleanup(server.Close)
	cloud, err := crypto.NewCloudProvider(crypto.CloudConfig{
		URL: server.URL, APIKey: "resign-test-key", SealingKeyID: "cloud-master", SigningKeyID: "cloud-signing",
	})
	if err != nil {
		t.Fatal(err)
	}
	*e.integrity = access.Integrity{DB: e.db, Provider: cloud}
	e.alertToTrail()
	return "cloud-signing"
}

func TestResignAfterSwitchToCloud(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.createAccount(t, "leader.one", "leader", "-scope", "city")
	tamperedID := e.createAccount(t, "leader.two", "leader", "-scope", "city")
	if _, err := e.db.Exec(`UPDATE staff_user SET scope_level = 'district', district_code = $2 WHERE id = $1`, tamperedID, xuhui); err != nil {
		t.Fatal(err)
	}
	fingerprint := "sm3:" + strings.Repeat("ab", 32)
	bindingID := e.createAccount(t, "leader.three", "leader", "-scope", "city")
	binding, err := e.integrity.Provider.Sign(ctx, access.CertificateBindingMessage(fingerprint, bindingID))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.db.Exec(`INSERT INTO staff_certificate (fingerprint, staff_id, subject, key_id, signature) VALUES ($1, $2, 'CN=leader.three', $3, $4)`,
		fingerprint, bindingID, binding.KeyID, binding.Value)
	if err != nil {
		t.Fatal(err)
	}
	cloudKeyID := e.switchToCloud(t)

	// Before the re-sign, sign-in fails with a message naming the command.
	answer := e.secondStep(t, "leader.one")
	answer.expect(t, "sign-in before the re-sign", http.StatusForbidden, "access_control_key_unknown")
	if !strings.Contains(string(answer.body), "backoffice keys resign") {
		t.Errorf("sign-in error %s does not name backoffice keys resign", answer.body)
	}
	unknown, err := e.integrity.UnknownSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if unknown["test-acl"] == 0 || len(unknown) != 1 {
		t.Errorf("UnknownSigningKeys before the re-sign = %v, want only the local key test-acl", unknown)
	}

	old, err := crypto.NewVerifier(map[string]*sm2.PublicKey{"test-acl": e.signer.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	report, err := keys.Resign(ctx, e.db, e.integrity, e.trail, old)
	if err != nil {
		t.Fatalf("Resign: %v", err)
	}
	if report.KeyID != cloudKeyID {
		t.Errorf("report.KeyID = %q, want %q", report.KeyID, cloudKeyID)
	}
	if len(report.Roles) != len(builtInRoleCodes(t, e)) {
		t.Errorf("re-signed roles = %v, want every role", report.Roles)
	}
	if len(report.StaffIDs) != 2 {
		t.Errorf("re-signed staff = %v, want leader.one and leader.three", report.StaffIDs)
	}
	if len(report.Certificates) != 1 || report.Certificates[0] != fingerprint {
		t.Errorf("re-signed certificate bindings = %v, want %s", report.Certificates, fingerprint)
	}
	var resigned crypto.Signature
	if err := e.db.QueryRow(`SELECT key_id, signature FROM staff_certificate WHERE fingerprint = $1`, fingerprint).Scan(&resigned.KeyID, &resigned.Value); err != nil {
		t.Fatal(err)
	}
	resigned.UserID = crypto.DefaultUserID
	if err := e.integrity.Provider.Verify(ctx, access.CertificateBindingMessage(fingerprint, bindingID), resigned); err != nil {
		t.Errorf("the re-signed certificate binding does not verify with the cloud provider: %v", err)
	}
	if len(report.Problems) != 1 || report.Problems[0].ResourceID != strconv.FormatInt(tamperedID, 10) {
		t.Errorf("problems = %+v, want only the changed account %d", report.Problems, tamperedID)
	}

	// After it, the unchanged account signs in and the changed one stays
	// rejected.
	e.secondStep(t, "leader.one").expect(t, "sign-in after the re-sign", http.StatusOK, "")
	if answer := e.secondStep(t, "leader.two"); answer.status != http.StatusForbidden {
		t.Errorf("sign-in of the changed account after the re-sign = %d %s, want 403", answer.status, answer.body)
	}
	problems, err := e.integrity.VerifyAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].ResourceID != strconv.FormatInt(tamperedID, 10) {
		t.Errorf("VerifyAll after the re-sign = %+v, want only the changed account", problems)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'keys.resign' AND resource_id = $1`, cloudKeyID); n != 1 {
		t.Errorf("keys.resign audit events = %d, want 1", n)
	}

	// A second run has nothing left to move but the changed row.
	again, err := keys.Resign(ctx, e.db, e.integrity, e.trail, old)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Roles)+len(again.StaffIDs)+len(again.Certificates) != 0 || len(again.Problems) != 1 {
		t.Errorf("second Resign = %+v, want nothing re-signed and the one problem", again)
	}
}

func TestResignWithoutOldKeysMovesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.createAccount(t, "leader.one", "leader", "-scope", "city")
	e.switchToCloud(t)

	report, err := keys.Resign(ctx, e.db, e.integrity, e.trail, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Roles)+len(report.StaffIDs) != 0 {
		t.Errorf("Resign without the old public keys re-signed %v and %v", report.Roles, report.StaffIDs)
	}
	if len(report.Problems) == 0 {
		t.Error("Resign without the old public keys reported no problems")
	}
	e.secondStep(t, "leader.one").expect(t, "sign-in after a re-sign without old keys", http.StatusForbidden, "access_control_key_unknown")
}

func builtInRoleCodes(t *testing.T, e *env) []string {
	t.Helper()
	var codes []string
	if err := e.db.Select(&codes, `SELECT code FROM role ORDER BY code`); err != nil {
		t.Fatal(err)
	}
	return codes
}
