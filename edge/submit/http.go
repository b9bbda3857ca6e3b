package submit

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/formpdf"
)

// MaxSubmissionBytes bounds a submission's JSON body.
const MaxSubmissionBytes = 64 << 10

type receiptBody struct {
	ReceiptNumber string `json:"receiptNumber"`
	Status        string `json:"status"`
	StatusLabel   string `json:"statusLabel"`
	Duplicate     bool   `json:"duplicate,omitempty"`
}

// Outcome counts what happened to submissions, for metrics.
type Outcome func(kind, result string)

// Handlers are the HTTP handlers of the enrolment path.
type Handlers struct {
	Service *Service
	// PDF renders the filled registration form, at most cap(PDFSlots) at
	// a time.
	PDF      *formpdf.Renderer
	PDFSlots PDFLimiter
	// OnPDFBusy is called for each PDF request turned away because every
	// slot was taken. It may be nil.
	OnPDFBusy func()
	// Observe is told the result of every submission: accepted, duplicate,
	// conflict, rejected or failed. It may be nil.
	Observe Outcome
	// Admit takes a token from an entry's bucket ("registration", or the
	// district and category of an application) and returns the throttling
	// error when there is none. It may be nil.
	Admit func(ctx *fasthttp.RequestCtx, entry string) error
}

func (h *Handlers) observe(kind, result string) {
	if h.Observe != nil {
		h.Observe(kind, result)
	}
}

func (h *Handlers) answer(ctx *fasthttp.RequestCtx, subject, kind string, receipt Receipt, err error) error {
	if err != nil {
		result := "rejected"
		if apiErr := apierror.As(err); apiErr == nil || apiErr.Status >= 500 {
			result = "failed"
		} else if apiErr.Status == http.StatusConflict {
			result = "conflict"
		}
		h.observe(kind, result)
		return err
	}
	httpStatus, result := http.StatusAccepted, "accepted"
	status := enrolment.StatusAccepted
	if receipt.Duplicate {
		httpStatus, result = http.StatusOK, "duplicate"
		// The earlier submission may have moved on (已入库, 已核验).
		if current, err := h.Service.ReceiptStatus(ctx, subject, receipt.Number); err == nil && current.Status != "" {
			status = current.Status
		}
	}
	h.observe(kind, result)
	api.WriteJSON(ctx, httpStatus, receiptBody{
		ReceiptNumber: receipt.Number,
		Status:        status,
		StatusLabel:   enrolment.StatusLabel(status),
		Duplicate:     receipt.Duplicate,
	})
	return nil
}

// PostRegistration handles POST /api/v1/registrations.
func (h *Handlers) PostRegistration(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	var request precheck.RegistrationRequest
	if err := api.DecodeJSON(ctx, MaxSubmissionBytes, &request); err != nil {
		h.observe(enrolment.KindRegistration, "rejected")
		return err
	}
	if h.Admit != nil {
		if err := h.Admit(ctx, "registration"); err != nil {
			return err
		}
	}
	receipt, err := h.Service.Register(ctx, subject, &request)
	return h.answer(ctx, subject, enrolment.KindRegistration, receipt, err)
}

// PostApplication handles POST /api/v1/applications.
func (h *Handlers) PostApplication(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	var request precheck.ApplicationRequest
	if err := api.DecodeJSON(ctx, MaxSubmissionBytes, &request); err != nil {
		h.observe(enrolment.KindApplication, "rejected")
		return err
	}
	if err := h.admitApplication(ctx, &request); err != nil {
		return err
	}
	receipt, err := h.Service.Apply(ctx, subject, &request)
	return h.answer(ctx, subject, enrolment.KindApplication, receipt, err)
}

// admitApplication throttles per entry, keyed by district and category, for
// known pairs only, so that made-up values cannot grow the bucket table.
func (h *Handlers) admitApplication(ctx *fasthttp.RequestCtx, request *precheck.ApplicationRequest) error {
	c := h.Service.Catalogue.Current()
	if h.Admit == nil || c == nil {
		return nil
	}
	year, ok := c.CurrentYear()
	if !ok {
		return nil
	}
	if entry, ok := c.Entry(year.Year, request.DistrictCode, request.CategoryCode); ok {
		return h.Admit(ctx, strconv.FormatInt(entry.ID, 10))
	}
	return nil
}

type optionsBody struct {
	CategoryCode string        `json:"categoryCode"`
	CategoryName string        `json:"categoryName"`
	EntryID      int64         `json:"entryId"`
	MaxChoices   int           `json:"maxChoices"`
	Open         bool          `json:"open"`
	OpensAt      time.Time     `json:"opensAt"`
	ClosesAt     time.Time     `json:"closesAt"`
	Campuses     []CampusEntry `json:"campuses"`
	// Form is the application form of the entry, the district's own
	// version when it published one.
	Form *entryForm `json:"form,omitempty"`
}

// entryForm is a published form schema with its version, which the
// application must send back as schemaVersion.
type entryForm struct {
	Version int             `json:"version"`
	Body    json.RawMessage `json:"body"`
}

// CampusEntry is a campus as the parent's page lists it.
type CampusEntry struct {
	ID               int64  `json:"id"`
	KindergartenName string `json:"kindergartenName"`
	CampusName       string `json:"campusName"`
	DistrictCode     string `json:"districtCode"`
	StreetCode       string `json:"streetCode"`
	Address          string `json:"address"`
	Ownership        string `json:"ownership"`
	Inclusive        bool   `json:"inclusive"`
	Level            string `json:"level"`
}

// GetOptions handles GET /api/v1/registrations/{number}/options?district=.
func (h *Handlers) GetOptions(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	c, err := h.Service.catalogue()
	if err != nil {
		return err
	}
	number, _ := ctx.UserValue("number").(string)
	facts, err := h.Service.RegistrationFacts(ctx, h.Service.OwnerIndex(subject), number)
	if err != nil {
		return lookupError(err)
	}
	options, err := precheck.ApplicationOptions(facts, string(ctx.QueryArgs().Peek("district")), c, h.Service.Now())
	if err != nil {
		return err
	}
	var form *entryForm
	if found, ok := c.EntryForm(enrolment.KindApplication, options.Entry.DistrictCode, options.Entry.CategoryCode); ok {
		form = &entryForm{Version: found.Version, Body: found.Body}
	}
	campuses := make([]CampusEntry, 0, len(options.Campuses))
	for _, id := range options.Campuses {
		if campus, ok := c.Campus(id); ok {
			campuses = append(campuses, CampusEntry(campus))
		}
	}
	api.WriteJSON(ctx, http.StatusOK, optionsBody{
		CategoryCode: options.Category.Code,
		CategoryName: options.Category.Name,
		EntryID:      options.Entry.ID,
		MaxChoices:   options.Entry.MaxChoices,
		Open:         options.Open,
		OpensAt:      options.OpensAt,
		ClosesAt:     options.ClosesAt,
		Campuses:     campuses,
		Form:         form,
	})
	return nil
}

// GetReceipt handles GET /api/v1/receipts/{number}.
func (h *Handlers) GetReceipt(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	number, _ := ctx.UserValue("number").(string)
	status, err := h.Service.ReceiptStatus(ctx, subject, number)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	api.WriteJSON(ctx, http.StatusOK, status)
	return nil
}

// GetMyReceipts handles GET /api/v1/me/receipts.
func (h *Handlers) GetMyReceipts(ctx *fasthttp.RequestCtx) error {
	subject, err := api.RequireSubject(ctx)
	if err != nil {
		return err
	}
	statuses, err := h.Service.OwnerReceipts(ctx, subject)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	api.WriteJSON(ctx, http.StatusOK, map[string]any{"receipts": statuses})
	return nil
}
