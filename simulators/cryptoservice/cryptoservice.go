// Package cryptoservice simulates the cloud's cryptography service (密码服务)
// whose API package cloudapi defines: sealing with SM4-GCM, data keys for
// envelope encryption wrapped with SM4-GCM under its master (sealing) key,
// HMAC-SM3 blind indexes and SM2 signatures, computed by a local
// crypto.Provider. Like the
// other simulators it is for development and tests: its keys live in the
// process, and it logs each rejected request.
package cryptoservice

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/crypto/cloudapi"
	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// NewHandler returns the simulated service over provider. Every request must
// carry apiKey in the cloudapi.APIKeyHeader header; an empty apiKey accepts
// no request. It logs through slog.Default().
func NewHandler(provider crypto.Provider, apiKey string) http.Handler {
	h := &handler{provider: provider, apiKey: []byte(apiKey), logger: slog.Default().With("service", "crypto")}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+cloudapi.PathSeal, h.seal)
	mux.HandleFunc("POST "+cloudapi.PathOpen, h.open)
	mux.HandleFunc("POST "+cloudapi.PathIndex, h.index)
	mux.HandleFunc("POST "+cloudapi.PathSign, h.sign)
	mux.HandleFunc("POST "+cloudapi.PathVerify, h.verify)
	mux.HandleFunc("POST "+cloudapi.PathGenerateDataKey, h.generateDataKey)
	mux.HandleFunc("POST "+cloudapi.PathUnwrapDataKey, h.unwrapDataKey)
	return h.authenticate(mux)
}

// GenerateProvider returns a local provider with fresh random keys: a
// keyring whose active key is sealingKeyID and an SM2 key signingKeyID, for
// the default user ID. The keys exist only in memory, so what it seals
// cannot be opened after the process ends.
func GenerateProvider(sealingKeyID, signingKeyID string) (*crypto.LocalProvider, error) {
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring(sealingKeyID))
	if err != nil {
		return nil, err
	}
	signer, err := crypto.GenerateSigner(signingKeyID)
	if err != nil {
		return nil, err
	}
	return crypto.NewLocalProvider(keyring, signer, nil, crypto.DefaultUserID)
}

type handler struct {
	provider crypto.Provider
	apiKey   []byte
	logger   *slog.Logger
}

func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given := []byte(r.Header.Get(cloudapi.APIKeyHeader))
		if len(h.apiKey) == 0 || subtle.ConstantTimeCompare(given, h.apiKey) != 1 {
			h.reject(w, r, &jsonhttp.RequestError{Status: http.StatusUnauthorized, Code: cloudapi.CodeUnauthorized,
				Message: "API 密钥缺失或不正确。", Field: cloudapi.APIKeyHeader})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) seal(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.SealRequest
	if !h.decode(w, r, &request) {
		return
	}
	if len(request.Plaintext) > cloudapi.MaxPayloadBytes {
		h.reject(w, r, tooLarge("plaintext"))
		return
	}
	if active := h.provider.ActiveKeyID(); request.KeyID != "" && request.KeyID != active {
		h.reject(w, r, cryptoError(cloudapi.CodeUnknownKey, fmt.Sprintf("模拟服务只用当前密钥 %q 加密，请求的是 %q。", active, request.KeyID), "keyId"))
		return
	}
	ciphertext, err := h.provider.Seal(r.Context(), request.Plaintext, request.Context)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, cloudapi.SealResponse{KeyID: h.provider.ActiveKeyID(), Ciphertext: ciphertext})
}

func (h *handler) open(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.OpenRequest
	if !h.decode(w, r, &request) {
		return
	}
	plaintext, err := h.provider.Open(r.Context(), request.Ciphertext, request.Context)
	h.writeOpened(w, r, plaintext, err, func(plaintext []byte) any { return cloudapi.OpenResponse{Plaintext: plaintext} })
}

// dataKeyContext is the context under which the simulator wraps data keys,
// so a wrapped key does not open as data and data does not unwrap as a key.
const dataKeyContext = "cloudapi.data_key"

func (h *handler) generateDataKey(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.GenerateDataKeyRequest
	if !h.decode(w, r, &request) {
		return
	}
	if active := h.provider.ActiveKeyID(); request.KeyID != "" && request.KeyID != active {
		h.reject(w, r, cryptoError(cloudapi.CodeUnknownKey, fmt.Sprintf("模拟服务只用当前主密钥 %q 封装数据密钥，请求的是 %q。", active, request.KeyID), "keyId"))
		return
	}
	dataKey := make([]byte, cloudapi.DataKeySize)
	if _, err := rand.Read(dataKey); err != nil {
		h.fail(w, r, err)
		return
	}
	wrapped, err := h.provider.Seal(r.Context(), dataKey, dataKeyContext)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, cloudapi.DataKeyResponse{KeyID: h.provider.ActiveKeyID(), DataKey: dataKey, WrappedKey: wrapped})
}

func (h *handler) unwrapDataKey(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.UnwrapDataKeyRequest
	if !h.decode(w, r, &request) {
		return
	}
	dataKey, err := h.provider.Open(r.Context(), request.WrappedKey, dataKeyContext)
	keyID, _ := crypto.SealedKeyID(request.WrappedKey)
	h.writeOpened(w, r, dataKey, err, func(dataKey []byte) any {
		return cloudapi.DataKeyResponse{KeyID: keyID, DataKey: dataKey, WrappedKey: request.WrappedKey}
	})
}

// writeOpened writes the response of a decryption: the body that success
// builds from the plaintext, or the error that err maps to.
func (h *handler) writeOpened(w http.ResponseWriter, r *http.Request, plaintext []byte, err error, success func([]byte) any) {
	switch {
	case errors.Is(err, crypto.ErrMalformed):
		h.reject(w, r, cryptoError(cloudapi.CodeMalformedCiphertext, "密文格式不正确。", "ciphertext"))
	case errors.Is(err, crypto.ErrUnknownKey):
		h.reject(w, r, cryptoError(cloudapi.CodeUnknownKey, "密文所用的密钥不存在。", "ciphertext"))
	case errors.Is(err, crypto.ErrAuthenticationFailed):
		h.reject(w, r, cryptoError(cloudapi.CodeAuthenticationFailed, "密文认证失败：上下文不符或密文被改动。", "ciphertext"))
	case err != nil:
		h.fail(w, r, err)
	default:
		jsonhttp.Write(w, http.StatusOK, success(plaintext))
	}
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.IndexRequest
	if !h.decode(w, r, &request) {
		return
	}
	index, err := h.provider.Index(r.Context(), request.Domain, request.Value)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, cloudapi.IndexResponse{Index: index})
}

func (h *handler) sign(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.SignRequest
	if !h.decode(w, r, &request) {
		return
	}
	signature, err := h.provider.Sign(r.Context(), request.Message)
	switch {
	case errors.Is(err, crypto.ErrSigningUnavailable):
		h.reject(w, r, cryptoError(cloudapi.CodeSigningUnavailable, "模拟服务未配置签名密钥。", ""))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	// The simulator holds one signing key and one user ID, so it signs
	// only what names those.
	if request.KeyID != "" && request.KeyID != signature.KeyID {
		h.reject(w, r, cryptoError(cloudapi.CodeUnknownKey, fmt.Sprintf("模拟服务只有签名密钥 %q，请求的是 %q。", signature.KeyID, request.KeyID), "keyId"))
		return
	}
	if request.UserID != "" && request.UserID != signature.UserID {
		h.reject(w, r, jsonhttp.Invalid("userId", fmt.Sprintf("模拟服务只用用户标识 %q 签名。", signature.UserID)))
		return
	}
	jsonhttp.Write(w, http.StatusOK, cloudapi.SignResponse{KeyID: signature.KeyID, UserID: signature.UserID, Signature: signature.Value})
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	var request cloudapi.VerifyRequest
	if !h.decode(w, r, &request) {
		return
	}
	err := h.provider.Verify(r.Context(), request.Message, crypto.Signature{KeyID: request.KeyID, UserID: request.UserID, Value: request.Signature})
	switch {
	case errors.Is(err, crypto.ErrUnknownKey):
		h.reject(w, r, cryptoError(cloudapi.CodeUnknownKey, fmt.Sprintf("签名密钥 %q 不存在。", request.KeyID), "keyId"))
	case errors.Is(err, crypto.ErrInvalidSignature):
		jsonhttp.Write(w, http.StatusOK, cloudapi.VerifyResponse{Valid: false})
	case err != nil:
		// The remaining errors are invalid arguments, such as an empty
		// user ID.
		h.reject(w, r, jsonhttp.Invalid("userId", err.Error()))
	default:
		jsonhttp.Write(w, http.StatusOK, cloudapi.VerifyResponse{Valid: true})
	}
}

// decode reads the JSON body into request. When the body is invalid, it
// writes the error response and returns false.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, request any) bool {
	if err := jsonhttp.Decode(w, r, cloudapi.MaxBodyBytes, request); err != nil {
		h.reject(w, r, err)
		return false
	}
	return true
}

func (h *handler) reject(w http.ResponseWriter, r *http.Request, err *jsonhttp.RequestError) {
	h.logger.Info("crypto request rejected", "path", r.URL.Path, "error", err)
	jsonhttp.WriteRequestError(w, err)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.logger.Error("crypto request failed", "path", r.URL.Path, "error", err)
	jsonhttp.WriteError(w, http.StatusInternalServerError, cloudapi.CodeInternal, "密码服务内部错误。", "")
}

func cryptoError(code, message, field string) *jsonhttp.RequestError {
	return &jsonhttp.RequestError{Status: http.StatusUnprocessableEntity, Code: code, Message: message, Field: field}
}

func tooLarge(field string) *jsonhttp.RequestError {
	return &jsonhttp.RequestError{Status: http.StatusRequestEntityTooLarge, Code: cloudapi.CodeInvalidRequest,
		Message: fmt.Sprintf("数据超过 %d 字节上限。", cloudapi.MaxPayloadBytes), Field: field}
}
