package staff

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfc6238Secret is the SHA1 key of RFC 6238, Appendix B.
var rfc6238Secret = []byte("12345678901234567890")

// rfc6238Vectors are the SHA1 rows of RFC 6238, Appendix B (8 digits).
var rfc6238Vectors = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestTOTPVectorsEightDigits(t *testing.T) {
	for _, vector := range rfc6238Vectors {
		if got := totpCode(rfc6238Secret, time.Unix(vector.unix, 0), 8); got != vector.code {
			t.Errorf("T=%d: code = %s, want %s", vector.unix, got, vector.code)
		}
	}
}

func TestTOTPVectorsSixDigits(t *testing.T) {
	for _, vector := range rfc6238Vectors {
		want := vector.code[2:]
		at := time.Unix(vector.unix, 0)
		if got := totpCode(rfc6238Secret, at, 6); got != want {
			t.Errorf("T=%d: code = %s, want %s", vector.unix, got, want)
		}
		step, ok := verifyTOTP(rfc6238Secret, want, at, 0)
		if !ok || step != vector.unix/30 {
			t.Errorf("T=%d: verifyTOTP(%s) = %d, %v, want step %d", vector.unix, want, step, ok, vector.unix/30)
		}
	}
}

func TestTOTPWindow(t *testing.T) {
	now := time.Unix(1_750_000_015, 0)
	current := totpStep(now)
	// Pick a secret whose seven codes around now all differ, so a code
	// accepted for another step cannot hide a wrong window.
	var secret []byte
	codes := map[int64]string{}
	for distinct := false; !distinct; {
		secret = newTOTPSecret()
		seen := map[string]bool{}
		distinct = true
		for offset := int64(-3); offset <= 3; offset++ {
			codes[offset] = hotp(secret, uint64(current+offset), 6)
			distinct = distinct && !seen[codes[offset]]
			seen[codes[offset]] = true
		}
	}
	for offset := int64(-3); offset <= 3; offset++ {
		step, ok := verifyTOTP(secret, codes[offset], now, 0)
		want := offset >= -1 && offset <= 1
		if ok != want {
			t.Errorf("code of step %+d accepted = %v, want %v", offset, ok, want)
		}
		if ok && step != current+offset {
			t.Errorf("code of step %+d matched step %d, want %d", offset, step, current+offset)
		}
	}
}

func TestTOTPNoReuse(t *testing.T) {
	secret := newTOTPSecret()
	now := time.Unix(1_750_000_015, 0)
	code := totpCode(secret, now, 6)
	step, ok := verifyTOTP(secret, code, now, 0)
	if !ok || step != totpStep(now) {
		t.Fatalf("first use: verifyTOTP = %d, %v, want step %d", step, ok, totpStep(now))
	}
	if _, ok := verifyTOTP(secret, code, now, step); ok {
		t.Errorf("the same code was accepted twice")
	}
	earlier := hotp(secret, uint64(step-1), 6)
	if _, ok := verifyTOTP(secret, earlier, now, step); ok && earlier != code {
		t.Errorf("a code of an earlier step was accepted after a later one")
	}
	later := hotp(secret, uint64(step+1), 6)
	if next, ok := verifyTOTP(secret, later, now, step); !ok || next != step+1 {
		t.Errorf("code of the next step: verifyTOTP = %d, %v, want step %d", next, ok, step+1)
	}
}

func TestTOTPMalformedCodes(t *testing.T) {
	secret := newTOTPSecret()
	now := time.Now()
	for _, code := range []string{"", "12345", "1234567", "12a456", " 123456", "１２３４５６"} {
		if _, ok := verifyTOTP(secret, code, now, 0); ok {
			t.Errorf("malformed code %q was accepted", code)
		}
	}
}

func TestEnrolment(t *testing.T) {
	secret := newTOTPSecret()
	enrolment, err := newEnrolment("xuhui.admin", secret)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := base32NoPadding.DecodeString(enrolment.Secret)
	if err != nil || !bytes.Equal(decoded, secret) {
		t.Errorf("secret %q decodes to %x (%v), want %x", enrolment.Secret, decoded, err, secret)
	}
	if strings.Contains(enrolment.Secret, "=") {
		t.Errorf("secret %q is padded", enrolment.Secret)
	}

	for i := 0; i < len(enrolment.OTPAuthURI); i++ {
		if enrolment.OTPAuthURI[i] >= 0x80 {
			t.Fatalf("URI %q is not URL-encoded", enrolment.OTPAuthURI)
		}
	}
	uri, err := url.Parse(enrolment.OTPAuthURI)
	if err != nil {
		t.Fatalf("URI %q does not parse: %v", enrolment.OTPAuthURI, err)
	}
	if uri.Scheme != "otpauth" || uri.Host != "totp" {
		t.Errorf("URI %q is not otpauth://totp/", enrolment.OTPAuthURI)
	}
	if want := "/" + TOTPIssuer + ":xuhui.admin"; uri.Path != want {
		t.Errorf("URI label = %q, want %q", uri.Path, want)
	}
	query := uri.Query()
	wantQuery := map[string]string{
		"secret": enrolment.Secret, "issuer": TOTPIssuer, "algorithm": "SHA1", "digits": "6", "period": "30",
	}
	for key, want := range wantQuery {
		if got := query.Get(key); got != want {
			t.Errorf("URI %s = %q, want %q", key, got, want)
		}
	}

	data, ok := strings.CutPrefix(enrolment.QRCode, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR code %.40q… is not a PNG data URL", enrolment.QRCode)
	}
	image, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatalf("QR code does not decode: %v", err)
	}
	config, err := png.DecodeConfig(bytes.NewReader(image))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	if config.Width != qrCodeSize || config.Height != qrCodeSize {
		t.Errorf("QR code is %dx%d, want %dx%d", config.Width, config.Height, qrCodeSize, qrCodeSize)
	}
}
