// Package gateway simulates the cloud's security authentication gateway on
// the loopback interface. It terminates TLS 1.3 and requires a client
// certificate issued by its CA. It forwards each request to an upstream
// (the back office) with the certificate's identity in headers signed with
// its SM2 key (shared/gatewayauth).
//
// The real gateway uses SM2 certificates and the TLCP protocol (GB/T
// 38636-2020), which Go's crypto/tls does not implement. The simulator
// therefore makes an ECDSA P-256 test CA, server certificate and client
// certificates at start, kept only in memory and in the files Options
// names. What the back office sees, the signed identity headers, is the
// same in both.
package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/gatewayauth"
)

// KeyID names the simulator's SM2 signing key.
const KeyID = "sim-gateway-1"

// Options configures Start.
type Options struct {
	// Addr is the TLS listen address; empty means "127.0.0.1:0".
	Addr string
	// Upstream is the URL requests are forwarded to.
	Upstream string
	// UpstreamCA is a PEM file of CA certificates to trust for an https
	// upstream; empty means the system roots.
	UpstreamCA string
	// Dir, when set, receives ca.pem (the client CA), gateway-public-key.pem
	// (for the back office's GATEWAY_PUBLIC_KEY_FILE), and a demo client
	// certificate demo-client.pem with its key demo-client-key.pem.
	Dir    string
	Logger *slog.Logger
}

// Gateway is a running gateway simulator.
type Gateway struct {
	URL    string
	signer *crypto.Signer

	caKey         *ecdsa.PrivateKey
	caCertificate *x509.Certificate
	serialMu      sync.Mutex
	serial        int64

	server   *http.Server
	listener net.Listener
	served   chan struct{}
}

// Start makes the CA and keys, listens and serves until Close.
func Start(ctx context.Context, options Options) (*Gateway, error) {
	logger := options.Logger
	if logger == nil {
		logger = slog.Default()
	}
	upstream, err := url.Parse(options.Upstream)
	if err != nil || upstream.Scheme == "" || upstream.Host == "" {
		return nil, fmt.Errorf("gateway: invalid upstream URL %q: want such as http://127.0.0.1:8081", options.Upstream)
	}
	g := &Gateway{served: make(chan struct{})}
	if g.signer, err = crypto.GenerateSigner(KeyID); err != nil {
		return nil, err
	}
	if err := g.makeCA(); err != nil {
		return nil, err
	}
	serverCertificate, err := g.issue("127.0.0.1", false)
	if err != nil {
		return nil, err
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(g.caCertificate)

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS13}
	if options.UpstreamCA != "" {
		data, err := os.ReadFile(options.UpstreamCA)
		if err != nil {
			return nil, fmt.Errorf("gateway: read upstream CA: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("gateway: %s contains no PEM certificate", options.UpstreamCA)
		}
		transport.TLSClientConfig.RootCAs = roots
	}
	proxy := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(request *httputil.ProxyRequest) {
			request.SetURL(upstream)
			request.SetXForwarded()
			g.signIdentity(request, logger)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Error("gateway: upstream request failed", "path", r.URL.Path, "error", err)
			http.Error(w, "upstream unavailable", http.StatusBadGateway)
		},
	}

	addr := options.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var listenConfig net.ListenConfig
	listener, err := listenConfig.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen on %s: %w", addr, err)
	}
	g.listener = tls.NewListener(listener, &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{serverCertificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
	})
	g.URL = "https://" + listener.Addr().String()
	g.server = &http.Server{
		Handler:           proxy,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if options.Dir != "" {
		if err := g.writeFiles(options.Dir); err != nil {
			listener.Close()
			return nil, err
		}
	}
	go func() {
		defer close(g.served)
		if err := g.server.Serve(g.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("gateway stopped serving", "error", err)
		}
	}()
	logger.Info("gateway simulator listening", "url", g.URL, "upstream", upstream.String(), "key_id", KeyID)
	return g, nil
}

// signIdentity replaces the identity headers of a forwarded request with
// the signed identity of its verified client certificate.
func (g *Gateway) signIdentity(request *httputil.ProxyRequest, logger *slog.Logger) {
	for _, name := range gatewayauth.Headers {
		request.Out.Header.Del(name)
	}
	state := request.In.TLS
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return
	}
	certificate := state.VerifiedChains[0][0]
	identity := gatewayauth.Identity{Fingerprint: gatewayauth.Fingerprint(certificate), Subject: certificate.Subject.String()}
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	err := gatewayauth.Sign(request.Out.Header, request.Out.Method, request.Out.URL.RequestURI(), identity, g.signer,
		crypto.DefaultUserID, time.Now(), base64.RawURLEncoding.EncodeToString(nonce))
	if err != nil {
		logger.Error("gateway: signing the identity failed", "error", err)
	}
}

// PublicKey returns the gateway's SM2 public key in PEM.
func (g *Gateway) PublicKey() ([]byte, error) {
	return crypto.MarshalSM2PublicKeyPEM(g.signer.PublicKey())
}

// CAPEM returns the client and server CA certificate in PEM.
func (g *Gateway) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.caCertificate.Raw})
}

// IssueClientCertificate issues a client certificate for commonName, as a
// staff member's USB key or a terminal's user certificate would hold.
func (g *Gateway) IssueClientCertificate(commonName string) (tls.Certificate, error) {
	return g.issue(commonName, true)
}

// Close stops serving.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := g.server.Shutdown(ctx)
	<-g.served
	return err
}

func (g *Gateway) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "安全认证网关模拟测试 CA", Organization: []string{"preschool simulators"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return err
	}
	g.caKey = key
	g.caCertificate, err = x509.ParseCertificate(der)
	g.serial = 1
	return err
}

func (g *Gateway) issue(commonName string, client bool) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	g.serialMu.Lock()
	g.serial++
	serial := g.serial
	g.serialMu.Unlock()
	template := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"preschool simulators"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if client {
		template.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		template.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		template.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		template.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, g.caCertificate, &key.PublicKey, g.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func (g *Gateway) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("gateway: create %s: %w", dir, err)
	}
	publicKey, err := g.PublicKey()
	if err != nil {
		return err
	}
	client, err := g.IssueClientCertificate("演示用户证书")
	if err != nil {
		return err
	}
	clientKey, err := x509.MarshalPKCS8PrivateKey(client.PrivateKey)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.pem", g.CAPEM(), 0o644},
		{"gateway-public-key.pem", publicKey, 0o644},
		{"demo-client.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.Certificate[0]}), 0o644},
		{"demo-client-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: clientKey}), 0o600},
	}
	for _, file := range files {
		if err := os.WriteFile(filepath.Join(dir, file.name), file.data, file.mode); err != nil {
			return fmt.Errorf("gateway: write %s: %w", file.name, err)
		}
	}
	return nil
}
