package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/gatewayauth"
)

// startWithEcho starts a gateway in front of an upstream that verifies the
// signed identity and writes it back as "fingerprint|subject|TLS version".
func startWithEcho(t *testing.T) *Gateway {
	t.Helper()
	var verifier *gatewayauth.Verifier
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		identity, _, err := verifier.Verify(r, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, identity.Fingerprint+"|"+identity.Subject)
	}))
	t.Cleanup(upstream.Close)
	gateway, err := Start(context.Background(), Options{Upstream: upstream.URL, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gateway.Close() })
	publicKeyPEM, err := gateway.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	publicKey, err := crypto.ParseSM2PublicKeyPEM(publicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	verifier = &gatewayauth.Verifier{KeyID: KeyID, PublicKey: publicKey, MaxSkew: 30 * time.Second}
	return gateway
}

func clientFor(t *testing.T, gateway *Gateway, certificates ...tls.Certificate) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(gateway.CAPEM())
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certificates, MaxVersion: tls.VersionTLS13},
	}}
}

func TestGatewayPassesSignedIdentity(t *testing.T) {
	gateway := startWithEcho(t)
	certificate, err := gateway.IssueClientCertificate("张三 USB key")
	if err != nil {
		t.Fatal(err)
	}
	request, _ := http.NewRequest(http.MethodGet, gateway.URL+"/api/v1/auth/certificate?x=1", nil)
	request.Header.Set(gatewayauth.HeaderFingerprint, "sm3:forged")
	response, err := clientFor(t, gateway, certificate).Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("status = %d %s, want 200", response.StatusCode, body)
	}
	if response.TLS == nil || response.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS state = %+v, want TLS 1.3", response.TLS)
	}
	want := gatewayauth.Fingerprint(certificate.Leaf) + "|CN=张三 USB key,O=preschool simulators"
	if string(body) != want {
		t.Errorf("upstream saw %q, want %q", body, want)
	}
}

func TestGatewayRequiresClientCertificate(t *testing.T) {
	gateway := startWithEcho(t)
	_, err := clientFor(t, gateway).Get(gateway.URL + "/")
	if err == nil {
		t.Fatal("request without a client certificate succeeded")
	}
	other, err := (&Gateway{}).selfSigned(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientFor(t, gateway, other).Get(gateway.URL + "/"); err == nil {
		t.Error("request with a certificate of another CA succeeded")
	}
}

// selfSigned issues a client certificate from a CA of its own.
func (g *Gateway) selfSigned(t *testing.T) (tls.Certificate, error) {
	t.Helper()
	if err := g.makeCA(); err != nil {
		return tls.Certificate{}, err
	}
	return g.issue("stranger", true)
}

func TestVerifierRejectsReplayElsewhere(t *testing.T) {
	signer, err := crypto.GenerateSigner("k")
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	identity := gatewayauth.Identity{Fingerprint: "sm3:abc", Subject: "CN=x"}
	now := time.Now()
	if err := gatewayauth.Sign(header, http.MethodPost, "/api/v1/auth/certificate", identity, signer, crypto.DefaultUserID, now, strings.Repeat("n", 20)); err != nil {
		t.Fatal(err)
	}
	verifier := &gatewayauth.Verifier{KeyID: "k", PublicKey: signer.PublicKey(), MaxSkew: 30 * time.Second}
	cases := []struct {
		name   string
		method string
		target string
		at     time.Time
		ok     bool
	}{
		{"as signed", http.MethodPost, "/api/v1/auth/certificate", now, true},
		{"other path", http.MethodPost, "/api/v1/staff", now, false},
		{"other method", http.MethodGet, "/api/v1/auth/certificate", now, false},
		{"stale", http.MethodPost, "/api/v1/auth/certificate", now.Add(time.Minute), false},
	}
	for _, test := range cases {
		request := httptest.NewRequest(test.method, test.target, nil)
		request.Header = header.Clone()
		got, _, err := verifier.Verify(request, test.at)
		if test.ok && (err != nil || got != identity) {
			t.Errorf("%s: Verify = %+v, %v, want the identity", test.name, got, err)
		}
		if !test.ok && err == nil {
			t.Errorf("%s: Verify accepted the request", test.name)
		}
	}
}
