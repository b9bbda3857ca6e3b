package enrolment

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/masking"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Names maps codes to the Chinese names pages show.
type Names struct {
	Districts  map[string]string
	Streets    map[string]string
	Categories map[string]string
	Groups     map[string]string
}

// LoadNames reads the names of districts, streets and categories.
func LoadNames(ctx context.Context, db *sqlx.DB) (*Names, error) {
	names := &Names{Districts: map[string]string{}, Streets: map[string]string{}, Categories: map[string]string{}, Groups: map[string]string{}}
	load := func(q string, into map[string]string) error {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var code, name string
			if err := rows.Scan(&code, &name); err != nil {
				return err
			}
			into[code] = name
		}
		return rows.Err()
	}
	for q, into := range map[string]map[string]string{
		`SELECT code, name FROM district`:                                names.Districts,
		`SELECT code, name FROM street`:                                  names.Streets,
		`SELECT code, name FROM household_category`:                      names.Categories,
		`SELECT DISTINCT group_code, group_name FROM household_category`: names.Groups,
	} {
		if err := load(q, into); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// Handlers serve the registration and application lists.
type Handlers struct {
	Store   *Store
	Keyring *crypto.Keyring
	Names   *Names
}

// Routes mounts the handlers.
func (h *Handlers) Routes(r chi.Router) {
	r.Get("/registrations", httpx.Handle(h.listRegistrations))
	r.Get("/registrations/{number}", httpx.Handle(h.getRegistration))
	r.Get("/applications", httpx.Handle(h.listApplications))
}

type registrationItem struct {
	RegistrationNumber string    `json:"registrationNumber"`
	Year               int       `json:"year"`
	ChildName          string    `json:"childName"`
	ChildSex           string    `json:"childSex"`
	ChildBirthDate     string    `json:"childBirthDate"`
	DocumentType       string    `json:"documentType"`
	CategoryGroup      string    `json:"categoryGroup"`
	HukouDistrict      string    `json:"hukouDistrict"`
	HukouProvince      string    `json:"hukouProvince,omitempty"`
	ResidenceDistrict  string    `json:"residenceDistrict"`
	ResidenceStreet    string    `json:"residenceStreet"`
	Status             string    `json:"status"`
	StatusLabel        string    `json:"statusLabel"`
	VerificationNote   string    `json:"verificationNote,omitempty"`
	AcceptedAt         time.Time `json:"acceptedAt"`
	RecordedAt         time.Time `json:"recordedAt"`
}

func (h *Handlers) registrationItem(row RegistrationRow) registrationItem {
	return registrationItem{
		RegistrationNumber: row.Number,
		Year:               row.Year,
		ChildName:          h.maskedName(row.ChildName, row.Number),
		ChildSex:           map[string]string{"M": "男", "F": "女"}[row.ChildSex],
		ChildBirthDate:     row.ChildBirthDate.Format(time.DateOnly),
		DocumentType:       documentLabels[row.DocumentType],
		CategoryGroup:      h.Names.Groups[row.CategoryGroup],
		HukouDistrict:      h.Names.Districts[row.HukouDistrict.String],
		HukouProvince:      row.HukouProvince.String,
		ResidenceDistrict:  h.Names.Districts[row.ResidenceDistrict],
		ResidenceStreet:    h.Names.Streets[row.ResidenceStreet],
		Status:             row.Status,
		StatusLabel:        enrol.StatusLabel(row.Status),
		VerificationNote:   row.VerificationNote.String,
		AcceptedAt:         row.AcceptedAt,
		RecordedAt:         row.RecordedAt,
	}
}

var documentLabels = map[string]string{
	"resident_id": "居民身份证", "hk_macau_permit": "港澳居民来往内地通行证", "taiwan_permit": "台湾居民来往大陆通行证",
	"hmt_residence_permit": "港澳台居民居住证", "passport": "护照", "none": "无证件",
}

// maskedName opens a sealed child name and masks it for a list page: the
// first and last characters stay ("张*明", "张*").
func (h *Handlers) maskedName(sealed []byte, number string) string {
	return MaskedChildName(h.Keyring, sealed, number)
}

// MaskedChildName opens the sealed child name of the record number and
// masks it. A name that does not open shows as （无法解密） and is logged,
// so one damaged record does not fail a whole list.
func MaskedChildName(keyring *crypto.Keyring, sealed []byte, number string) string {
	plain, err := keyring.Open(sealed, enrol.ContextChildName)
	if err != nil {
		slog.Error("child name does not open", "number", number, "error", err)
		return "（无法解密）"
	}
	return MaskName(string(plain))
}

// MaskName keeps the first and, for names of three or more characters, the
// last character of a name, and stars the rest.
func MaskName(name string) string { return masking.MaskName(name) }

var registrationStatuses = map[string]bool{
	enrol.StatusRecorded: true, enrol.StatusVerified: true, enrol.StatusNeedsManualVerification: true,
}

var applicationStatuses = map[string]bool{
	enrol.StatusRecorded: true, enrol.StatusDocumentsVerified: true, enrol.StatusReturned: true,
	enrol.StatusAdmitted: true, enrol.StatusNotAdmitted: true, enrol.StatusDeleted: true,
}

// statusFilter rejects a status the list cannot contain, so a typo is not
// mistaken for an empty result.
func statusFilter(status string, known map[string]bool) (string, error) {
	if status != "" && !known[status] {
		return "", apierror.Invalid("status", "invalid_status", "状态筛选条件无效，请重新选择。")
	}
	return status, nil
}

// districtFilter checks a district filter: a known district code within the
// staff member's scope.
func (h *Handlers) districtFilter(staff *access.Staff, district string) (string, error) {
	if district == "" {
		return "", nil
	}
	if _, ok := h.Names.Districts[district]; !ok {
		return "", apierror.Invalid("district", "unknown_district", "所选的区不存在，请重新选择。")
	}
	if !staff.Scope.AllowsDistrict(district) {
		return "", access.ErrOutOfScope
	}
	return district, nil
}

// numberFilter checks a receipt number filter: 12 digits (registration) or
// 14 digits (application), with a valid check digit.
func numberFilter(number string, kinds ...string) (string, error) {
	if number == "" {
		return "", nil
	}
	if err := enrol.CheckNumber("number", "invalid_number", number, kinds...); err != nil {
		return "", err
	}
	return number, nil
}

type listBody[T any] struct {
	Total int `json:"total"`
	Page  int `json:"page"`
	Size  int `json:"size"`
	Items []T `json:"items"`
}

func (h *Handlers) listRegistrations(w http.ResponseWriter, r *http.Request) error {
	staff := access.StaffFrom(r.Context())
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	status, err := statusFilter(query.Get("status"), registrationStatuses)
	if err != nil {
		return err
	}
	district, err := h.districtFilter(staff, query.Get("district"))
	if err != nil {
		return err
	}
	number, err := numberFilter(query.Get("number"), enrol.KindRegistration)
	if err != nil {
		return err
	}
	filter := RegistrationFilter{Status: status, Number: number, DistrictCode: district, Limit: page.Size, Offset: page.Offset()}
	rows, total, err := h.Store.ListRegistrations(r.Context(), staff.Scope, filter)
	if err != nil {
		return err
	}
	items := make([]registrationItem, 0, len(rows))
	for _, row := range rows {
		items = append(items, h.registrationItem(row))
	}
	httpx.WriteJSON(w, http.StatusOK, listBody[registrationItem]{Total: total, Page: page.Number, Size: page.Size, Items: items})
	return nil
}

func (h *Handlers) getRegistration(w http.ResponseWriter, r *http.Request) error {
	staff := access.StaffFrom(r.Context())
	number := chi.URLParam(r, "number")
	if err := enrol.CheckNumber("number", "invalid_registration_number", number, enrol.KindRegistration); err != nil {
		return err
	}
	row, err := h.Store.GetRegistration(r.Context(), staff.Scope, number)
	if errors.Is(err, ErrNotFound) {
		return apierror.ErrNotFound
	}
	if err != nil {
		return err
	}
	detail, err := h.registrationDetail(row, masking.For(staff))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, detail)
	return nil
}

// registrationDetail is a registration as its detail page shows it: the
// list item with the child's document number and the guardians, masked
// unless the staff member's role may see them whole.
type registrationDetail struct {
	registrationItem
	ChildDocumentNumber string           `json:"childDocumentNumber"`
	Guardians           []guardianDetail `json:"guardians"`
	// Masked is true when document numbers and phones are masked.
	Masked bool `json:"masked"`
}

type guardianDetail struct {
	Relation       string `json:"relation"`
	Name           string `json:"name"`
	Phone          string `json:"phone"`
	DocumentType   string `json:"documentType"`
	DocumentNumber string `json:"documentNumber"`
}

// sealedGuardian is the part of a sealed guardian (the edge's
// precheck.Guardian in JSON) that the detail shows.
type sealedGuardian struct {
	Relation       string `json:"relation"`
	Name           string `json:"name"`
	Phone          string `json:"phone"`
	DocumentType   string `json:"documentType"`
	DocumentNumber string `json:"documentNumber"`
}

// RelationLabels names the guardian relations the edge accepts.
var RelationLabels = map[string]string{"father": "父亲", "mother": "母亲", "grandparent": "祖父母/外祖父母", "other": "其他监护人"}

// errUnreadable is returned for a registration whose sealed values do not open.
var errUnreadable = apierror.New(http.StatusInternalServerError, "sealed_data_unreadable", "该登记的加密信息无法解密，请联系系统管理员。")

func (h *Handlers) registrationDetail(row RegistrationRow, policy masking.Policy) (registrationDetail, error) {
	detail := registrationDetail{registrationItem: h.registrationItem(row), Guardians: []guardianDetail{}, Masked: !policy.Unmasked}
	name, err := h.Keyring.Open(row.ChildName, enrol.ContextChildName)
	if err != nil {
		slog.Error("child name does not open", "number", row.Number, "error", err)
		return detail, errUnreadable
	}
	detail.ChildName = policy.Name(string(name))
	if row.ChildDocumentNumber != nil {
		number, err := h.Keyring.Open(row.ChildDocumentNumber, enrol.ContextChildDocumentNumber)
		if err != nil {
			slog.Error("child document number does not open", "number", row.Number, "error", err)
			return detail, errUnreadable
		}
		detail.ChildDocumentNumber = policy.DocumentNumber(string(number))
	}
	plain, err := h.Keyring.Open(row.Guardians, enrol.ContextGuardians)
	if err != nil {
		slog.Error("guardians do not open", "number", row.Number, "error", err)
		return detail, errUnreadable
	}
	var guardians []sealedGuardian
	if err := json.Unmarshal(plain, &guardians); err != nil {
		slog.Error("guardians do not decode", "number", row.Number, "error", err)
		return detail, errUnreadable
	}
	for _, guardian := range guardians {
		detail.Guardians = append(detail.Guardians, guardianDetail{
			Relation: RelationLabels[guardian.Relation], Name: policy.Name(guardian.Name), Phone: policy.Phone(guardian.Phone),
			DocumentType:   documentLabels[guardian.DocumentType],
			DocumentNumber: policy.DocumentNumber(guardian.DocumentNumber),
		})
	}
	return detail, nil
}

type applicationItem struct {
	ApplicationNumber  string    `json:"applicationNumber"`
	RegistrationNumber string    `json:"registrationNumber"`
	ChildName          string    `json:"childName"`
	District           string    `json:"district"`
	Category           string    `json:"category"`
	Choices            []string  `json:"choices"`
	Status             string    `json:"status"`
	StatusLabel        string    `json:"statusLabel"`
	AcceptedAt         time.Time `json:"acceptedAt"`
	RecordedAt         time.Time `json:"recordedAt"`
}

func (h *Handlers) listApplications(w http.ResponseWriter, r *http.Request) error {
	staff := access.StaffFrom(r.Context())
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	status, err := statusFilter(query.Get("status"), applicationStatuses)
	if err != nil {
		return err
	}
	district, err := h.districtFilter(staff, query.Get("district"))
	if err != nil {
		return err
	}
	number, err := numberFilter(query.Get("number"), enrol.KindRegistration, enrol.KindApplication)
	if err != nil {
		return err
	}
	rows, total, err := h.Store.ListApplications(r.Context(), staff.Scope,
		ApplicationFilter{Status: status, Number: number, DistrictCode: district, Limit: page.Size, Offset: page.Offset()})
	if err != nil {
		return err
	}
	items := make([]applicationItem, 0, len(rows))
	for _, row := range rows {
		items = append(items, applicationItem{
			ApplicationNumber:  row.Number,
			RegistrationNumber: row.RegistrationNumber,
			ChildName:          h.maskedName(row.ChildName, row.RegistrationNumber),
			District:           h.Names.Districts[row.DistrictCode],
			Category:           h.Names.Categories[row.CategoryCode],
			Choices:            row.CampusNames,
			Status:             row.Status,
			StatusLabel:        enrol.StatusLabel(row.Status),
			AcceptedAt:         row.AcceptedAt,
			RecordedAt:         row.RecordedAt,
		})
	}
	httpx.WriteJSON(w, http.StatusOK, listBody[applicationItem]{Total: total, Page: page.Number, Size: page.Size, Items: items})
	return nil
}
