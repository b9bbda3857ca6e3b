package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/server"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// lockedBuffer is a log destination that handlers on many goroutines share.
type lockedBuffer struct {
	mu     sync.Mutex
	buffer bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.String()
}

// totpNow computes the RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) of a
// base32 secret, as an authenticator app would.
func totpNow(t *testing.T, secret string) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatalf("TOTP secret %q is not base32: %v", secret, err)
	}
	mac := hmac.New(sha1.New, key)
	binary.Write(mac, binary.BigEndian, uint64(time.Now().Unix()/30))
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", value%1_000_000)
}

func postJSON(t *testing.T, client *http.Client, address, path string, body any) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(body)
	response, err := client.Post("http://"+address+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(response.Body)
	return response.StatusCode, answer
}

func TestSecretsNeverLogged(t *testing.T) {
	var logs lockedBuffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(previous) })

	env := backofficetest.New(t)
	const databasePassword = "Db-Pa55word-never-logged"
	const apiKey = "crypto-api-key-never-logged"
	databaseURL, err := url.Parse(env.DB.URL)
	if err != nil {
		t.Fatal(err)
	}
	databaseURL.User = url.UserPassword(databaseURL.User.Username(), databasePassword)
	settings := map[string]string{
		"BACKOFFICE_WORKERS": "false", "DATABASE_URL": databaseURL.String(), "CRYPTO_SERVICE_API_KEY": apiKey,
	}

	// The start-up line of server.Run, with the configuration.
	values := env.ServerSettings("127.0.0.1:0")
	for name, value := range settings {
		values[name] = value
	}
	cfg, err := server.LoadConfig(config.FromMap(values))
	if err != nil {
		t.Fatal(err)
	}
	slog.Info("back office starting", config.Attributes(cfg)...)
	backOffice := env.StartServer(t, settings)

	const password = "Log-Test-Passw0rd-77"
	var out bytes.Buffer
	err = staff.CreateCommand(context.Background(), env.DB.DB, env.Keyring, env.Integrity,
		[]string{"-username", "log.secret", "-name", "日志测试", "-role", "auditor", "-password", password}, &out)
	if err != nil {
		t.Fatalf("staff create: %v\n%s", err, out.String())
	}

	client := &http.Client{Timeout: 30 * time.Second}
	status, body := postJSON(t, client, backOffice.Addr(), "/api/v1/auth/login", map[string]string{"username": "log.secret", "password": "wrong-" + password})
	if status == http.StatusOK {
		t.Fatalf("wrong password accepted: %s", body)
	}
	status, body = postJSON(t, client, backOffice.Addr(), "/api/v1/auth/login", map[string]string{"username": "log.secret", "password": password})
	if status != http.StatusOK {
		t.Fatalf("password step = %d %s", status, body)
	}
	var step struct {
		Challenge string `json:"challenge"`
		Enrolment struct {
			Secret string `json:"secret"`
		} `json:"enrolment"`
	}
	json.Unmarshal(body, &step)
	code := totpNow(t, step.Enrolment.Secret)
	request, _ := http.NewRequest(http.MethodPost, "http://"+backOffice.Addr()+"/api/v1/auth/totp",
		strings.NewReader(`{"challenge":"`+step.Challenge+`","code":"`+code+`"}`))
	request.Header.Set("Content-Type", "application/json")
	response, err := client.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		t.Fatalf("TOTP step = %d %s", response.StatusCode, answer)
	}
	var session string
	for _, cookie := range response.Cookies() {
		if cookie.Name == "bo_session" {
			session = cookie.Value
		}
	}
	var me struct {
		CSRFToken string `json:"csrfToken"`
	}
	json.Unmarshal(answer, &me)

	keyringFile, err := os.ReadFile(env.KeyringPath)
	if err != nil {
		t.Fatal(err)
	}
	var keyring crypto.KeyringFile
	if err := json.Unmarshal(keyringFile, &keyring); err != nil {
		t.Fatal(err)
	}
	signingKey, err := os.ReadFile(env.SigningKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	signingKeyBody := strings.Join(strings.Split(string(signingKey), "\n")[1:2], "")

	secrets := map[string]string{
		"password": password, "database password": databasePassword, "crypto API key": apiKey,
		"TOTP secret": step.Enrolment.Secret, "TOTP code": code, "sign-in challenge": step.Challenge,
		"session token": session, "CSRF token": me.CSRFToken, "index key": keyring.IndexKey,
		"signing key PEM line": signingKeyBody,
		"TOTP secret (base64)": base64.StdEncoding.EncodeToString([]byte(step.Enrolment.Secret)),
	}
	for id, key := range keyring.SealingKeys {
		secrets["sealing key "+id] = key
	}
	captured := logs.String()
	if !strings.Contains(captured, "staff signed in") || !strings.Contains(captured, "back office starting") {
		t.Fatalf("the captured logs lack the sign-in or start-up line, so the check proves nothing:\n%s", captured)
	}
	for name, secret := range secrets {
		if len(secret) < 6 {
			t.Fatalf("%s %q is too short to search for", name, secret)
		}
		if strings.Contains(captured, secret) {
			t.Errorf("the logs contain the %s", name)
		}
	}
}
