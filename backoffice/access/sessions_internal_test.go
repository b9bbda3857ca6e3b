package access

import "testing"

func TestCSRFTokenDerivation(t *testing.T) {
	first := csrfToken("session-token-one")
	if first != csrfToken("session-token-one") {
		t.Error("csrfToken is not deterministic")
	}
	if first == csrfToken("session-token-two") {
		t.Error("two session tokens derive the same CSRF token")
	}
	if len(first) != 24 {
		t.Errorf("CSRF token %q has %d characters, want 24 (18 bytes in base64)", first, len(first))
	}
}

// BenchmarkCSRFToken measures the cost the derivation adds to each
// authenticated request.
func BenchmarkCSRFToken(b *testing.B) {
	token := randomToken(32)
	for b.Loop() {
		csrfToken(token)
	}
}
