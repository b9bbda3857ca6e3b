package edgetest

import (
	"testing"
	"unicode"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// CheckError fails the test unless err is an *apierror.Error with the
// status, code and field, and a message in Chinese.
func CheckError(t testing.TB, err error, status int, code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want %d %s on field %q", status, code, field)
	}
	apiErr := apierror.As(err)
	if apiErr == nil {
		t.Fatalf("error %v (%T) is not an *apierror.Error, want %d %s", err, err, status, code)
	}
	CheckAPIError(t, apiErr, status, code, field)
}

// CheckAPIError is CheckError for an error already decoded, such as the
// body of an HTTP response.
func CheckAPIError(t testing.TB, apiErr *apierror.Error, status int, code, field string) {
	t.Helper()
	if apiErr.Code != code {
		t.Errorf("code = %q, want %q (message %q, field %q)", apiErr.Code, code, apiErr.Message, apiErr.Field)
	}
	if apiErr.Status != status {
		t.Errorf("status = %d, want %d (code %s)", apiErr.Status, status, apiErr.Code)
	}
	if apiErr.Field != field {
		t.Errorf("field = %q, want %q (code %s)", apiErr.Field, field, apiErr.Code)
	}
	if !HasHan(apiErr.Message) {
		t.Errorf("message %q of code %s is not in Chinese", apiErr.Message, apiErr.Code)
	}
}

// HasHan reports whether s contains a Chinese character.
func HasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
