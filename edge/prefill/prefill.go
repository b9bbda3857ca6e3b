// Package prefill fetches a family's e-certificates (用证) from the
// certificate API while the parent fills in the form, behind a circuit
// breaker with a tight timeout, and accepts uploaded certificate files when
// the API cannot help. The submit path never waits for it.
package prefill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// Certificate is one e-certificate returned by the certificate API.
type Certificate struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Number   string `json:"number"`
	IssuedAt string `json:"issuedAt"`
	Issuer   string `json:"issuer"`
}

// errRejected marks a 4xx answer: the request was wrong, the service is not
// failing, so the breaker does not count it.
var errRejected = errors.New("certificate API rejected the request")

// Client calls the certificate API through a circuit breaker.
type Client struct {
	baseURL string
	http    *http.Client
	timeout time.Duration
	breaker *gobreaker.CircuitBreaker[[]Certificate]
}

// DefaultBreakerWindow is the breaker's window when NewClient gets none.
const DefaultBreakerWindow = 10 * time.Second

// NewClient returns a Client. Each call gets timeout. The breaker opens
// after 5 consecutive failures, or half the calls failing among at least 10,
// within one window (zero means DefaultBreakerWindow), and tries again
// after openFor.
func NewClient(baseURL string, timeout, openFor, window time.Duration, onStateChange func(name string, from, to gobreaker.State)) *Client {
	if window <= 0 {
		window = DefaultBreakerWindow
	}
	settings := gobreaker.Settings{
		Name:        "certificates",
		MaxRequests: 2,
		Interval:    window,
		Timeout:     openFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			if counts.ConsecutiveFailures >= 5 {
				return true
			}
			return counts.Requests >= 10 && counts.TotalFailures*2 >= counts.Requests
		},
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, errRejected) || errors.Is(err, context.Canceled)
		},
		OnStateChange: onStateChange,
	}
	return &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Timeout: timeout},
		timeout: timeout,
		breaker: gobreaker.NewCircuitBreaker[[]Certificate](settings),
	}
}

// State returns the breaker's state.
func (c *Client) State() gobreaker.State { return c.breaker.State() }

// HTTPClient returns the client's HTTP client, so the caller can wrap its
// transport.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Query returns the holder's certificates of the given types. It fails fast
// with gobreaker.ErrOpenState while the breaker is open.
func (c *Client) Query(ctx context.Context, documentType, documentNumber string, types []string) ([]Certificate, error) {
	return c.breaker.Execute(func() ([]Certificate, error) {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		body, _ := json.Marshal(map[string]any{
			"holderDocumentType": documentType, "holderDocumentNumber": documentNumber, "certificateTypes": types,
		})
		request, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/v1/certificates/query", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		request.Header.Set("Content-Type", "application/json")
		response, err := c.http.Do(request)
		if err != nil {
			return nil, err
		}
		defer response.Body.Close()
		data, err := io.ReadAll(io.LimitReader(response.Body, 256<<10))
		if err != nil {
			return nil, err
		}
		switch {
		case response.StatusCode == http.StatusNotFound:
			return []Certificate{}, nil // the holder has none of the types asked for
		case response.StatusCode >= 400 && response.StatusCode < 500:
			return nil, fmt.Errorf("%w: status %d", errRejected, response.StatusCode)
		case response.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("certificate API status %d", response.StatusCode)
		}
		var answer struct {
			Certificates []Certificate `json:"certificates"`
		}
		if err := json.Unmarshal(data, &answer); err != nil {
			return nil, fmt.Errorf("decode certificate API answer: %w", err)
		}
		return answer.Certificates, nil
	})
}

type prefillRequest struct {
	DocumentType     string   `json:"documentType"`
	DocumentNumber   string   `json:"documentNumber"`
	CertificateTypes []string `json:"certificateTypes"`
	// DistrictCode is the residence district chosen on the form being
	// filled, which the call counts in; empty before the parent chose one.
	DistrictCode string `json:"districtCode"`
}

// fetchedCertificate is a certificate as the parent's page sees it: the
// number masked, the full one inside the prefill token.
type fetchedCertificate struct {
	Type         string `json:"type"`
	Name         string `json:"name"`
	MaskedNumber string `json:"maskedNumber"`
	IssuedAt     string `json:"issuedAt"`
	Issuer       string `json:"issuer"`
	PrefillToken string `json:"prefillToken"`
}

// prefillAnswer is the response when the certificate service cannot be
// used, and prefillFound the response when it was: its certificates list
// is present even when empty.
type prefillAnswer struct {
	Available bool   `json:"available"`
	Message   string `json:"message,omitempty"`
}

type prefillFound struct {
	Available    bool                 `json:"available"`
	Certificates []fetchedCertificate `json:"certificates"`
}

const fallbackMessage = "电子证照服务暂时无法使用，请拍照或扫描后手动上传证照。"

// knownTypes are the types the certificate API serves, the same list the
// certificate-call panel compares each district's forms with.
var knownTypes = func() map[string]bool {
	types := make(map[string]bool, len(enrolment.CertificateAPITypes))
	for _, t := range enrolment.CertificateAPITypes {
		types[t.Code] = true
	}
	return types
}()

// Handlers serve prefill and uploads.
type Handlers struct {
	Client  *Client
	Keyring *crypto.Keyring
	Now     func() time.Time
	// Observe is told each prefill's result: ok, fallback or rejected. It
	// may be nil.
	Observe func(result string)
	// Admit takes a token from the parent's look-up bucket and returns the
	// throttling error when there is none. It may be nil.
	Admit func(ctx *fasthttp.RequestCtx, subject string) error
	// Counter counts each call that reaches the certificate API for the
	// dashboards. It may be nil.
	Counter *CallCounter
	// DistrictKnown reports whether a district code is one of the
	// catalogue's. It may be nil only when Counter is nil.
	DistrictKnown func(code string) bool
}

func (h *Handlers) observe(result string) {
	if h.Observe != nil {
		h.Observe(result)
	}
}

// PostPrefill handles POST /api/v1/prefill/certificates. A failing or
// open-breaker certificate API is not an error for the parent: the answer
// says to upload instead.
func (h *Handlers) PostPrefill(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	var request prefillRequest
	if err := api.DecodeJSON(ctx, 4<<10, &request); err != nil {
		return err
	}
	documentType, err := document.ParseType(request.DocumentType)
	if err != nil {
		return apierror.As(err).WithField("documentType")
	}
	parsed, err := document.Parse(documentType, request.DocumentNumber, "", h.Now())
	if err != nil && documentType != document.Passport {
		return apierror.As(err).WithField("documentNumber")
	}
	if documentType == document.Passport || documentType == document.None {
		h.observe("rejected")
		return apierror.Invalid("documentType", "prefill_not_supported", "该证件类型暂不支持调取电子证照，请手动上传。")
	}
	if len(request.CertificateTypes) == 0 || len(request.CertificateTypes) > len(knownTypes) {
		return apierror.Invalid("certificateTypes", "invalid_certificate_types", "请选择要调取的证照类型。")
	}
	for _, certificateType := range request.CertificateTypes {
		if !knownTypes[certificateType] {
			return apierror.Invalid("certificateTypes", "invalid_certificate_types", "证照类型无效，请刷新页面后重试。")
		}
	}
	district := enrolment.UnknownDistrict
	if request.DistrictCode != "" && h.Counter != nil {
		if !h.DistrictKnown(request.DistrictCode) {
			return apierror.Invalid("districtCode", "unknown_district", "所选的区不存在，请刷新页面后重试。")
		}
		district = request.DistrictCode
	}

	// The look-up budget is spent only on a valid request that reaches the
	// certificate API.
	if h.Admit != nil {
		if err := h.Admit(ctx, subject); err != nil {
			return err
		}
	}
	// The client's deadline must not hang off the pooled RequestCtx (see
	// api.WithTimeout), and the client keeps honouring other callers'
	// cancellation, so the handler detaches here.
	certificates, err := h.Client.Query(context.WithoutCancel(ctx), string(parsed.Type), parsed.Number, request.CertificateTypes)
	owner := h.Keyring.Index("owner", []byte(subject))
	if h.Counter != nil {
		h.Counter.CountLater(Call{
			District: district, Owner: owner, Outcomes: outcomes(request.CertificateTypes, certificates, err != nil), At: h.Now(),
		})
	}
	if err != nil {
		if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
			slog.Warn("certificate prefill failed", "request_id", api.RequestID(ctx), "error", err)
		}
		h.observe("fallback")
		api.WriteJSON(ctx, http.StatusOK, prefillAnswer{Available: false, Message: fallbackMessage})
		return nil
	}
	h.observe("ok")
	holder := string(parsed.Type) + ":" + parsed.Number
	expires := h.Now().Add(TokenTTL)
	fetched := make([]fetchedCertificate, 0, len(certificates))
	for _, certificate := range certificates {
		fetched = append(fetched, fetchedCertificate{
			Type: certificate.Type, Name: certificate.Name, MaskedNumber: MaskNumber(certificate.Number),
			IssuedAt: certificate.IssuedAt, Issuer: certificate.Issuer,
			PrefillToken: SealToken(h.Keyring, owner, Fetched{Type: certificate.Type, Number: certificate.Number, Holder: holder, ExpiresAt: expires}),
		})
	}
	api.WriteJSON(ctx, http.StatusOK, prefillFound{Available: true, Certificates: fetched})
	return nil
}
