package simulators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/simulators/fault"
	"github.com/sh-preschool/preschool/simulators/identity"
)

func start(t *testing.T, cfg Config) *Running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	running, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := running.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return running
}

func send(t *testing.T, client *http.Client, method, target, contentType, body string) (int, string, http.Header) {
	t.Helper()
	request, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}
	response, err := client.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer response.Body.Close()
	responseBody, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, string(responseBody), response.Header
}

func noRedirectClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestStartServesAllSimulators(t *testing.T) {
	running := start(t, Config{ClientID: "edge-test", ClientSecret: "s3cret", Seed: 5})
	client := noRedirectClient()

	for name, base := range map[string]string{"identity": running.IdentityURL, "certificates": running.CertificatesURL, "data": running.DataURL} {
		if !strings.HasPrefix(base, "http://127.0.0.1:") {
			t.Errorf("%s URL = %q, want http://127.0.0.1:<port>", name, base)
		}
		if status, body, _ := send(t, client, http.MethodGet, base+"/healthz", "", ""); status != http.StatusOK || !strings.Contains(body, `"ok"`) {
			t.Errorf("%s /healthz = %d %s, want 200 ok", name, status, body)
		}
	}

	t.Run("identity flow with configured client", func(t *testing.T) {
		redirectURI := "http://127.0.0.1:1/cb"
		query := url.Values{"client_id": {"edge-test"}, "redirect_uri": {redirectURI}, "login_hint": {"demo-parent-01"}, "state": {"st"}}
		status, body, header := send(t, client, http.MethodGet, running.IdentityURL+"/authorize?"+query.Encode(), "", "")
		if status != http.StatusFound {
			t.Fatalf("authorize status = %d, want 302 (body %.200s)", status, body)
		}
		location, err := url.Parse(header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}

		form := url.Values{
			"grant_type": {"authorization_code"}, "code": {location.Query().Get("code")}, "redirect_uri": {redirectURI},
			"client_id": {"edge-test"}, "client_secret": {"s3cret"},
		}
		status, body, _ = send(t, client, http.MethodPost, running.IdentityURL+"/token", "application/x-www-form-urlencoded", form.Encode())
		if status != http.StatusOK {
			t.Fatalf("token status = %d, want 200 (body %s)", status, body)
		}
		var token identity.TokenResponse
		if err := json.Unmarshal([]byte(body), &token); err != nil {
			t.Fatal(err)
		}

		request, _ := http.NewRequest(http.MethodGet, running.IdentityURL+"/userinfo", nil)
		request.Header.Set("Authorization", "Bearer "+token.AccessToken)
		response, err := client.Do(request)
		if err != nil {
			t.Fatal(err)
		}
		defer response.Body.Close()
		var info identity.UserInfo
		if err := json.NewDecoder(response.Body).Decode(&info); err != nil {
			t.Fatal(err)
		}
		if info.Subject != "demo-parent-01" || info.Name != "张伟" {
			t.Errorf("userinfo = %+v, want demo-parent-01 张伟", info)
		}
	})

	t.Run("certificates", func(t *testing.T) {
		status, body, _ := send(t, client, http.MethodPost, running.CertificatesURL+"/v1/certificates/query", "application/json",
			`{"holderDocumentType":"passport","holderDocumentNumber":"E12345678","certificateTypes":["birth_certificate","tenancy_registration"]}`)
		if status != http.StatusOK && status != http.StatusNotFound {
			t.Errorf("query status = %d, want 200 or 404 (body %s)", status, body)
		}
		if !strings.Contains(body, `"certificates":`) {
			t.Errorf("query body = %s, want a certificates array", body)
		}
	})

	t.Run("data", func(t *testing.T) {
		status, body, _ := send(t, client, http.MethodPost, running.DataURL+"/v1/identity/verify", "application/json",
			`{"documentType":"passport","documentNumber":"E12345678","name":"测试不符"}`)
		if status != http.StatusOK || !strings.Contains(body, `"match":false`) {
			t.Errorf("verify = %d %s, want 200 with match false", status, body)
		}
	})
}

func TestSetFaultAndStats(t *testing.T) {
	running := start(t, Config{Seed: 1})
	client := noRedirectClient()
	verify := func() int {
		status, _, _ := send(t, client, http.MethodPost, running.DataURL+"/v1/identity/verify", "application/json",
			`{"documentType":"passport","documentNumber":"E1","name":"张三"}`)
		return status
	}

	if status := verify(); status != http.StatusOK {
		t.Fatalf("before SetFault: status = %d, want 200", status)
	}
	if err := running.SetFault(ServiceData, fault.Config{FailureRate: 1}); err != nil {
		t.Fatalf("SetFault: %v", err)
	}
	if status := verify(); status != http.StatusServiceUnavailable {
		t.Errorf("after SetFault rate 1: status = %d, want 503", status)
	}
	if status, _, _ := send(t, client, http.MethodGet, running.CertificatesURL+"/healthz", "", ""); status != http.StatusOK {
		t.Errorf("certificates unaffected by the data fault: status = %d, want 200", status)
	}

	stats, err := running.Stats(ServiceData)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Requests != 2 || stats.Failures != 1 {
		t.Errorf("data stats = %d requests, %d failures, want 2 and 1", stats.Requests, stats.Failures)
	}
	if got := stats.Paths["/v1/identity/verify"]; got.Requests != 2 {
		t.Errorf("data stats for /v1/identity/verify = %+v, want 2 requests", got)
	}
	if stats.Config.FailureRate != 1 || stats.Config.FailureMode != fault.ModeError {
		t.Errorf("stats config = %+v, want rate 1 in mode error", stats.Config)
	}

	if err := running.SetFault("mail", fault.Config{}); err == nil {
		t.Error("SetFault of an unknown service returned no error")
	}
	if _, err := running.Stats("mail"); err == nil {
		t.Error("Stats of an unknown service returned no error")
	}
	if err := running.SetFault(ServiceData, fault.Config{FailureRate: 2}); err == nil {
		t.Error("SetFault with rate 2 returned no error")
	}
}

func TestControlEndpointOverHTTP(t *testing.T) {
	running := start(t, Config{})
	client := noRedirectClient()

	status, body, _ := send(t, client, http.MethodPost, running.CertificatesURL+"/_control", "application/json", `{"latency":"30ms"}`)
	if status != http.StatusOK {
		t.Fatalf("POST /_control = %d %s, want 200", status, body)
	}

	started := time.Now()
	send(t, client, http.MethodPost, running.CertificatesURL+"/v1/certificates/query", "application/json", `{"holderDocumentType":"passport","holderDocumentNumber":"E1"}`)
	if elapsed := time.Since(started); elapsed < 30*time.Millisecond {
		t.Errorf("query took %s after setting 30ms latency", elapsed)
	}

	status, body, _ = send(t, client, http.MethodGet, running.CertificatesURL+"/_stats", "", "")
	if status != http.StatusOK || !strings.Contains(body, `"latency":"30ms"`) || !strings.Contains(body, `"/v1/certificates/query"`) {
		t.Errorf("GET /_stats = %d %s, want the new latency and the query path", status, body)
	}
}

func TestSeedMakesServicesReproducible(t *testing.T) {
	sequence := func() string {
		running := start(t, Config{Seed: 77, Data: fault.Config{FailureRate: 0.5}, Identity: fault.Config{FailureRate: 0.5}})
		client := noRedirectClient()
		var data, identityRun strings.Builder
		for range 30 {
			status, _, _ := send(t, client, http.MethodPost, running.DataURL+"/v1/identity/verify", "application/json", `{"documentType":"passport","documentNumber":"E1","name":"张三"}`)
			fmt.Fprint(&data, status/100)
			status, _, _ = send(t, client, http.MethodGet, running.IdentityURL+"/userinfo", "", "")
			fmt.Fprint(&identityRun, status/100)
		}
		return data.String() + "|" + identityRun.String()
	}

	first, second := sequence(), sequence()
	if first != second {
		t.Errorf("seed 77 gave different sequences:\n%s\n%s", first, second)
	}
	data, identityRun, _ := strings.Cut(first, "|")
	if data == identityRun {
		t.Errorf("data and identity failed on the same requests %s, want independent sequences per service", data)
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()

	_, err = Start(t.Context(), Config{DataAddr: listener.Addr().String()})
	if err == nil {
		t.Fatal("Start on a busy address returned no error")
	}
	if !strings.Contains(err.Error(), "data simulator") || !strings.Contains(err.Error(), listener.Addr().String()) {
		t.Errorf("error %q should name the data simulator and %s", err, listener.Addr())
	}

	_, err = Start(t.Context(), Config{Identity: fault.Config{FailureMode: "explode"}})
	if err == nil || !strings.Contains(err.Error(), "identity simulator") {
		t.Errorf("Start with an invalid fault config: error = %v, want one naming the identity simulator", err)
	}
}

func TestCloseStopsServersAndEndsHungRequests(t *testing.T) {
	running, err := Start(t.Context(), Config{Identity: fault.Config{FailureRate: 1, FailureMode: fault.ModeHang}})
	if err != nil {
		t.Fatal(err)
	}

	requestDone := make(chan error, 1)
	go func() {
		response, err := http.Get(running.IdentityURL + "/userinfo")
		if err == nil {
			response.Body.Close()
		}
		requestDone <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the request reach the hang

	started := time.Now()
	if err := running.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if elapsed := time.Since(started); elapsed > shutdownGrace+3*time.Second {
		t.Errorf("Close took %s with a hung request, want about the %s grace", elapsed, shutdownGrace)
	}
	select {
	case <-requestDone:
	case <-time.After(5 * time.Second):
		t.Error("hung request still open 5s after Close")
	}
	if err := running.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	if _, err := http.Get(running.DataURL + "/healthz"); err == nil {
		t.Error("data simulator still responds after Close")
	}
}

func TestContextCancelStopsServers(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	running, err := Start(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()

	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := http.Get(running.CertificatesURL + "/healthz")
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("certificates simulator still responds 5s after its context was cancelled (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
