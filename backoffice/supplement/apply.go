package supplement

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/person"
)

// maxCertificates bounds the certificates one supplementary application
// records; the edge accepts five types.
const maxCertificates = 5

// applyRequest is the body of POST /api/v1/supplementary/applications.
type applyRequest struct {
	RegistrationNumber string `json:"registrationNumber"`
	CampusID           int64  `json:"campusId"`
	CategoryCode       string `json:"categoryCode"`
	// GuardianPhone completes the first guardian's phone when the
	// registration has none, so the family can get the SMS.
	GuardianPhone string               `json:"guardianPhone"`
	Certificates  []certificateRequest `json:"certificates"`
	Note          string               `json:"note"`
}

type certificateRequest struct {
	Type   string `json:"type"`
	Number string `json:"number"`
	Holder string `json:"holder"`
}

// ApplyResult is the response to a supplementary application.
type ApplyResult struct {
	ApplicationNumber  string `json:"applicationNumber"`
	RegistrationNumber string `json:"registrationNumber"`
	Status             string `json:"status"`
	StatusLabel        string `json:"statusLabel"`
	District           string `json:"district"`
	Campus             string `json:"campus"`
	// SMSID is the outbox row of the 报名成功 message.
	SMSID int64 `json:"smsId"`
	// ParentStatusSynced is false when Redis could not be updated. The
	// parent's page then lacks the application, and a parent's own
	// application is refused only when the drainer meets the database's
	// unique index of live applications.
	ParentStatusSynced bool `json:"parentStatusSynced"`
}

// applicationForm is the sealed form values of a supplementary
// application: who made it and why.
type applicationForm struct {
	Supplementary supplementaryFacts `json:"supplementary"`
}

type supplementaryFacts struct {
	StaffID   int64  `json:"staffId"`
	StaffName string `json:"staffName"`
	Note      string `json:"note,omitempty"`
}

// campus is the campus chosen, with what the application needs.
type campus struct {
	ID           int64  `db:"id"`
	Name         string `db:"name"`
	Kindergarten string `db:"kindergarten"`
	DistrictCode string `db:"district_code"`
}

var (
	errCampusNotFound = apierror.Invalid("campusId", "campus_not_found", "所选的园所不存在，请重新选择。")
	errEntryNotFound  = apierror.Invalid("categoryCode", "entry_not_found",
		"该区本年度没有这一类别的报名入口，请重新选择报名类别。")
	errPhoneRequired = apierror.Invalid("guardianPhone", "guardian_phone_required",
		"登记中没有监护人手机号码，请补录，用于发送报名成功短信。")
	errPhoneNotMissing = apierror.Invalid("guardianPhone", "guardian_phone_present",
		"登记中已有监护人手机号码，无需补录。")
)

// alreadyApplied returns the conflict for a child with a live application.
func alreadyApplied(live *application, districtName string) error {
	return apierror.New(http.StatusConflict, "already_applied", liveApplicationMessage(live, districtName)).
		WithDetail("applicationNumber", live.Number)
}

// liveApplicationMessage explains why a child with a live application
// cannot get a supplementary one. Only a recorded or documents_verified
// application can be returned, so only then does it suggest returning it
// first.
func liveApplicationMessage(live *application, districtName string) string {
	switch live.Status {
	case enrol.StatusRecorded, enrol.StatusDocumentsVerified:
		return "该幼儿本年度已在" + districtName + "报名（报名编号 " + live.Number + "，" + enrol.StatusLabel(live.Status) +
			"），不能补报名。如需改报，请先退回该报名。"
	case enrol.StatusAdmitted:
		return "该幼儿本年度已被" + districtName + "录取（报名编号 " + live.Number + "），不能补报名。"
	case enrol.StatusNotAdmitted:
		return "该幼儿本年度在" + districtName + "的报名（报名编号 " + live.Number + "）录取结果为未录取。" +
			"已有录取结果的报名不能退回，本年度不能再为该幼儿补报名。"
	default:
		return "该幼儿本年度已在" + districtName + "报名（报名编号 " + live.Number + "，" + enrol.StatusLabel(live.Status) +
			"），不能补报名。"
	}
}

// checkClaim rejects a supplementary application while the child's claim
// in Redis names an application that PostgreSQL does not hold yet: the
// edge accepted the parent's own application, and the drain has not
// stored it. A claim naming an application that PostgreSQL holds as
// returned or deleted is stale, and its number is returned so that the
// new application may replace it.
func (h *Handlers) checkClaim(ctx context.Context, tx *sqlx.Tx, year int, childIndex []byte) (string, error) {
	claimed, err := h.claimedNumber(ctx, year, childIndex)
	if err != nil || claimed == "" {
		return "", err
	}
	var status string
	err = tx.GetContext(ctx, &status, `SELECT status FROM application WHERE application_number = $1`, claimed)
	if err == nil && (status == enrol.StatusReturned || status == enrol.StatusDeleted) {
		return claimed, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	return "", apierror.New(http.StatusConflict, "application_pending",
		"该幼儿刚刚提交了报名（报名编号 "+claimed+"），请稍后重新查询。").
		WithDetail("applicationNumber", claimed)
}

// checkApply trims and checks the request's fields.
func checkApply(request *applyRequest) error {
	request.RegistrationNumber = strings.TrimSpace(request.RegistrationNumber)
	if enrol.NumberKind(request.RegistrationNumber) != enrol.KindRegistration {
		return apierror.Invalid("registrationNumber", "invalid_registration_number", "登记编号应为 12 位数字，请先查询登记信息。")
	}

	if request.CampusID <= 0 {
		return apierror.Invalid("campusId", "campus_required", "请选择补报名的园所。")
	}

	request.CategoryCode = strings.TrimSpace(request.CategoryCode)
	if request.CategoryCode == "" {
		return apierror.Invalid("categoryCode", "category_required", "请选择报名类别。")
	}

	if request.GuardianPhone != "" {
		phone, err := person.NormalisePhone(request.GuardianPhone)
		if err != nil {
			return apierror.Invalid("guardianPhone", person.CodeInvalidPhone, "监护人手机号码格式不正确，请输入 11 位手机号码。")
		}
		request.GuardianPhone = phone
	}

	if len(request.Certificates) > maxCertificates {
		return apierror.Invalid("certificates", "too_many_certificates", "一次最多补录 5 份证照。")
	}
	seen := map[string]bool{}
	for i := range request.Certificates {
		c := &request.Certificates[i]
		field := fmt.Sprintf("certificates[%d]", i)
		if certificateLabels[c.Type] == "" {
			return apierror.Invalid(field+".type", "invalid_certificate_type", "证照类型无效，请重新选择。")
		}
		if seen[c.Type] {
			return apierror.Invalid(field+".type", "duplicate_certificate", certificateLabels[c.Type]+"重复填写，请只保留一份。")
		}
		seen[c.Type] = true
		c.Number, c.Holder = strings.TrimSpace(c.Number), strings.TrimSpace(c.Holder)
		if c.Number == "" || utf8.RuneCountInString(c.Number) > 64 {
			return apierror.Invalid(field+".number", "invalid_certificate_number", "请填写"+certificateLabels[c.Type]+"的证照编号（最多 64 个字）。")
		}
		if utf8.RuneCountInString(c.Holder) > 64 {
			return apierror.Invalid(field+".holder", "invalid_certificate_holder", "持证人最多 64 个字。")
		}
	}

	request.Note = strings.TrimSpace(request.Note)
	if utf8.RuneCountInString(request.Note) > 200 {
		return apierror.Invalid("note", "invalid_note_length", "补报名说明最多 200 个字。")
	}
	return nil
}

// apply handles POST /api/v1/supplementary/applications.
func (h *Handlers) apply(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var request applyRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	if err := checkApply(&request); err != nil {
		return err
	}
	now := h.Now()

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row, err := findRegistration(ctx, tx, h.Keyring, staff.Scope, lookupRequest{RegistrationNumber: request.RegistrationNumber}, now, true)
	if err != nil {
		return err
	}
	chosen, entryID, err := h.chooseCampus(ctx, tx, staff.Scope, row, request)
	if err != nil {
		return err
	}
	live, err := liveApplication(ctx, tx, row.Year, row.ChildIndex)
	if err != nil {
		return err
	}
	if live != nil {
		return alreadyApplied(live, h.districtName(live.DistrictCode))
	}
	staleClaim, err := h.checkClaim(ctx, tx, row.Year, row.ChildIndex)
	if err != nil {
		return err
	}
	if err := h.completeRegistration(ctx, tx, row, request, now); err != nil {
		return err
	}

	number, err := h.drawNumber(ctx, row.Year, chosen.DistrictCode)
	if err != nil {
		return err
	}
	formJSON, err := json.Marshal(applicationForm{Supplementary: supplementaryFacts{StaffID: staff.ID, StaffName: staff.Name, Note: request.Note}})
	if err != nil {
		return err
	}
	payloadHash := sm3.Sm3Sum(formJSON)
	const insert = `
		INSERT INTO application (application_number, registration_number, enrolment_year, child_index, district_code,
		                         entry_id, category_code, campus_choices, form_values, schema_version, key_id,
		                         payload_hash, owner_index, supplementary, status, accepted_at, certificates_uploaded)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, true, 'documents_verified', $13, '{}')`
	_, err = tx.ExecContext(ctx, insert, number, row.Number, row.Year, row.ChildIndex, chosen.DistrictCode,
		entryID, request.CategoryCode, []int64{chosen.ID}, h.Keyring.Seal(formJSON, enrol.ContextApplicationForm),
		h.Keyring.ActiveKeyID(), payloadHash, row.OwnerIndex, now.UTC())
	if constraint, ok := uniqueViolation(err); ok {
		if constraint == "application_pkey" {
			// The counter handed out a stored number: Redis lost writes. The
			// drainers raise the counters within seconds.
			slog.Error("supplementary application drew a stored number; Redis's counter is behind",
				"number", number, "district", chosen.DistrictCode)
			return errNumberUnavailable
		}
		// A parent's application was stored between the check and the insert.
		return apierror.New(http.StatusConflict, "already_applied", "该幼儿刚刚提交了报名，请重新查询后再处理。")
	}
	if err != nil {
		return err
	}

	smsID, err := h.queueSMS(ctx, tx, row, number, chosen.DistrictCode, entryID, request.GuardianPhone)
	if err != nil {
		return err
	}
	campusName := chosen.Kindergarten + "（" + chosen.Name + "）"
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionApply, Resource: "application", ResourceID: number, DistrictCode: chosen.DistrictCode,
		Before: map[string]any{"registrationStatus": row.Status},
		After: map[string]any{
			"registrationNumber": row.Number, "status": enrol.StatusDocumentsVerified, "campusId": chosen.ID,
			"categoryCode": request.CategoryCode, "certificatesAdded": len(request.Certificates),
			"guardianPhoneAdded": request.GuardianPhone != "", "smsId": smsID,
		},
		Detail: "补报名：" + campusName,
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}

	synced := h.publishReceipt(ctx, receiptFacts{
		Number: number, StaleClaim: staleClaim, Registration: row.Number, Year: row.Year, ChildIndex: row.ChildIndex, OwnerIndex: row.OwnerIndex,
		DistrictCode: chosen.DistrictCode, CategoryCode: request.CategoryCode, CampusID: chosen.ID,
		PayloadHash: payloadHash, AcceptedAt: now,
	}) == nil
	httpx.WriteJSON(w, http.StatusCreated, ApplyResult{
		ApplicationNumber: number, RegistrationNumber: row.Number,
		Status: enrol.StatusDocumentsVerified, StatusLabel: enrol.StatusLabel(enrol.StatusDocumentsVerified),
		District: h.districtName(chosen.DistrictCode), Campus: campusName, SMSID: smsID, ParentStatusSynced: synced,
	})
	return nil
}

// chooseCampus reads the campus and the entry its district has for the
// category. Any campus of the staff member's districts may be chosen, even
// one the matching rules do not offer for the family's address, but the
// category must belong to the registration's category group (本市户籍,
// 外省市, 港澳台及外籍, 其他), as the parent's own application would.
func (h *Handlers) chooseCampus(ctx context.Context, tx *sqlx.Tx, scope access.Scope, row registration, request applyRequest) (campus, int64, error) {
	year := row.Year
	var chosen campus
	err := tx.GetContext(ctx, &chosen, `
		SELECT c.id, c.name, k.name AS kindergarten, c.district_code
		FROM campus c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE c.id = $1`, request.CampusID)
	if errors.Is(err, sql.ErrNoRows) {
		return chosen, 0, errCampusNotFound
	}
	if err != nil {
		return chosen, 0, err
	}
	if !scope.AllowsDistrict(chosen.DistrictCode) {
		return chosen, 0, access.ErrOutOfScope
	}
	var entry struct {
		ID        int64  `db:"id"`
		Group     string `db:"group_code"`
		GroupName string `db:"group_name"`
		Name      string `db:"name"`
	}
	err = tx.GetContext(ctx, &entry, `
		SELECT e.id, hc.group_code, hc.group_name, hc.name
		FROM entry e JOIN household_category hc ON hc.code = e.category_code
		WHERE e.enrolment_year = $1 AND e.district_code = $2 AND e.category_code = $3`,
		year, chosen.DistrictCode, request.CategoryCode)
	if errors.Is(err, sql.ErrNoRows) {
		return chosen, 0, errEntryNotFound
	}
	if err != nil {
		return chosen, 0, err
	}
	if entry.Group != row.CategoryGroup {
		var groupName string
		if err := tx.GetContext(ctx, &groupName, `SELECT group_name FROM household_category WHERE group_code = $1 LIMIT 1`, row.CategoryGroup); err != nil {
			return chosen, 0, err
		}
		return chosen, 0, apierror.Invalid("categoryCode", "category_mismatch",
			"报名类别“"+entry.Name+"”属于"+entry.GroupName+"，与该幼儿登记的户籍类别（"+groupName+"）不符，请选择"+groupName+"下的类别。")
	}
	return chosen, entry.ID, nil
}

// completeRegistration adds the phone and certificates the admin entered
// to the registration, and marks it verified: the admin checked the
// family's documents in person.
func (h *Handlers) completeRegistration(ctx context.Context, tx *sqlx.Tx, row registration, request applyRequest, now time.Time) error {
	guardians, err := openGuardians(h.Keyring, row.Guardians)
	if err != nil {
		slog.Error("guardians failed to open", "number", row.Number, "error", err)
		return errUnreadable
	}
	hasPhone := false
	for _, guardian := range guardians {
		hasPhone = hasPhone || guardian.phone() != ""
	}
	switch {
	case hasPhone && request.GuardianPhone != "":
		return errPhoneNotMissing
	case !hasPhone && request.GuardianPhone == "":
		return errPhoneRequired
	case !hasPhone && len(guardians) == 0:
		return errUnreadable
	}
	sealedGuardians := row.Guardians
	if !hasPhone {
		guardians[0]["phone"] = request.GuardianPhone
		plain, err := json.Marshal(guardians)
		if err != nil {
			return err
		}
		sealedGuardians = h.Keyring.Seal(plain, enrol.ContextGuardians)
	}

	form, err := openForm(h.Keyring, row.FormValues)
	if err != nil {
		slog.Error("registration form failed to open", "number", row.Number, "error", err)
		return errUnreadable
	}
	present := map[string]bool{}
	for _, c := range form.Certificates {
		present[c.Type] = true
	}
	for i, c := range request.Certificates {
		if present[c.Type] {
			return apierror.Invalid(fmt.Sprintf("certificates[%d].type", i), "certificate_present",
				"登记中已有"+certificateLabels[c.Type]+"，无需补录。")
		}
		form.Certificates = append(form.Certificates, storedCertificate{Type: c.Type, Source: "supplementary", Number: c.Number, Holder: c.Holder})
	}
	sealedForm := row.FormValues
	if len(request.Certificates) > 0 {
		plain, err := json.Marshal(form)
		if err != nil {
			return err
		}
		sealedForm = h.Keyring.Seal(plain, enrol.ContextRegistrationForm)
	}

	const update = `
		UPDATE registration
		SET guardians = $2, form_values = $3, status = 'verified',
		    verification_note = CASE WHEN status = 'verified' THEN verification_note ELSE '区管理员补报名时现场核验' END,
		    verified_at = COALESCE(verified_at, $4)
		WHERE registration_number = $1`
	_, err = tx.ExecContext(ctx, update, row.Number, sealedGuardians, sealedForm, now.UTC())
	return err
}

// queueSMS queues the 报名成功 message inside tx. phone is the number the
// admin just entered, or "" to use the registration's.
func (h *Handlers) queueSMS(ctx context.Context, tx *sqlx.Tx, row registration, number, district string, entryID int64, phone string) (int64, error) {
	childName, err := h.Keyring.Open(row.ChildName, enrol.ContextChildName)
	if err != nil {
		return 0, errUnreadable
	}
	if phone == "" {
		if phone, err = sms.GuardianPhone(h.Keyring, row.Guardians, enrol.ContextGuardians); err != nil {
			return 0, errUnreadable
		}
	}
	return sms.Enqueue(ctx, tx, h.Keyring, sms.Message{
		Event: sms.EventApplicationSucceeded, DistrictCode: district, EntryID: entryID,
		RecordNumber: number, Phone: phone, ChildName: string(childName),
		Values: map[string]string{
			sms.PlaceholderRegistrationNumber: row.Number,
			sms.PlaceholderApplicationNumber:  number,
			sms.PlaceholderDistrict:           h.districtName(district),
		},
	})
}

// uniqueViolation returns the constraint a unique violation names, and
// whether err is one.
func uniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}
