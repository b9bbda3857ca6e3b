package supplement

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/masking"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/document"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// lookupRequest is the body of POST /api/v1/supplementary/lookup: either
// the registration number (typed, or sent by a USB QR scanner reading the
// registration form) or the child's identity document. The document goes
// in a body rather than the URL so it stays out of access logs.
type lookupRequest struct {
	RegistrationNumber string `json:"registrationNumber"`
	DocumentType       string `json:"documentType"`
	DocumentNumber     string `json:"documentNumber"`
	// Nationality is required for a passport only.
	Nationality string `json:"nationality"`
}

// registration is a registration row with its sealed fields.
type registration struct {
	Number            string         `db:"registration_number"`
	Year              int            `db:"enrolment_year"`
	ChildIndex        []byte         `db:"child_index"`
	ChildName         []byte         `db:"child_name"`
	ChildSex          string         `db:"child_sex"`
	ChildBirthDate    time.Time      `db:"child_birth_date"`
	DocumentType      string         `db:"child_document_type"`
	CategoryGroup     string         `db:"category_group"`
	ResidenceDistrict string         `db:"residence_district_code"`
	HukouDistrict     sql.NullString `db:"hukou_district_code"`
	Status            string         `db:"status"`
	Guardians         []byte         `db:"guardians"`
	FormValues        []byte         `db:"form_values"`
	OwnerIndex        []byte         `db:"owner_index"`
	InScope           bool           `db:"in_scope"`
}

// selectRegistration builds the query of one registration with its scope
// flag, ending in the caller's WHERE clause. Placeholder $1 is the lookup value and
// the scope condition starts at $2.
func selectRegistration(scope access.Scope, where string) (string, []any) {
	condition := scope.Filter(enrolment.RegistrationColumns, 2)
	q := `
		SELECT r.registration_number, r.enrolment_year, r.child_index, r.child_name, r.child_sex, r.child_birth_date,
		       r.child_document_type, r.category_group, r.residence_district_code, r.hukou_district_code, r.status, r.guardians,
		       r.form_values, r.owner_index, (` + condition.SQL + `) IS TRUE AS in_scope
		FROM registration r
		WHERE ` + where
	return q, condition.Args
}

// findRegistration returns the registration a lookup names. It returns
// errRegistrationNotFound when there is none and access.ErrOutOfScope when
// it lies outside the scope. With forUpdate the row stays locked until tx
// ends.
func findRegistration(ctx context.Context, db sqlx.QueryerContext, keyring *crypto.Keyring, scope access.Scope, request lookupRequest, now time.Time, forUpdate bool) (registration, error) {
	var where string
	var value any
	number := strings.TrimSpace(request.RegistrationNumber)
	switch {
	case number != "":
		// The message distinguishes a wrong length, a mistyped digit and an
		// application number, also for a QR code that is not a
		// registration form's.
		if err := enrol.CheckNumber("registrationNumber", "invalid_registration_number", number, enrol.KindRegistration); err != nil {
			return registration{}, err
		}
		where, value = "r.registration_number = $1", number
	case request.DocumentType != "" || request.DocumentNumber != "":
		index, err := childDocumentIndex(keyring, request, now)
		if err != nil {
			return registration{}, err
		}
		// A child registers once a year; the newest year is the one a
		// supplementary application is for.
		where, value = "r.child_index = $1 ORDER BY r.enrolment_year DESC LIMIT 1", index
	default:
		return registration{}, apierror.Invalid("registrationNumber", "missing_lookup",
			"请扫描登记表二维码，或输入登记编号、幼儿证件号码。")
	}
	if forUpdate {
		where += " FOR UPDATE OF r"
	}

	q, scopeArgs := selectRegistration(scope, where)
	var row registration
	err := sqlx.GetContext(ctx, db, &row, q, append([]any{value}, scopeArgs...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return row, errRegistrationNotFound
	}
	if err != nil {
		return row, err
	}
	if !row.InScope {
		return row, access.ErrOutOfScope
	}
	return row, nil
}

// childDocumentIndex returns the blind index of a child's identity
// document, computed as the edge computes it when the family registers
// (domain "child_document", document.IndexValue).
// NOTE: a child registered without a document has an index over the name,
// birth date and guardians' documents, so only the registration number
// finds that registration here.
func childDocumentIndex(keyring *crypto.Keyring, request lookupRequest, now time.Time) ([]byte, error) {
	documentType, err := document.ParseType(request.DocumentType)
	if err != nil || documentType == document.None {
		return nil, apierror.Invalid("documentType", "invalid_document_type", "请选择幼儿的证件类型。")
	}
	parsed, err := document.Parse(documentType, request.DocumentNumber, request.Nationality, now)
	if err != nil {
		return nil, err
	}
	return keyring.Index("child_document", parsed.IndexValue()), nil
}

// LookupResult is the response of the lookup: the registration as the
// supplementary page shows it, masked unless the role may see it whole.
type LookupResult struct {
	RegistrationNumber string `json:"registrationNumber"`
	Year               int    `json:"year"`
	ChildName          string `json:"childName"`
	ChildSex           string `json:"childSex"`
	ChildBirthDate     string `json:"childBirthDate"`
	DocumentType       string `json:"documentType"`
	ResidenceDistrict  string `json:"residenceDistrict"`
	ResidenceCode      string `json:"residenceDistrictCode"`
	// CategoryGroup is the registration's household category group; a
	// 补报名 takes a category of this group only.
	CategoryGroup   string         `json:"categoryGroup"`
	Status          string         `json:"status"`
	StatusLabel     string         `json:"statusLabel"`
	Guardians       []guardianView `json:"guardians"`
	HasPhone        bool           `json:"hasPhone"`
	Certificates    []certificate  `json:"certificates"`
	LiveApplication *liveView      `json:"liveApplication,omitempty"`
	Masked          bool           `json:"masked"`
}

type guardianView struct {
	Relation string `json:"relation"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
}

// liveView is the child's application that is neither returned nor
// deleted. A child may hold one such application a year.
type liveView struct {
	ApplicationNumber string `json:"applicationNumber"`
	District          string `json:"district"`
	Status            string `json:"status"`
	StatusLabel       string `json:"statusLabel"`
	Supplementary     bool   `json:"supplementary"`
	// Message explains why no supplementary application can be made.
	Message string `json:"message"`
}

// lookup handles POST /api/v1/supplementary/lookup.
func (h *Handlers) lookup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var request lookupRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	row, err := findRegistration(ctx, h.DB, h.Keyring, staff.Scope, request, h.Now(), false)
	if err != nil {
		return err
	}
	result, err := h.describe(ctx, row, masking.For(staff))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, result)
	return nil
}

func (h *Handlers) describe(ctx context.Context, row registration, policy masking.Policy) (LookupResult, error) {
	name, err := h.Keyring.Open(row.ChildName, enrol.ContextChildName)
	if err != nil {
		slog.Error("child name failed to open", "number", row.Number, "error", err)
		return LookupResult{}, errUnreadable
	}
	guardians, err := openGuardians(h.Keyring, row.Guardians)
	if err != nil {
		slog.Error("guardians failed to open", "number", row.Number, "error", err)
		return LookupResult{}, errUnreadable
	}
	form, err := openForm(h.Keyring, row.FormValues)
	if err != nil {
		slog.Error("registration form failed to open", "number", row.Number, "error", err)
		return LookupResult{}, errUnreadable
	}

	result := LookupResult{
		RegistrationNumber: row.Number, Year: row.Year, ChildName: policy.Name(string(name)),
		ChildSex:          map[string]string{"M": "男", "F": "女"}[row.ChildSex],
		ChildBirthDate:    row.ChildBirthDate.Format(time.DateOnly),
		DocumentType:      document.Type(row.DocumentType).Label(),
		ResidenceDistrict: h.districtName(row.ResidenceDistrict), ResidenceCode: row.ResidenceDistrict,
		CategoryGroup: row.CategoryGroup, Status: row.Status, StatusLabel: enrol.StatusLabel(row.Status),
		Guardians: []guardianView{}, Certificates: form.certificateList(), Masked: !policy.Unmasked,
	}
	for _, guardian := range guardians {
		phone := guardian.phone()
		result.HasPhone = result.HasPhone || phone != ""
		result.Guardians = append(result.Guardians, guardianView{
			Relation: enrolment.RelationLabels[guardian.relation()], Name: policy.Name(guardian.name()), Phone: policy.Phone(phone),
		})
	}

	live, err := liveApplication(ctx, h.DB, row.Year, row.ChildIndex)
	if err != nil {
		return LookupResult{}, err
	}
	if live != nil {
		result.LiveApplication = &liveView{
			ApplicationNumber: live.Number, District: h.districtName(live.DistrictCode),
			Status: live.Status, StatusLabel: enrol.StatusLabel(live.Status), Supplementary: live.Supplementary,
			Message: liveApplicationMessage(live, h.districtName(live.DistrictCode)),
		}
	}
	return result, nil
}

// application is the child's live application, if any.
type application struct {
	Number        string `db:"application_number"`
	DistrictCode  string `db:"district_code"`
	Status        string `db:"status"`
	Supplementary bool   `db:"supplementary"`
}

// liveApplication returns the child's application of the year that is
// neither returned nor deleted, or nil.
func liveApplication(ctx context.Context, db sqlx.QueryerContext, year int, childIndex []byte) (*application, error) {
	const q = `
		SELECT application_number, district_code, status, supplementary
		FROM application
		WHERE enrolment_year = $1 AND child_index = $2 AND status NOT IN ('returned', 'deleted')`
	var live application
	err := sqlx.GetContext(ctx, db, &live, q, year, childIndex)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &live, nil
}
