package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
)

// checkContentSecurityPolicy fails unless policy forbids inline script
// and framing.
func checkContentSecurityPolicy(t *testing.T, path, policy string) {
	t.Helper()
	directives := map[string]string{}
	for _, directive := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), " ")
		directives[name] = value
	}
	script, ok := directives["script-src"]
	if !ok {
		script = directives["default-src"]
	}
	if script == "" || strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") || strings.Contains(script, "*") {
		t.Errorf("GET %s: script sources %q allow inline, eval or any host (policy %q)", path, script, policy)
	}
	if directives["frame-ancestors"] != "'none'" {
		t.Errorf("GET %s: frame-ancestors = %q, want 'none' (policy %q)", path, directives["frame-ancestors"], policy)
	}
}

func TestSecurityHeadersHSTSAndCSP(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	for _, path := range []string{"/api/v1/catalogue", "/api/v1/nothing", "/", "/registration/new"} {
		response := e.Get(t, path, "")
		if got := response.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=31536000") {
			t.Errorf("GET %s: Strict-Transport-Security = %q, want max-age of a year", path, got)
		}
		checkContentSecurityPolicy(t, path, response.Header.Get("Content-Security-Policy"))
	}
}

func TestEdgeServesTLS13Only(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge test"},
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
	certificatePath, keyPath := filepath.Join(dir, "edge.pem"), filepath.Join(dir, "edge-key.pem")
	if err := os.WriteFile(certificatePath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	certificate, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(certificate)

	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{TLSCertFile: certificatePath, TLSKeyFile: keyPath})
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: maxVersion},
		}}
	}
	response, err := client(tls.VersionTLS13).Get("https://" + e.Addr() + "/api/v1/catalogue")
	if err != nil {
		t.Fatalf("TLS 1.3 request: %v", err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK || response.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 request = %d, version %x, want 200 over TLS 1.3", response.StatusCode, response.TLS.Version)
	}
	if _, err := client(tls.VersionTLS12).Get("https://" + e.Addr() + "/api/v1/catalogue"); err == nil {
		t.Error("a TLS 1.2 client connected")
	}
}
