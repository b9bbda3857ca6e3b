package forms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Audited actions.
const (
	ActionFieldCreate       = "form.field.create"
	ActionFieldUpdate       = "form.field.update"
	ActionFieldDelete       = "form.field.delete"
	ActionCertificateCreate = "form.certificate.create"
	ActionCertificateUpdate = "form.certificate.update"
	ActionCertificateDelete = "form.certificate.delete"
	ActionDraftSave         = "form.draft.save"
	ActionPublish           = "form.publish"
)

// maxBodyBytes limits a request body. A design of 10 sections of 40 items
// fits well within it.
const maxBodyBytes = 64 << 10

// Publisher publishes the edge's configuration snapshot, as
// *publish.Publisher does.
type Publisher interface {
	Publish(ctx context.Context) (*snapshot.Snapshot, error)
}

// Handlers serve the forms API.
type Handlers struct {
	DB    *sqlx.DB
	Trail *audit.Trail
	// Publisher, when not nil, publishes the edge snapshot after a form is
	// published, so parents get the new version at once.
	Publisher Publisher
	// Keyring opens the sealed form values of stored submissions.
	Keyring *crypto.Keyring
	// UploadDir is the edge's folder of sealed certificate uploads.
	UploadDir string
}

// Routes mounts the handlers, each group behind its permission. The caller
// mounts them under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/forms/fields", httpx.Handle(h.listFields))
		r.Get("/forms/certificates", httpx.Handle(h.listCertificates))
		r.Get("/forms/categories", httpx.Handle(h.listCategories))
		r.Get("/forms/designs/{kind}", httpx.Handle(h.getDesign))
		r.Get("/forms/designs/{kind}/versions/{version}", httpx.Handle(h.getVersion))
		r.Post("/forms/designs/{kind}/preview", httpx.Handle(h.preview))
	})
	r.Group(func(r chi.Router) {
		// Filled values are personal data, so they need the enrolment
		// permission as well.
		r.Use(access.Require(PermissionRead), access.Require(PermissionEnrolmentRead))
		r.Get("/forms/filled/{number}", httpx.Handle(h.getFilled))
		r.Get("/forms/filled/{number}/files/{fileId}", httpx.Handle(h.getFilledFile))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Post("/forms/fields", httpx.Handle(h.createField))
		r.Put("/forms/fields/{id}", httpx.Handle(h.updateField))
		r.Delete("/forms/fields/{id}", httpx.Handle(h.deleteField))
		r.Post("/forms/certificates", httpx.Handle(h.createCertificate))
		r.Put("/forms/certificates/{id}", httpx.Handle(h.updateCertificate))
		r.Delete("/forms/certificates/{id}", httpx.Handle(h.deleteCertificate))
		r.Put("/forms/designs/{kind}", httpx.Handle(h.saveDraft))
		r.Post("/forms/designs/{kind}/publish", httpx.Handle(h.publish))
	})
}

func parseID(value string) (int64, error) {
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil || id <= 0 {
		return 0, apierror.Invalid("id", "invalid_id", "编号无效，请刷新页面后重试。")
	}
	return id, nil
}

// libraryDistrict returns the district whose overrides a library request
// is about: the query's "district", else a district staff member's own. It
// returns access.ErrOutOfScope for a district outside the staff member's
// scope.
func libraryDistrict(r *http.Request, staff *access.Staff) (string, error) {
	district := r.URL.Query().Get("district")
	if district == "" && staff.Scope.Level == access.LevelDistrict {
		district = staff.Scope.DistrictCode
	}
	if district == "" {
		return "", nil
	}
	if err := checkDistrictCode(district, "district"); err != nil {
		return "", err
	}
	if !staff.Scope.AllowsDistrict(district) {
		return "", access.ErrOutOfScope
	}
	return district, nil
}

// LibraryBody is the response of the library lists: the city rows, the
// district's overrides, and the effective rows its forms use (an enabled
// override, else an enabled city row).
type LibraryBody[T any] struct {
	DistrictCode string `json:"districtCode,omitempty"`
	City         []T    `json:"city"`
	Overrides    []T    `json:"overrides"`
}

// listFields handles GET /api/v1/forms/fields?district=.
func (h *Handlers) listFields(w http.ResponseWriter, r *http.Request) error {
	staff := access.StaffFrom(r.Context())
	district, err := libraryDistrict(r, staff)
	if err != nil {
		return err
	}
	fields, err := listFields(r.Context(), h.DB, staff.Scope, district)
	if err != nil {
		return err
	}
	body := LibraryBody[Field]{DistrictCode: district, City: []Field{}, Overrides: []Field{}}
	for _, field := range fields {
		if field.DistrictCode == "" {
			body.City = append(body.City, field)
		} else {
			body.Overrides = append(body.Overrides, field)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// listCertificates handles GET /api/v1/forms/certificates?district=.
func (h *Handlers) listCertificates(w http.ResponseWriter, r *http.Request) error {
	staff := access.StaffFrom(r.Context())
	district, err := libraryDistrict(r, staff)
	if err != nil {
		return err
	}
	certificates, err := listCertificates(r.Context(), h.DB, staff.Scope, district)
	if err != nil {
		return err
	}
	body := LibraryBody[Certificate]{DistrictCode: district, City: []Certificate{}, Overrides: []Certificate{}}
	for _, certificate := range certificates {
		if certificate.DistrictCode == "" {
			body.City = append(body.City, certificate)
		} else {
			body.Overrides = append(body.Overrides, certificate)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// Category is a household category, the key of a district's entry forms.
type Category struct {
	Code      string `db:"code" json:"code"`
	Name      string `db:"name" json:"name"`
	GroupName string `db:"group_name" json:"groupName"`
}

// listCategories handles GET /api/v1/forms/categories: the household
// categories in display order, which are public reference data.
func (h *Handlers) listCategories(w http.ResponseWriter, r *http.Request) error {
	categories := []Category{}
	const q = `SELECT code, name, group_name FROM household_category ORDER BY sort_order`
	if err := h.DB.SelectContext(r.Context(), &categories, q); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": categories})
	return nil
}

// prepareOverride checks the district of a new library row: district staff
// always write their own district's override, and an override needs a city
// row with the same code.
func prepareOverride(ctx context.Context, tx *sqlx.Tx, staff *access.Staff, table string, district *string, code string) error {
	if *district == "" && staff.Scope.Level == access.LevelDistrict {
		*district = staff.Scope.DistrictCode
	}
	if *district == "" {
		return nil
	}
	if err := checkDistrictCode(*district, "districtCode"); err != nil {
		return err
	}
	exists, err := cityRowExists(ctx, tx, table, code)
	if err != nil {
		return err
	}
	if !exists {
		return ErrCityRowRequired
	}
	return nil
}

func (h *Handlers) checkDictionary(ctx context.Context, field Field) error {
	if field.DictionaryCode == "" {
		return nil
	}
	exists, err := dictionaryExists(ctx, h.DB, field.DictionaryCode)
	if err != nil {
		return err
	}
	if !exists {
		return apierror.Invalid("dictionaryCode", "dictionary_not_found", "所选数据字典不存在，请重新选择。")
	}
	return nil
}

// createField handles POST /api/v1/forms/fields.
func (h *Handlers) createField(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var field Field
	if err := httpx.DecodeJSON(r, maxBodyBytes, &field); err != nil {
		return err
	}
	if field.Linkage == nil {
		field.Linkage = []LinkageRule{}
	}
	field.ID, field.Enabled = 0, true
	if err := field.Validate(); err != nil {
		return err
	}
	if err := h.checkDictionary(ctx, field); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := prepareOverride(ctx, tx, staff, "form_field", &field.DistrictCode, field.Code); err != nil {
		return err
	}
	field, err = insertField(ctx, tx, staff.Scope, field)
	if errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionFieldCreate, "form_field", field.ID, field.DistrictCode, field.Code, nil, field); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, field)
	return nil
}

// updateField handles PUT /api/v1/forms/fields/{id}. The code and district
// of a row cannot change.
func (h *Handlers) updateField(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var request Field
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stored, inScope, err := lockField(ctx, tx, staff.Scope, id)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}
	field := request
	field.ID, field.Code, field.DistrictCode = stored.ID, stored.Code, stored.DistrictCode
	if field.Linkage == nil {
		field.Linkage = []LinkageRule{}
	}
	if err := field.Validate(); err != nil {
		return err
	}
	if err := h.checkDictionary(ctx, field); err != nil {
		return err
	}
	field, err = updateField(ctx, tx, staff.Scope, field)
	if errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionFieldUpdate, "form_field", field.ID, field.DistrictCode, field.Code, stored, field); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, field)
	return nil
}

// deleteField handles DELETE /api/v1/forms/fields/{id}. Published forms
// keep the field, because they hold a copy of it.
func (h *Handlers) deleteField(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stored, inScope, err := lockField(ctx, tx, staff.Scope, id)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}

	if err := deleteRow(ctx, tx, staff.Scope, "form_field", id); errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	} else if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionFieldDelete, "form_field", id, stored.DistrictCode, stored.Code, stored, nil); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createCertificate handles POST /api/v1/forms/certificates.
func (h *Handlers) createCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var certificate Certificate
	if err := httpx.DecodeJSON(r, maxBodyBytes, &certificate); err != nil {
		return err
	}
	certificate.ID, certificate.Enabled = 0, true
	if err := certificate.Validate(); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := prepareOverride(ctx, tx, staff, "form_certificate", &certificate.DistrictCode, certificate.Code); err != nil {
		return err
	}
	certificate, err = insertCertificate(ctx, tx, staff.Scope, certificate)
	if errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionCertificateCreate, "form_certificate", certificate.ID, certificate.DistrictCode,
		certificate.Code, nil, certificate); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, certificate)
	return nil
}

// updateCertificate handles PUT /api/v1/forms/certificates/{id}.
func (h *Handlers) updateCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var request Certificate
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stored, inScope, err := lockCertificate(ctx, tx, staff.Scope, id)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}
	certificate := request
	certificate.ID, certificate.Code, certificate.DistrictCode = stored.ID, stored.Code, stored.DistrictCode
	if err := certificate.Validate(); err != nil {
		return err
	}
	certificate, err = updateCertificate(ctx, tx, staff.Scope, certificate)
	if errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionCertificateUpdate, "form_certificate", certificate.ID, certificate.DistrictCode,
		certificate.Code, stored, certificate); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, certificate)
	return nil
}

// deleteCertificate handles DELETE /api/v1/forms/certificates/{id}.
func (h *Handlers) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stored, inScope, err := lockCertificate(ctx, tx, staff.Scope, id)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}

	if err := deleteRow(ctx, tx, staff.Scope, "form_certificate", id); errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	} else if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionCertificateDelete, "form_certificate", id, stored.DistrictCode, stored.Code,
		stored, nil); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// record appends the audit event of a change inside its transaction.
func (h *Handlers) record(ctx context.Context, tx *sqlx.Tx, r *http.Request, staff *access.Staff, action, resource string,
	id int64, district, detail string, before, after any) error {
	event := audit.Event{
		Action: action, Resource: resource, ResourceID: strconv.FormatInt(id, 10),
		DistrictCode: district, Before: before, After: after, Detail: detail,
	}
	return h.Trail.RecordTx(ctx, tx, r, staff, event)
}

// republish publishes the edge snapshot after a committed publication. A
// failure is logged and not returned, because the version itself is saved
// and the edge picks it up with the next publication.
func (h *Handlers) republish(ctx context.Context, key FormKey, version int) {
	if h.Publisher == nil {
		return
	}
	if _, err := h.Publisher.Publish(context.WithoutCancel(ctx)); err != nil {
		slog.Error("edge snapshot not republished after a form was published; the edge serves the previous version until the next publication",
			"kind", key.Kind, "district", key.DistrictCode, "category", key.CategoryCode, "version", version, "error", err)
	}
}
