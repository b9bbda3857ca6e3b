package staff

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/skip2/go-qrcode"
)

// TOTP as RFC 6238 defines it, in the form authenticator apps expect:
// HMAC-SHA1, 6 digits, 30-second steps.
const (
	totpDigits = 6
	// totpPeriod is the length of one time step in seconds.
	totpPeriod = 30
	// totpSkew is how many steps before and after the current one are
	// accepted, for clocks that drift.
	totpSkew       = 1
	totpSecretSize = 20
	// TOTPIssuer is the issuer authenticator apps show next to the code.
	TOTPIssuer = "上海学前教育管理系统"
	// totpSecretContext is the sealing context of staff_user.totp_secret.
	totpSecretContext = "staff.totp_secret"
	// qrCodeSize is the width and height of the enrolment QR code in pixels.
	qrCodeSize = 256
)

var base32NoPadding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns 20 random bytes.
func newTOTPSecret() []byte {
	secret := make([]byte, totpSecretSize)
	if _, err := rand.Read(secret); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return secret
}

// totpStep returns the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// hotp returns the RFC 4226 code of counter with the given number of digits
// (6 to 9).
func hotp(secret []byte, counter uint64, digits int) string {
	mac := hmac.New(sha1.New, secret)
	var message [8]byte
	binary.BigEndian.PutUint64(message[:], counter)
	mac.Write(message[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	modulus := uint32(1)
	for range digits {
		modulus *= 10
	}
	code := strconv.FormatUint(uint64(value%modulus), 10)
	for len(code) < digits {
		code = "0" + code
	}
	return code
}

// totpCode returns the code of secret at time t.
func totpCode(secret []byte, t time.Time, digits int) string {
	return hotp(secret, uint64(totpStep(t)), digits)
}

// verifyTOTP checks a 6-digit code against the steps around now and returns
// the step it matched. Steps at or below lastStep are never accepted, so a
// code works once only.
func verifyTOTP(secret []byte, code string, now time.Time, lastStep int64) (int64, bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	current := totpStep(now)
	matched := int64(0)
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		if step <= lastStep || step < 0 {
			continue
		}
		expected := hotp(secret, uint64(step), totpDigits)
		if subtle.ConstantTimeCompare([]byte(expected), []byte(code)) == 1 && matched == 0 {
			matched = step
		}
	}
	return matched, matched != 0
}

// Enrolment is the data the sign-in page shows to set up an authenticator
// app.
type Enrolment struct {
	// Secret is the base32 secret without padding, for typing in by hand.
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauthUri"`
	// QRCode is a PNG of OTPAuthURI as a data URL.
	QRCode string `json:"qrCode"`
}

// newEnrolment describes secret for username's authenticator app.
func newEnrolment(username string, secret []byte) (Enrolment, error) {
	encoded := base32NoPadding.EncodeToString(secret)
	query := url.Values{}
	query.Set("secret", encoded)
	query.Set("issuer", TOTPIssuer)
	query.Set("algorithm", "SHA1")
	query.Set("digits", strconv.Itoa(totpDigits))
	query.Set("period", strconv.Itoa(totpPeriod))
	uri := "otpauth://totp/" + url.PathEscape(TOTPIssuer+":"+username) + "?" + query.Encode()
	png, err := qrcode.Encode(uri, qrcode.Medium, qrCodeSize)
	if err != nil {
		return Enrolment{}, fmt.Errorf("encode TOTP QR code: %w", err)
	}
	return Enrolment{
		Secret:     encoded,
		OTPAuthURI: uri,
		QRCode:     "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
	}, nil
}
