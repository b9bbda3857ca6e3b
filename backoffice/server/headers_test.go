package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
)

func TestSecurityHeaders(t *testing.T) {
	env := backofficetest.New(t)
	backOffice := env.StartServer(t, map[string]string{"BACKOFFICE_WORKERS": "false"})
	for _, path := range []string{"/healthz", "/api/v1/me", "/api/v1/nothing", "/", "/staff"} {
		response, err := http.Get("http://" + backOffice.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		response.Body.Close()
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "same-origin",
		}
		for name, value := range want {
			if got := response.Header.Get(name); got != value {
				t.Errorf("GET %s: %s = %q, want %q", path, name, got, value)
			}
		}
		if got := response.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=31536000") {
			t.Errorf("GET %s: Strict-Transport-Security = %q, want max-age of a year", path, got)
		}
		policy := response.Header.Get("Content-Security-Policy")
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
			t.Errorf("GET %s: frame-ancestors = %q, want 'none'", path, directives["frame-ancestors"])
		}
	}
}
