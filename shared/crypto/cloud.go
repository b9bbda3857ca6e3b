package crypto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto/cloudapi"
)

// ErrServiceUnavailable is returned by the cloud provider when the
// cryptography service cannot be reached, times out or responds with a 5xx
// status.
var ErrServiceUnavailable = errors.New("crypto: cryptography service unavailable")

// CloudConfig configures a CloudProvider.
type CloudConfig struct {
	// URL is the service's base URL. It must be https, except for a
	// loopback host such as the simulator in development.
	URL    string
	APIKey string
	// Timeout bounds one call; zero means DefaultServiceTimeout.
	Timeout time.Duration
	// SealingKeyID names the service's key that seals new data.
	SealingKeyID string
	// SigningKeyID names the service's SM2 key; empty leaves signing
	// unavailable.
	SigningKeyID string
	// UserID is the SM2 signer identity; empty means DefaultUserID.
	UserID string
	// RetiredKeys verifies, without the service, signatures made by local
	// signing keys before the switch to the cloud (CRYPTO_VERIFY_KEYS), such
	// as the audit trail's earlier checkpoints. It may be nil.
	RetiredKeys *Verifier
	// Client sends the requests; nil means a client of this package's own.
	Client *http.Client
}

// CloudProvider is the Provider that calls the cloud's cryptography service
// over HTTP (see package cloudapi). It makes one attempt per call and leaves
// retries to the caller.
type CloudProvider struct {
	baseURL      string
	apiKey       string
	timeout      time.Duration
	sealingKeyID string
	signingKeyID string
	userID       string
	retiredKeys  *Verifier
	client       *http.Client
}

// NewCloudProvider checks config and returns the client. It does not call
// the service.
func NewCloudProvider(config CloudConfig) (*CloudProvider, error) {
	parsed, err := url.Parse(config.URL)
	if err != nil || parsed.Host == "" || (parsed.Scheme != "https" && parsed.Scheme != "http") {
		return nil, fmt.Errorf("crypto: cryptography service URL %q (CRYPTO_SERVICE_URL) must be an absolute http(s) URL", config.URL)
	}
	if parsed.Scheme == "http" && !isLoopbackHost(parsed.Hostname()) {
		return nil, fmt.Errorf("crypto: cryptography service URL %q must use https: plain http is accepted only on a loopback host", config.URL)
	}
	if config.APIKey == "" {
		return nil, errors.New("crypto: the cloud provider needs an API key (CRYPTO_SERVICE_API_KEY)")
	}
	if config.SealingKeyID == "" {
		return nil, errors.New("crypto: the cloud provider needs the ID of the service's sealing key (CRYPTO_SEALING_KEY_ID)")
	}

	if config.SigningKeyID != "" {
		if err := checkSigningKeyID(config.SigningKeyID); err != nil {
			return nil, err
		}
	}
	// A retired key under a service key's ID would verify that ID's
	// signatures locally, with the wrong key.
	if config.RetiredKeys != nil {
		for _, id := range []string{config.SigningKeyID, config.SealingKeyID} {
			if id != "" && config.RetiredKeys.Has(id) {
				return nil, fmt.Errorf("crypto: CRYPTO_VERIFY_KEYS names %q, a key ID of the cryptography service: give the retired local key its own ID", id)
			}
		}
	}
	userID := config.UserID
	if userID == "" {
		userID = DefaultUserID
	}
	if err := checkUserID(userID); err != nil {
		return nil, err
	}

	timeout := config.Timeout
	if timeout <= 0 {
		timeout = DefaultServiceTimeout
	}
	client := config.Client
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &CloudProvider{
		baseURL:      strings.TrimSuffix(config.URL, "/"),
		apiKey:       config.APIKey,
		timeout:      timeout,
		sealingKeyID: config.SealingKeyID,
		signingKeyID: config.SigningKeyID,
		userID:       userID,
		retiredKeys:  config.RetiredKeys,
		client:       client,
	}, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Seal implements Provider.
func (p *CloudProvider) Seal(ctx context.Context, plaintext []byte, label string) ([]byte, error) {
	var response cloudapi.SealResponse
	request := cloudapi.SealRequest{KeyID: p.sealingKeyID, Plaintext: plaintext, Context: label}
	if err := p.call(ctx, cloudapi.PathSeal, request, &response); err != nil {
		return nil, err
	}
	return response.Ciphertext, nil
}

// Open implements Provider.
func (p *CloudProvider) Open(ctx context.Context, sealed []byte, label string) ([]byte, error) {
	var response cloudapi.OpenResponse
	if err := p.call(ctx, cloudapi.PathOpen, cloudapi.OpenRequest{Ciphertext: sealed, Context: label}, &response); err != nil {
		return nil, err
	}
	return response.Plaintext, nil
}

// Index implements Provider.
//
// NOTE: the service computes it with its own HMAC key, not the keyring's
// index key, so it does not match Keyring.Index, which computes the blind
// indexes stored in the database.
func (p *CloudProvider) Index(ctx context.Context, domain string, value []byte) ([]byte, error) {
	var response cloudapi.IndexResponse
	if err := p.call(ctx, cloudapi.PathIndex, cloudapi.IndexRequest{Domain: domain, Value: value}, &response); err != nil {
		return nil, err
	}
	if len(response.Index) != sm3Size {
		return nil, fmt.Errorf("crypto: the cryptography service returned a %d-byte index, want %d", len(response.Index), sm3Size)
	}
	return response.Index, nil
}

// Sign implements Provider.
func (p *CloudProvider) Sign(ctx context.Context, message []byte) (Signature, error) {
	if p.signingKeyID == "" {
		return Signature{}, ErrSigningUnavailable
	}
	var response cloudapi.SignResponse
	request := cloudapi.SignRequest{KeyID: p.signingKeyID, UserID: p.userID, Message: message}
	if err := p.call(ctx, cloudapi.PathSign, request, &response); err != nil {
		return Signature{}, err
	}
	if response.KeyID != p.signingKeyID || response.UserID != p.userID {
		return Signature{}, fmt.Errorf("crypto: the cryptography service signed with key %q for user ID %q, not the requested %q for %q",
			response.KeyID, response.UserID, p.signingKeyID, p.userID)
	}
	return Signature{KeyID: response.KeyID, UserID: response.UserID, Value: response.Signature}, nil
}

// Verify implements Provider. A signature by one of the retired local keys
// is verified here, and any other by the service.
func (p *CloudProvider) Verify(ctx context.Context, message []byte, signature Signature) error {
	if p.retiredKeys != nil && p.retiredKeys.Has(signature.KeyID) {
		return p.retiredKeys.Verify(signature.KeyID, message, signature.Value, signature.UserID)
	}
	var response cloudapi.VerifyResponse
	request := cloudapi.VerifyRequest{KeyID: signature.KeyID, UserID: signature.UserID, Message: message, Signature: signature.Value}
	if err := p.call(ctx, cloudapi.PathVerify, request, &response); err != nil {
		return err
	}
	if !response.Valid {
		return fmt.Errorf("%w: the cryptography service rejected it for key %q and user ID %q", ErrInvalidSignature, signature.KeyID, signature.UserID)
	}
	return nil
}

// ActiveKeyID implements Provider: the configured sealing key ID.
func (p *CloudProvider) ActiveKeyID() string { return p.sealingKeyID }

// call posts request to path and decodes the response body into response.
func (p *CloudProvider) call(ctx context.Context, path string, request, response any) error {
	body, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("crypto: encode %s request: %w", path, err)
	}
	if len(body) > cloudapi.MaxBodyBytes {
		return fmt.Errorf("crypto: the %s request is %d bytes, more than the service's limit of %d", path, len(body), cloudapi.MaxBodyBytes)
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	endpoint := p.baseURL + path
	httpRequest, err := http.NewRequestWithContext(callCtx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("crypto: build request to %s: %w", endpoint, err)
	}
	httpRequest.Header.Set("Content-Type", "application/json")
	httpRequest.Header.Set(cloudapi.APIKeyHeader, p.apiKey)

	httpResponse, err := p.client.Do(httpRequest)
	if err != nil {
		return p.transportError(ctx, callCtx, endpoint, err)
	}
	defer httpResponse.Body.Close()
	data, err := io.ReadAll(io.LimitReader(httpResponse.Body, cloudapi.MaxBodyBytes+1))
	if err != nil {
		return p.transportError(ctx, callCtx, endpoint, err)
	}
	if len(data) > cloudapi.MaxBodyBytes {
		return fmt.Errorf("crypto: the response of %s is more than %d bytes", endpoint, cloudapi.MaxBodyBytes)
	}
	if httpResponse.StatusCode != http.StatusOK {
		return statusError(endpoint, httpResponse.StatusCode, data)
	}
	if err := json.Unmarshal(data, response); err != nil {
		return fmt.Errorf("crypto: invalid response from %s: %w", endpoint, err)
	}
	return nil
}

// transportError explains a failed exchange: the caller's context ended,
// the call timed out, or the service could not be reached.
func (p *CloudProvider) transportError(ctx, callCtx context.Context, endpoint string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("crypto: call to %s abandoned: %w", endpoint, ctx.Err())
	case errors.Is(callCtx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %s timed out after %s (CRYPTO_SERVICE_TIMEOUT)", ErrServiceUnavailable, endpoint, p.timeout)
	}
	return fmt.Errorf("%w: POST %s: %v", ErrServiceUnavailable, endpoint, unwrapURLError(err))
}

// unwrapURLError drops the "Post <url>:" prefix that net/http adds, since
// the message names the endpoint already.
func unwrapURLError(err error) error {
	var urlError *url.Error
	if errors.As(err, &urlError) {
		return urlError.Err
	}
	return err
}

// statusError turns an error response into an error that wraps the
// matching sentinel of this package.
func statusError(endpoint string, status int, data []byte) error {
	var body cloudapi.ErrorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error == "" {
		body = cloudapi.ErrorBody{Error: "unknown", Message: strings.TrimSpace(string(data[:min(len(data), 200)]))}
	}
	detail := fmt.Sprintf("%s responded %d %s: %s", endpoint, status, body.Error, body.Message)
	switch {
	case status >= 500:
		return fmt.Errorf("%w: %s", ErrServiceUnavailable, detail)
	case status == http.StatusUnauthorized:
		return fmt.Errorf("crypto: the cryptography service rejected the API key (CRYPTO_SERVICE_API_KEY): %s", detail)
	}
	switch body.Error {
	case cloudapi.CodeUnknownKey:
		return fmt.Errorf("%w: %s", ErrUnknownKey, detail)
	case cloudapi.CodeMalformedCiphertext:
		return fmt.Errorf("%w: %s", ErrMalformed, detail)
	case cloudapi.CodeAuthenticationFailed:
		return fmt.Errorf("%w: %s", ErrAuthenticationFailed, detail)
	case cloudapi.CodeSigningUnavailable:
		return fmt.Errorf("%w: %s", ErrSigningUnavailable, detail)
	}
	return fmt.Errorf("crypto: the cryptography service rejected the request: %s", detail)
}

// GenerateDataKey implements DataKeyService: the service makes a data key
// wrapped under the configured sealing key.
func (p *CloudProvider) GenerateDataKey(ctx context.Context) (DataKey, error) {
	var response cloudapi.DataKeyResponse
	if err := p.call(ctx, cloudapi.PathGenerateDataKey, cloudapi.GenerateDataKeyRequest{KeyID: p.sealingKeyID}, &response); err != nil {
		return DataKey{}, err
	}
	if response.KeyID != p.sealingKeyID {
		return DataKey{}, fmt.Errorf("crypto: the cryptography service wrapped the data key under key %q, not the requested %q", response.KeyID, p.sealingKeyID)
	}
	if err := checkDataKey(response); err != nil {
		return DataKey{}, err
	}
	return DataKey{MasterKeyID: response.KeyID, Plaintext: response.DataKey, Wrapped: response.WrappedKey}, nil
}

// UnwrapDataKey implements DataKeyService.
func (p *CloudProvider) UnwrapDataKey(ctx context.Context, wrapped []byte) (DataKey, error) {
	var response cloudapi.DataKeyResponse
	if err := p.call(ctx, cloudapi.PathUnwrapDataKey, cloudapi.UnwrapDataKeyRequest{WrappedKey: wrapped}, &response); err != nil {
		return DataKey{}, err
	}
	if err := checkDataKey(response); err != nil {
		return DataKey{}, err
	}
	return DataKey{MasterKeyID: response.KeyID, Plaintext: response.DataKey, Wrapped: wrapped}, nil
}

func checkDataKey(response cloudapi.DataKeyResponse) error {
	if len(response.DataKey) != cloudapi.DataKeySize {
		return fmt.Errorf("crypto: the cryptography service returned a %d-byte data key, want %d", len(response.DataKey), cloudapi.DataKeySize)
	}
	if len(response.WrappedKey) == 0 || len(response.WrappedKey) > maxWrappedKeySize {
		return fmt.Errorf("crypto: the cryptography service returned a %d-byte wrapped key, want 1 to %d", len(response.WrappedKey), maxWrappedKeySize)
	}
	if response.KeyID == "" || len(response.KeyID) > 255 {
		return fmt.Errorf("crypto: the cryptography service named master key %q, want 1 to 255 bytes", response.KeyID)
	}
	return nil
}
