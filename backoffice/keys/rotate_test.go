package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/keys"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/feedback"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
)

// sealedValue is one stored ciphertext with the plaintext it held before
// the rotation.
type sealedValue struct {
	table, key, column, keyID string
	plaintext                 []byte
}

// readSealed opens every sealed value of every table with keyring.
func readSealed(t *testing.T, env *backofficetest.Env, keyring *crypto.Keyring) []sealedValue {
	t.Helper()
	var values []sealedValue
	for _, table := range keys.Tables {
		for _, column := range table.Columns {
			rows, err := env.DB.DB.Query(`SELECT ` + table.Key + `::text, ` + column.Name + ` FROM ` + table.Name +
				` WHERE ` + column.Name + ` IS NOT NULL ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var key string
				var sealed []byte
				if err := rows.Scan(&key, &sealed); err != nil {
					t.Fatal(err)
				}
				if column.Text {
					if sealed, err = crypto.DecodeSealedText(string(sealed)); err != nil {
						t.Fatalf("decode %s.%s of %s: %v", table.Name, column.Name, key, err)
					}
				}
				plaintext, err := keyring.Open(sealed, column.Context)
				if err != nil {
					t.Fatalf("open %s.%s of %s: %v", table.Name, column.Name, key, err)
				}
				keyID, err := crypto.SealedKeyID(sealed)
				if err != nil {
					t.Fatal(err)
				}
				values = append(values, sealedValue{table.Name, key, column.Name, keyID, plaintext})
			}
			rows.Close()
		}
	}
	return values
}

// addActiveKey returns the environment's keyring with a new SM4 key keyID
// made active, and the old keys kept.
func addActiveKey(t *testing.T, env *backofficetest.Env, keyID string) *crypto.Keyring {
	t.Helper()
	data, err := os.ReadFile(env.KeyringPath)
	if err != nil {
		t.Fatal(err)
	}
	var file crypto.KeyringFile
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	file.SealingKeys[keyID] = hex.EncodeToString(key)
	file.ActiveKeyID = keyID
	keyring, err := crypto.NewKeyring(file)
	if err != nil {
		t.Fatal(err)
	}
	return keyring
}

// createStaff creates a district administrator of Xuhui with a phone and
// an ID number through the staff create command.
func createStaff(t *testing.T, env *backofficetest.Env, username, phone, idNumber string) {
	t.Helper()
	var out bytes.Buffer
	err := staff.CreateCommand(context.Background(), env.DB.DB, env.Keyring, env.Integrity, []string{
		"-username", username, "-name", "轮换测试", "-role", "district_admin", "-district", backofficetest.Xuhui,
		"-phone", phone, "-id-number", idNumber,
	}, &out)
	if err != nil {
		t.Fatalf("staff create %s: %v\n%s", username, err, out.String())
	}
}

// addOutboxAndFeedback adds two sealed SMS messages, a feedback report
// with a sealed phone and one without a phone.
func addOutboxAndFeedback(t *testing.T, env *backofficetest.Env) {
	t.Helper()
	for i, phone := range []string{"13800138001", "13800138002"} {
		_, err := env.DB.DB.Exec(`
			INSERT INTO sms_outbox (event, district_code, record_number, phone, phone_masked, body, preview, key_id)
			VALUES ('application_succeeded', $1, $2, $3, $4, $5, '报名成功', $6)`,
			backofficetest.Xuhui, "rotate-sms-"+strconv.Itoa(i), env.Keyring.Seal([]byte(phone), sms.ContextPhone),
			phone[:3]+"****"+phone[7:], env.Keyring.Seal([]byte("您的报名已成功，编号 "+strconv.Itoa(i)), sms.ContextBody),
			env.Keyring.ActiveKeyID())
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := env.DB.DB.Exec(`
		INSERT INTO service_feedback (stream_entry_id, category, body, page, step, trigger, phone, phone_masked, key_id, submitted_at)
		VALUES ('1-1', 'other', '看不懂', '/register', '监护人信息', 'idle', $1, '138****8003', $2, now()),
		       ('1-2', 'other', '没有手机号', '/register', '监护人信息', 'idle', NULL, NULL, $2, now())`,
		env.Keyring.Seal([]byte("13800138003"), feedback.ContextPhone), env.Keyring.ActiveKeyID())
	if err != nil {
		t.Fatal(err)
	}
}

func TestRotateReencryptsUnderActiveKey(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	for i := range 5 {
		subject := backofficetest.Subject(i)
		number := env.Register(t, subject, env.ShanghaiChild(t, i, backofficetest.Xuhui, backofficetest.Xuhui))
		if i < 2 {
			env.Apply(t, subject, number, backofficetest.Xuhui)
		}
	}
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("rotate-drainer")))
	env.WaitForRows(t, time.Minute, 5, `SELECT count(*) FROM registration`)
	env.WaitForRows(t, time.Minute, 2, `SELECT count(*) FROM application`)
	if err := running.Stop(t); err != nil {
		t.Fatal(err)
	}
	createStaff(t, env, "rotate.staff", "13712345678", document.ValidResidentIDForTest("310104", time.Date(1982, time.May, 5, 0, 0, 0, 0, time.UTC), 7, 'F'))
	var indexBefore []byte
	if err := env.DB.DB.Get(&indexBefore, `SELECT id_number_index FROM staff_user WHERE username = 'rotate.staff'`); err != nil {
		t.Fatal(err)
	}

	addOutboxAndFeedback(t, env)

	// Seal the legacy plaintext hashes the way keys rotate does before
	// the first read, then give the account a legacy hash again to check
	// that the rotation seals it.
	legacyHash, err := staff.HashPassword("Legacy#Password9")
	if err != nil {
		t.Fatal(err)
	}
	before := readSealed(t, env, env.Keyring)
	if _, err := env.DB.DB.Exec(`INSERT INTO staff_password_history (staff_id, password_hash)
		SELECT id, $1 FROM staff_user WHERE username = 'rotate.staff'`, legacyHash); err != nil {
		t.Fatal(err)
	}
	if len(before) < 5*4+2 {
		t.Fatalf("only %d sealed values before the rotation", len(before))
	}
	for _, value := range before {
		if value.keyID != "k1" {
			t.Fatalf("%s.%s of %s is under key %q before the rotation, want k1", value.table, value.column, value.key, value.keyID)
		}
	}

	rotated := addActiveKey(t, env, "k2")
	rotator := &keys.Rotator{DB: env.DB.DB, Keyring: rotated, BatchSize: 2}
	results, err := rotator.Rotate(ctx)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	// Applications without form values hold nothing sealed.
	want := map[string]int{"registration": 5, "staff_user": 1, "staff_password_history": 2,
		"application": env.Count(t, `SELECT count(*) FROM application WHERE form_values IS NOT NULL`),
		"sms_outbox":  2, "service_feedback": 1}
	for _, result := range results {
		if result.Rows != want[result.Table] {
			t.Errorf("rows re-encrypted in %s = %d, want %d", result.Table, result.Rows, want[result.Table])
		}
	}

	after := readSealed(t, env, rotated)
	if len(after) != len(before)+1 {
		t.Fatalf("%d sealed values after the rotation, want %d and the legacy hash", len(after), len(before))
	}
	var legacyAfter []byte
	for i, value := range after {
		if value.table == "staff_password_history" && string(value.plaintext) == legacyHash {
			legacyAfter = value.plaintext
			after = append(after[:i:i], after[i+1:]...)
			break
		}
	}
	if legacyAfter == nil {
		t.Fatal("the legacy plaintext password hash was not sealed by the rotation")
	}
	for i, value := range after {
		if value.keyID != "k2" {
			t.Errorf("%s.%s of %s is under key %q after the rotation, want k2", value.table, value.column, value.key, value.keyID)
		}
		if !bytes.Equal(value.plaintext, before[i].plaintext) {
			t.Errorf("%s.%s of %s decrypts to another value after the rotation", value.table, value.column, value.key)
		}
	}
	for table, condition := range map[string]string{
		"registration": "TRUE", "application": "form_values IS NOT NULL", "staff_user": "username = 'rotate.staff'",
		"sms_outbox": "TRUE", "service_feedback": "phone IS NOT NULL",
	} {
		if n := env.Count(t, `SELECT count(*) FROM `+table+` WHERE key_id <> 'k2' AND `+condition); n != 0 {
			t.Errorf("%d rows of %s with sealed values have key_id other than k2", n, table)
		}
	}

	// The old keyring no longer opens anything, so every value was sealed
	// again and not only relabelled.
	var sealed []byte
	if err := env.DB.DB.Get(&sealed, `SELECT child_name FROM registration LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Keyring.Open(sealed, "registration.child_name"); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Errorf("old keyring opening a rotated value = %v, want ErrUnknownKey", err)
	}

	var indexAfter []byte
	if err := env.DB.DB.Get(&indexAfter, `SELECT id_number_index FROM staff_user WHERE username = 'rotate.staff'`); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(indexAfter, indexBefore) {
		t.Error("the staff ID number's blind index changed in the rotation")
	}

	again, err := rotator.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, result := range again {
		if result.Rows != 0 {
			t.Errorf("second rotation re-encrypted %d rows of %s, want 0", result.Rows, result.Table)
		}
	}
}

func TestRotateIntoCloudDataKeys(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	createStaff(t, env, "cloud.staff", "13712345679", document.ValidResidentIDForTest("310104", time.Date(1985, time.June, 6, 0, 0, 0, 0, time.UTC), 8, 'M'))
	before := readSealed(t, env, env.Keyring)

	backing, err := cryptoservice.GenerateProvider("cloud-master", "cloud-signing")
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(cryptoservice.NewHandler(backing, "rotate-test-key"))
	t.Cleanup(server.Close)
	cloudKeyring := func() *crypto.Keyring {
		t.Helper()
		service, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: server.URL, APIKey: "rotate-test-key", SealingKeyID: "cloud-master"})
		if err != nil {
			t.Fatal(err)
		}
		keyring, err := env.Keyring.WithDataKeys(ctx, service, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return keyring
	}

	results, err := (&keys.Rotator{DB: env.DB.DB, Keyring: cloudKeyring(), BatchSize: 1}).Rotate(ctx)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	for _, result := range results {
		if result.Table == "staff_user" && result.Rows != 1 {
			t.Errorf("staff_user rows re-encrypted = %d, want 1", result.Rows)
		}
	}

	// Another process has its own data key and opens the rotated values by
	// unwrapping the stored one.
	after := readSealed(t, env, cloudKeyring())
	if len(after) != len(before) {
		t.Fatalf("%d sealed values after the rotation, want %d", len(after), len(before))
	}
	for i, value := range after {
		if value.keyID != "cloud-master" {
			t.Errorf("%s.%s of %s is under key %q after the rotation, want cloud-master", value.table, value.column, value.key, value.keyID)
		}
		if !bytes.Equal(value.plaintext, before[i].plaintext) {
			t.Errorf("%s.%s of %s decrypts to another value after the rotation", value.table, value.column, value.key)
		}
	}
	if n := env.Count(t, `SELECT count(*) FROM staff_user WHERE username = 'cloud.staff' AND key_id <> 'cloud-master'`); n != 0 {
		t.Error("the staff row's key_id is not the cloud master key")
	}
	var sealed []byte
	if err := env.DB.DB.Get(&sealed, `SELECT phone FROM staff_user WHERE username = 'cloud.staff'`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Keyring.Open(sealed, "staff.phone"); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Errorf("the local keyring opening a rotated value = %v, want ErrUnknownKey", err)
	}
}
