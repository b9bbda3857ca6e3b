package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
)

// plaintext is one personal value that must not appear in a database dump
// or in Redis, with a label for the failure message.
type plaintext struct {
	label string
	value string
}

// seedPersonalData stores registrations and applications through the
// edge's submission path and the drainer, and staff accounts with a phone,
// an ID number and a password through the staff create command. It returns
// every personal value it stored, and the scheme that starts every encoded
// password hash, which must appear only sealed.
func seedPersonalData(t *testing.T, env *backofficetest.Env) []plaintext {
	t.Helper()
	values := []plaintext{{"password hash", "pbkdf2-sm3$"}}
	for i := range 4 {
		request := env.ShanghaiChild(t, i, xuhui, xuhui)
		guardian := &request.Guardians[0]
		guardian.Name = "王" + string([]rune("桂兰秀英")[i]) + "梅"
		guardian.Phone = "1391234567" + strconv.Itoa(i)
		values = append(values,
			plaintext{"child name", request.Child.Name},
			plaintext{"child ID number", request.Child.Document.Number},
			plaintext{"guardian name", guardian.Name},
			plaintext{"guardian phone", guardian.Phone},
			plaintext{"guardian ID number", guardian.Document.Number},
			plaintext{"residence address", request.Residence.Address},
			plaintext{"hukou address", request.Child.Hukou.Address},
		)
		subject := backofficetest.Subject(i)
		number := env.Register(t, subject, request)
		env.Apply(t, subject, number, xuhui)
	}
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("dump-drainer")))
	env.WaitForRows(t, time.Minute, 4, `SELECT count(*) FROM registration`)
	env.WaitForRows(t, time.Minute, 4, `SELECT count(*) FROM application`)
	if err := running.Stop(t); err != nil {
		t.Fatalf("stop drainer: %v", err)
	}

	birth := time.Date(1980, time.March, 3, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		username := "dump.staff" + strconv.Itoa(i)
		phone := "1378765432" + strconv.Itoa(i)
		idNumber := document.ValidResidentIDForTest("310104", birth, 40+i, 'M')
		values = append(values, plaintext{"staff phone", phone}, plaintext{"staff ID number", idNumber})
		var out bytes.Buffer
		err := staff.CreateCommand(context.Background(), env.DB.DB, env.Keyring, env.Integrity, []string{
			"-username", username, "-name", "测试员" + strconv.Itoa(i), "-role", "district_admin", "-district", xuhui,
			"-phone", phone, "-id-number", idNumber,
		}, &out)
		if err != nil {
			t.Fatalf("staff create %s: %v\n%s", username, err, out.String())
		}
	}
	return values
}

// findPlaintext returns a message for each value found in content, as UTF-8
// text or as the hex form in which pg_dump writes bytea.
func findPlaintext(content []byte, values []plaintext) []string {
	lower := bytes.ToLower(content)
	var found []string
	for _, v := range values {
		if bytes.Contains(content, []byte(v.value)) {
			found = append(found, v.label+" "+v.value+" in plain text")
		}
		if bytes.Contains(lower, []byte(hex.EncodeToString([]byte(v.value)))) {
			found = append(found, v.label+" "+v.value+" as bytea hex")
		}
	}
	return found
}

func TestDatabaseDumpHasNoPersonalData(t *testing.T) {
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump is not on PATH")
	}
	env := backofficetest.New(t)
	values := seedPersonalData(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	command := exec.CommandContext(ctx, "pg_dump", "--data-only", "--encoding=UTF8", "--dbname="+env.DB.URL)
	var stderr bytes.Buffer
	command.Stderr = &stderr
	dump, err := command.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}

	// The dump must contain the rows, or finding nothing proves nothing.
	for _, table := range []string{"registration", "application", "staff_user", "staff_password_history", "audit_event"} {
		if !bytes.Contains(dump, []byte("COPY public."+table+" ")) {
			t.Errorf("dump has no data of table %s", table)
		}
	}
	if !bytes.Contains(dump, []byte("dump.staff1")) {
		t.Error("dump lacks the username dump.staff1, so staff rows were not dumped")
	}
	if n := bytes.Count(dump, []byte(crypto.SealedTextPrefix)); n < 4 {
		t.Errorf("dump has %d sealed password hashes, want at least 4 (two accounts and their history)", n)
	}
	for _, problem := range findPlaintext(dump, values) {
		t.Errorf("database dump contains %s", problem)
	}
}

func TestRedisHoldsNoPersonalData(t *testing.T) {
	env := backofficetest.New(t)
	values := seedPersonalData(t, env)

	client := env.Redis.Client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys, err := client.Do(ctx, client.B().Keys().Pattern(env.Redis.Prefix+"*").Build()).AsStrSlice()
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	if len(keys) == 0 {
		t.Fatal("no Redis keys under the test prefix")
	}
	var content strings.Builder
	for _, key := range keys {
		kind, err := client.Do(ctx, client.B().Type().Key(key).Build()).ToString()
		if err != nil {
			t.Fatalf("TYPE %s: %v", key, err)
		}
		content.WriteString(key + "\n")
		switch kind {
		case "string":
			value, _ := client.Do(ctx, client.B().Get().Key(key).Build()).ToString()
			content.WriteString(value)
		case "hash":
			fields, _ := client.Do(ctx, client.B().Hgetall().Key(key).Build()).AsStrMap()
			for field, value := range fields {
				content.WriteString(field + "=" + value + "\n")
			}
		case "set":
			members, _ := client.Do(ctx, client.B().Smembers().Key(key).Build()).AsStrSlice()
			content.WriteString(strings.Join(members, "\n"))
		case "zset":
			members, _ := client.Do(ctx, client.B().Zrange().Key(key).Min("0").Max("-1").Build()).AsStrSlice()
			content.WriteString(strings.Join(members, "\n"))
		case "list":
			members, _ := client.Do(ctx, client.B().Lrange().Key(key).Start(0).Stop(-1).Build()).AsStrSlice()
			content.WriteString(strings.Join(members, "\n"))
		case "stream":
			entries, _ := client.Do(ctx, client.B().Xrange().Key(key).Start("-").End("+").Build()).AsXRange()
			for _, entry := range entries {
				for field, value := range entry.FieldValues {
					content.WriteString(field + "=" + value + "\n")
				}
			}
		default:
			t.Errorf("key %s has type %s, which this test does not read", key, kind)
		}
		content.WriteString("\n")
	}
	for _, problem := range findPlaintext([]byte(content.String()), values) {
		t.Errorf("Redis contains %s", problem)
	}
}
