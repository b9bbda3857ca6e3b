package staff

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
)

func TestNewPasswordHashesAreSealed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	user, _ := e.signIn(t, "alice", testPassword)
	changePassword(t, user, testPassword, "Newest#Password5").expect(t, "password change", http.StatusOK, "")

	var stored []string
	if err := e.db.Select(&stored, `
		SELECT password_hash FROM staff_user WHERE id = $1
		UNION ALL SELECT password_hash FROM staff_password_history WHERE staff_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("%d stored hashes, want the account's and two history entries", len(stored))
	}
	for _, value := range stored {
		if !strings.HasPrefix(value, crypto.SealedTextPrefix) {
			t.Errorf("stored hash %.20s… is not sealed", value)
		}
		if strings.Contains(value, "pbkdf2") {
			t.Errorf("stored hash %.20s… contains the hash scheme in plaintext", value)
		}
	}
	e.signIn(t, "alice", "Newest#Password5")
}

func TestLegacyPasswordHashSealedAtSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	// Rows written before hashes were sealed: the encoded hash itself, in
	// the account and in the history.
	legacy := testPasswordHash()
	older, err := hashPassword("Older#Password1", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE staff_user SET password_hash = $2 WHERE id = $1`, id, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE staff_password_history SET password_hash = $2 WHERE staff_id = $1`, id, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`INSERT INTO staff_password_history (staff_id, password_hash, changed_at) VALUES ($1, $2, $3)`,
		id, older, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	answer, _ := e.login(t, &client{base: e.url}, "alice", "Wrong#Password1")
	answer.expect(t, "wrong password", http.StatusUnauthorized, "invalid_credentials")
	if n := e.count(t, `SELECT count(*) FROM staff_user WHERE id = $1 AND password_hash = $2`, id, legacy); n != 1 {
		t.Errorf("a failed sign-in changed the stored hash")
	}

	user, _ := e.signIn(t, "alice", testPassword)
	var stored string
	if err := e.db.Get(&stored, `SELECT password_hash FROM staff_user WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	encoded, sealed, err := openPasswordHash(e.keyring, stored)
	if err != nil || !sealed {
		t.Fatalf("hash after sign-in %.20s… opens = %v, sealed %v, want sealed", stored, err, sealed)
	}
	if encoded != legacy {
		t.Errorf("sealed hash differs from the legacy one, so it was hashed again without need")
	}
	if n := e.count(t, `SELECT count(*) FROM staff_password_history WHERE staff_id = $1 AND password_hash NOT LIKE 'sm4gcm$%'`, id); n != 0 {
		t.Errorf("%d history entries are still unsealed after sign-in", n)
	}
	// The sealed history still rejects a reused password.
	changePassword(t, user, testPassword, "Older#Password1").expect(t, "reuse of a sealed legacy entry", http.StatusBadRequest, "password_reused")
}

func TestPasswordHashFormChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createAccount(t, "alice", "city_admin")
	if _, err := e.db.Exec(`UPDATE staff_user SET password_hash = 'plain-password' WHERE id = $1`, id); err == nil {
		t.Error("the database accepted a password hash in neither form")
	}
}
