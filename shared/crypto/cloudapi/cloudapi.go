// Package cloudapi defines the JSON API of the cloud's cryptography service,
// shared by the client in package crypto and the simulator in
// simulators/cryptoservice. Every call is a POST with a JSON body and the
// API key in the APIKeyHeader header. Byte fields are standard base64, as
// encoding/json writes []byte.
//
//	POST /v1/seal    SealRequest   → SealResponse
//	POST /v1/open    OpenRequest   → OpenResponse
//	POST /v1/index   IndexRequest  → IndexResponse
//	POST /v1/sign    SignRequest   → SignResponse
//	POST /v1/verify  VerifyRequest → VerifyResponse
//	POST /v1/datakey/generate  GenerateDataKeyRequest → DataKeyResponse
//	POST /v1/datakey/unwrap    UnwrapDataKeyRequest   → DataKeyResponse
//
// The data key endpoints serve envelope encryption: the service makes a
// random SM4 data key and returns it in plaintext and wrapped (sealed under
// its master key KeyID). The caller seals data locally with the data key,
// stores the wrapped key with the ciphertext, discards the plaintext key
// when it stops, and requests the unwrapped key from the service to open
// the data again.
//
// A failure gets a response with an ErrorBody and a 4xx or 5xx status. Results
// of the cryptography itself (an unknown key, a ciphertext that does not
// authenticate) are status 422 with one of the Code constants.
package cloudapi

// APIKeyHeader carries the caller's API key.
const APIKeyHeader = "X-Api-Key"

// Paths of the service's endpoints.
const (
	PathSeal   = "/v1/seal"
	PathOpen   = "/v1/open"
	PathIndex  = "/v1/index"
	PathSign   = "/v1/sign"
	PathVerify = "/v1/verify"

	PathGenerateDataKey = "/v1/datakey/generate"
	PathUnwrapDataKey   = "/v1/datakey/unwrap"
)

// DataKeySize is the size of a data key: one SM4 key.
const DataKeySize = 16

// MaxPayloadBytes bounds the plaintext, ciphertext or message of one call.
// The largest payload the system seals is a 5 MiB certificate upload.
const MaxPayloadBytes = 16 << 20

// MaxBodyBytes bounds a request or response body: a payload of
// MaxPayloadBytes in base64 plus the other fields.
const MaxBodyBytes = MaxPayloadBytes/3*4 + 64<<10

// Error codes of ErrorBody.Error.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeUnauthorized         = "unauthorized"
	CodeUnknownKey           = "unknown_key"
	CodeMalformedCiphertext  = "malformed_ciphertext"
	CodeAuthenticationFailed = "authentication_failed"
	CodeSigningUnavailable   = "signing_unavailable"
	CodeInternal             = "internal_error"
)

// ErrorBody is the JSON body of every error response, in the shape the
// other simulators use.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// SealRequest requests the encryption of Plaintext under the key KeyID, with
// Context authenticated as associated data.
type SealRequest struct {
	KeyID     string `json:"keyId"`
	Plaintext []byte `json:"plaintext"`
	Context   string `json:"context"`
}

// SealResponse carries the ciphertext, which names its key.
type SealResponse struct {
	KeyID      string `json:"keyId"`
	Ciphertext []byte `json:"ciphertext"`
}

// OpenRequest requests the decryption of Ciphertext with the key that the
// ciphertext names.
type OpenRequest struct {
	Ciphertext []byte `json:"ciphertext"`
	Context    string `json:"context"`
}

// OpenResponse carries the plaintext.
type OpenResponse struct {
	Plaintext []byte `json:"plaintext"`
}

// IndexRequest requests the HMAC-SM3 blind index of Value within Domain.
type IndexRequest struct {
	Domain string `json:"domain"`
	Value  []byte `json:"value"`
}

// IndexResponse carries the 32-byte index.
type IndexResponse struct {
	Index []byte `json:"index"`
}

// SignRequest requests an SM2 signature of Message by the key KeyID for the
// signer identity UserID.
type SignRequest struct {
	KeyID   string `json:"keyId"`
	UserID  string `json:"userId"`
	Message []byte `json:"message"`
}

// SignResponse carries the DER-encoded SM2 signature.
type SignResponse struct {
	KeyID     string `json:"keyId"`
	UserID    string `json:"userId"`
	Signature []byte `json:"signature"`
}

// VerifyRequest requests a check whether Signature is a valid SM2 signature of Message
// by the key KeyID for UserID.
type VerifyRequest struct {
	KeyID     string `json:"keyId"`
	UserID    string `json:"userId"`
	Message   []byte `json:"message"`
	Signature []byte `json:"signature"`
}

// VerifyResponse is the verdict. A signature that is malformed or does not
// verify is Valid false with status 200; an unknown key is an error.
type VerifyResponse struct {
	Valid bool `json:"valid"`
}

// GenerateDataKeyRequest requests a new data key wrapped under the master
// key KeyID.
type GenerateDataKeyRequest struct {
	KeyID string `json:"keyId"`
}

// UnwrapDataKeyRequest requests the plaintext of a wrapped data key. The
// wrapped key names its master key.
type UnwrapDataKeyRequest struct {
	WrappedKey []byte `json:"wrappedKey"`
}

// DataKeyResponse carries a data key in plaintext (DataKeySize bytes) and
// wrapped, and the master key that wraps it.
type DataKeyResponse struct {
	KeyID      string `json:"keyId"`
	DataKey    []byte `json:"dataKey"`
	WrappedKey []byte `json:"wrappedKey"`
}
