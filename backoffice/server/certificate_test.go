package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/certauth"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/gatewayauth"
	"github.com/sh-preschool/preschool/simulators/gateway"
)

// gatewayClient calls the back office through the gateway simulator with
// one client certificate, keeping the session cookie and CSRF token.
type gatewayClient struct {
	base   string
	http   *http.Client
	cookie string
	csrf   string
}

func newGatewayClient(t *testing.T, g *gateway.Gateway, certificate tls.Certificate) *gatewayClient {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(g.CAPEM())
	return &gatewayClient{base: g.URL, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{certificate}},
	}}}
}

func (c *gatewayClient) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	request, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/json")
	if c.cookie != "" {
		request.Header.Set("Cookie", "bo_session="+c.cookie)
	}
	if c.csrf != "" {
		request.Header.Set("X-CSRF-Token", c.csrf)
	}
	response, err := c.http.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	data, _ := io.ReadAll(response.Body)
	for _, cookie := range response.Cookies() {
		if cookie.Name == "bo_session" {
			c.cookie = cookie.Value
		}
	}
	return response.StatusCode, data
}

func (c *gatewayClient) signIn(t *testing.T) (int, []byte) {
	t.Helper()
	status, body := c.do(t, http.MethodPost, "/api/v1/auth/certificate", nil)
	if status == http.StatusOK {
		var me struct {
			CSRFToken string `json:"csrfToken"`
		}
		json.Unmarshal(body, &me)
		c.csrf = me.CSRFToken
	}
	return status, body
}

func errorCodeOf(body []byte) string {
	var answer struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(body, &answer)
	return answer.Error.Code
}

func freeAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	listener.Close()
	return address
}

func createStaff(t *testing.T, env *backofficetest.Env, args ...string) int64 {
	t.Helper()
	var out bytes.Buffer
	if err := staff.CreateCommand(context.Background(), env.DB.DB, env.Keyring, env.Integrity, append(args, "-password", "Correct-Horse-42x"), &out); err != nil {
		t.Fatalf("staff create %v: %v\n%s", args, err, out.String())
	}
	var id int64
	if err := env.DB.DB.Get(&id, `SELECT max(id) FROM staff_user`); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestCertificateSignInThroughGateway(t *testing.T) {
	env := backofficetest.New(t)
	address := freeAddress(t)
	dir := t.TempDir()
	g, err := gateway.Start(context.Background(), gateway.Options{Upstream: "http://" + address, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	env.StartServer(t, map[string]string{
		"BACKOFFICE_LISTEN": address, "BACKOFFICE_WORKERS": "false",
		"GATEWAY_PUBLIC_KEY_FILE": filepath.Join(dir, "gateway-public-key.pem"), "GATEWAY_KEY_ID": gateway.KeyID,
	})

	adminID := createStaff(t, env, "-username", "sec.admin", "-name", "安全管理员", "-role", "security_admin")
	officerID := createStaff(t, env, "-username", "xuhui.officer", "-name", "徐汇管理员", "-role", "district_admin", "-district", xuhui)
	adminCertificate, _ := g.IssueClientCertificate("安全管理员 USB key")
	officerCertificate, _ := g.IssueClientCertificate("徐汇管理员 USB key")
	officerFingerprint := gatewayauth.Fingerprint(officerCertificate.Leaf)

	officer := newGatewayClient(t, g, officerCertificate)
	if status, body := officer.signIn(t); status != http.StatusUnauthorized || errorCodeOf(body) != "certificate_not_bound" {
		t.Fatalf("sign-in with an unbound certificate = %d %s, want 401 certificate_not_bound", status, body)
	}

	// The security admin's own certificate is bound directly here. In
	// production the admin binds it through the API after a password and
	// TOTP sign-in.
	trail := &audit.Trail{DB: env.DB.DB, Now: time.Now}
	if _, err := certauth.Bind(context.Background(), env.DB.DB, env.Integrity, trail, nil, nil, adminID,
		gatewayauth.Fingerprint(adminCertificate.Leaf), adminCertificate.Leaf.Subject.String()); err != nil {
		t.Fatal(err)
	}
	admin := newGatewayClient(t, g, adminCertificate)
	if status, body := admin.signIn(t); status != http.StatusOK {
		t.Fatalf("security admin sign-in = %d %s, want 200", status, body)
	}
	path := "/api/v1/staff/" + strconv.FormatInt(officerID, 10) + "/certificates"
	status, body := admin.do(t, http.MethodPost, path, map[string]string{"fingerprint": officerFingerprint, "subject": "CN=徐汇管理员 USB key"})
	if status != http.StatusCreated {
		t.Fatalf("bind = %d %s, want 201", status, body)
	}
	if status, body := admin.do(t, http.MethodPost, path, map[string]string{"fingerprint": "sha1:00", "subject": "x"}); status != http.StatusBadRequest || errorCodeOf(body) != "invalid_fingerprint" {
		t.Errorf("bind with a bad fingerprint = %d %s, want 400 invalid_fingerprint", status, body)
	}

	status, body = officer.signIn(t)
	if status != http.StatusOK {
		t.Fatalf("officer sign-in = %d %s, want 200", status, body)
	}
	if !strings.Contains(string(body), `"scopeLevel":"district"`) || !strings.Contains(string(body), `"username":"xuhui.officer"`) {
		t.Errorf("officer /me body = %s, want the district scope of xuhui.officer", body)
	}
	if status, body := officer.do(t, http.MethodGet, "/api/v1/registrations", nil); status != http.StatusOK {
		t.Errorf("officer list through the gateway = %d %s, want 200", status, body)
	}
	if n := env.Count(t, `SELECT count(*) FROM login_log WHERE stage = 'certificate' AND success AND staff_id = $1`, officerID); n != 1 {
		t.Errorf("successful certificate sign-ins of the officer in the log = %d, want 1", n)
	}

	// A binding moved to another account in the database is rejected.
	if _, err := env.DB.DB.Exec(`UPDATE staff_certificate SET staff_id = $1 WHERE fingerprint = $2`, adminID, officerFingerprint); err != nil {
		t.Fatal(err)
	}
	if status, body := newGatewayClient(t, g, officerCertificate).signIn(t); status != http.StatusForbidden || errorCodeOf(body) != "access_control_tampered" {
		t.Errorf("sign-in with a moved binding = %d %s, want 403 access_control_tampered", status, body)
	}
	if _, err := env.DB.DB.Exec(`UPDATE staff_certificate SET staff_id = $1 WHERE fingerprint = $2`, officerID, officerFingerprint); err != nil {
		t.Fatal(err)
	}

	status, _ = admin.do(t, http.MethodDelete, path+"/"+officerFingerprint, nil)
	if status != http.StatusNoContent {
		t.Fatalf("unbind = %d, want 204", status)
	}
	if status, _ := officer.do(t, http.MethodGet, "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("officer session after unbinding = %d, want 401", status)
	}
	if status, body := newGatewayClient(t, g, officerCertificate).signIn(t); status != http.StatusUnauthorized {
		t.Errorf("sign-in after unbinding = %d %s, want 401", status, body)
	}
}

func TestCertificateSignInNeedsGatewaySignature(t *testing.T) {
	env := backofficetest.New(t)
	dir := t.TempDir()
	g, err := gateway.Start(context.Background(), gateway.Options{Upstream: "http://127.0.0.1:1", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	backOffice := env.StartServer(t, map[string]string{
		"BACKOFFICE_WORKERS": "false", "GATEWAY_PUBLIC_KEY_FILE": filepath.Join(dir, "gateway-public-key.pem"), "GATEWAY_KEY_ID": gateway.KeyID,
	})
	forger, err := crypto.GenerateSigner(gateway.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	request, _ := http.NewRequest(http.MethodPost, "http://"+backOffice.Addr()+"/api/v1/auth/certificate", nil)
	identity := gatewayauth.Identity{Fingerprint: "sm3:" + strings.Repeat("a", 64), Subject: "CN=forged"}
	if err := gatewayauth.Sign(request.Header, http.MethodPost, "/api/v1/auth/certificate", identity, forger, crypto.DefaultUserID, time.Now(), strings.Repeat("n", 24)); err != nil {
		t.Fatal(err)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusUnauthorized || errorCodeOf(body) != "certificate_invalid" {
		t.Errorf("sign-in with a forged gateway signature = %d %s, want 401 certificate_invalid", response.StatusCode, body)
	}
}

// writeServerCertificate writes a self-signed ECDSA certificate for
// 127.0.0.1 and its key, and returns their paths and a pool that trusts it.
func writeServerCertificate(t *testing.T) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "back office test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certificatePath, keyPath := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	if err := os.WriteFile(certificatePath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	certificate, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(certificate)
	return certificatePath, keyPath, pool
}

func TestBackOfficeServesTLS13Only(t *testing.T) {
	env := backofficetest.New(t)
	certificatePath, keyPath, pool := writeServerCertificate(t)
	backOffice := env.StartServer(t, map[string]string{
		"BACKOFFICE_WORKERS": "false", "BACKOFFICE_TLS_CERT_FILE": certificatePath, "BACKOFFICE_TLS_KEY_FILE": keyPath,
	})
	url := "https://" + backOffice.Addr() + "/healthz"
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion},
		}}
	}
	response, err := client(tls.VersionTLS13).Get(url)
	if err != nil {
		t.Fatalf("TLS 1.3 request: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK || response.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 request = %d, version %x, want 200 over TLS 1.3", response.StatusCode, response.TLS.Version)
	}
	if _, err := client(tls.VersionTLS12).Get(url); err == nil {
		t.Error("a TLS 1.2 client connected")
	}
}
