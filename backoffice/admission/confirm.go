package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/sms"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// ConfirmSummary is the response to a confirmation.
type ConfirmSummary struct {
	Year         int       `json:"year"`
	DistrictCode string    `json:"districtCode"`
	Admitted     int       `json:"admitted"`
	NotAdmitted  int       `json:"notAdmitted"`
	ConfirmedAt  time.Time `json:"confirmedAt"`
	// SMSQueued counts the notices added to the outbox; families without a
	// phone number get none, and NoPhone counts them.
	SMSQueued int `json:"smsQueued"`
	NoPhone   int `json:"noPhone"`
	// ParentStatusSynced is false when Redis could not be updated. Parents
	// then see the old status on the edge's status page.
	ParentStatusSynced bool `json:"parentStatusSynced"`
}

// confirmedRow is one proposed application with what its notice needs.
type confirmedRow struct {
	Number             string      `db:"application_number"`
	RegistrationNumber string      `db:"registration_number"`
	EntryID            int64       `db:"entry_id"`
	Status             string      `db:"status"`
	Outcome            string      `db:"outcome"`
	Reason             string      `db:"reason"`
	CampusName         pgtype.Text `db:"campus_name"`
	ChildName          []byte      `db:"child_name"`
	Guardians          []byte      `db:"guardians"`
}

// lockProposal locks the district's proposed applications and returns
// them. It returns errStaleProposal when one of them is no longer live.
func lockProposal(ctx context.Context, tx *sqlx.Tx, year int, district string) ([]confirmedRow, error) {
	var rows []confirmedRow
	err := tx.SelectContext(ctx, &rows, `
		SELECT a.application_number, a.registration_number, a.entry_id, a.status, p.outcome, p.reason,
		       k.name || '（' || c.name || '）' AS campus_name, r.child_name, r.guardians
		FROM admission_proposal p
		JOIN application a ON a.application_number = p.application_number
		JOIN registration r ON r.registration_number = a.registration_number
		LEFT JOIN campus c ON c.id = p.campus_id
		LEFT JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE p.enrolment_year = $1 AND p.district_code = $2
		ORDER BY a.application_number
		FOR UPDATE OF a`, year, district)
	if err != nil {
		return nil, fmt.Errorf("lock the admission proposal of %s %d: %w", district, year, err)
	}
	for _, row := range rows {
		if row.Status != enrol.StatusRecorded && row.Status != enrol.StatusDocumentsVerified {
			return nil, errStaleProposal("生成后有报名被退回、删除或改变了状态")
		}
	}
	return rows, nil
}

// checkProposalCurrent returns errStaleProposal when the district's
// applications, rules or seat plan changed after the proposal. That is the
// case when a live ordinary application has no place in the proposal, when
// the rules differ from those the proposal copied, or when the seat total
// of the rule's grade differs from the proposal's. Call it after lockProposal, inside the
// district and year's lock, which the drainer takes shared while it stores
// applications, so none commits between this check and the confirmation's
// commit. An application still in the stream holds the confirmation back
// (checkStored).
func checkProposalCurrent(ctx context.Context, tx *sqlx.Tx, year int, district string) error {
	var unplaced bool
	err := tx.GetContext(ctx, &unplaced, `
		SELECT EXISTS (
			SELECT 1 FROM application a
			WHERE a.enrolment_year = $1 AND a.district_code = $2 AND NOT a.supplementary
			  AND a.status IN ('recorded', 'documents_verified')
			  AND NOT EXISTS (SELECT 1 FROM admission_proposal p WHERE p.application_number = a.application_number))`,
		year, district)
	if err != nil {
		return fmt.Errorf("look for applications missing from the admission proposal of %s %d: %w", district, year, err)
	}
	if unplaced {
		return errStaleProposal("生成后又有报名记录，名单中没有这些报名")
	}

	var round struct {
		RuleText string      `db:"rule_text"`
		Seats    pgtype.Int4 `db:"seats"`
	}
	err = tx.GetContext(ctx, &round, `SELECT rule_text, seats FROM admission_round WHERE enrolment_year = $1 AND district_code = $2`,
		year, district)
	if err != nil {
		return fmt.Errorf("read the admission round of %s %d: %w", district, year, err)
	}
	var proposed Rule
	if err := json.Unmarshal([]byte(round.RuleText), &proposed); err != nil {
		return fmt.Errorf("decode the rules of the admission round of %s %d: %w", district, year, err)
	}
	current, err := loadRule(ctx, tx, year, district)
	if err != nil {
		return err
	}
	if !sameRule(proposed, current) {
		return errStaleProposal("生成后录取规则已修改")
	}
	if proposed.RequireDocumentsVerified {
		if err := checkStatusesUnchanged(ctx, tx, year, district); err != nil {
			return err
		}
	}

	seats, err := loadSeats(ctx, tx, year, district, current.SeatGrade)
	if err != nil {
		return err
	}
	if !round.Seats.Valid || int(round.Seats.Int32) != seatTotal(seats) {
		return errStaleProposal("生成后招生计划（学位数）已修改")
	}
	return nil
}

// checkStatusesUnchanged returns errStaleProposal when an application's
// status or certificate checks changed after the proposal, because under
// rules that admit only verified applications the proposal then places
// it wrongly. A proposal made before statuses were stored counts as
// changed.
func checkStatusesUnchanged(ctx context.Context, tx *sqlx.Tx, year int, district string) error {
	var changed bool
	err := tx.GetContext(ctx, &changed, `
		SELECT EXISTS (
			SELECT 1 FROM admission_proposal p JOIN application a ON a.application_number = p.application_number
			WHERE p.enrolment_year = $1 AND p.district_code = $2
			  AND (p.application_status IS DISTINCT FROM a.status
			       OR p.application_review_version IS DISTINCT FROM a.review_version))`, year, district)
	if err != nil {
		return fmt.Errorf("compare the application statuses with the admission proposal of %s %d: %w", district, year, err)
	}
	if changed {
		return errStaleProposal("生成后有报名的材料验证结果发生变化")
	}
	return nil
}

// sameRule reports whether two rules admit the same way, ignoring who
// saved them and when.
func sameRule(a, b Rule) bool {
	return slices.Equal(a.CategoryOrder, b.CategoryOrder) &&
		slices.Equal(a.VerifiedCertificates, b.VerifiedCertificates) &&
		a.RequireDocumentsVerified == b.RequireDocumentsVerified &&
		slices.Equal(a.PriorityCriteria, b.PriorityCriteria) &&
		a.SeatGrade == b.SeatGrade
}

// applyOutcomes sets the status of every proposed application to its
// outcome.
func applyOutcomes(ctx context.Context, tx *sqlx.Tx, year int, district string) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE application a SET status = p.outcome
		FROM admission_proposal p
		WHERE p.application_number = a.application_number AND p.enrolment_year = $1 AND p.district_code = $2`,
		year, district)
	return err
}

// queueNotice queues the family's admission notice inside tx. It returns
// false when the family left no phone number or the record does not open
// (logged). The outcome is kept either way, and the parent reads it on the
// receipt page.
func (h *Handlers) queueNotice(ctx context.Context, tx *sqlx.Tx, district string, row confirmedRow) (bool, error) {
	childName, errName := h.Keyring.Open(row.ChildName, enrol.ContextChildName)
	phone, errPhone := sms.GuardianPhone(h.Keyring, row.Guardians, enrol.ContextGuardians)
	if errName != nil || errPhone != nil {
		slog.Error("no admission notice: the registration does not open", "application", row.Number,
			"name_error", errName, "guardians_error", errPhone)
		return false, nil
	}
	event, values := sms.EventAdmissionNotAdmitted, map[string]string{
		sms.PlaceholderApplicationNumber:  row.Number,
		sms.PlaceholderRegistrationNumber: row.RegistrationNumber,
		sms.PlaceholderDistrict:           h.districtName(district),
		sms.PlaceholderReason:             row.Reason,
	}
	if row.Outcome == enrol.StatusAdmitted {
		event = sms.EventAdmissionAdmitted
		values[sms.PlaceholderCampus] = row.CampusName.String
	}
	_, err := sms.Enqueue(ctx, tx, h.Keyring, sms.Message{
		Event: event, DistrictCode: district, EntryID: row.EntryID, RecordNumber: row.Number,
		Phone: phone, ChildName: string(childName), Values: values,
	})
	if errors.Is(err, sms.ErrNoPhone) {
		slog.Warn("no admission notice queued: the family left no phone number", "application", row.Number)
		return false, nil
	}
	return err == nil, err
}

// parentNote returns the note under the outcome on the parent's receipt
// page: the admitting kindergarten, or why the child was not admitted.
func parentNote(row confirmedRow) string {
	return enrol.AdmissionNote(row.Outcome, row.CampusName.String, row.Reason)
}

// syncParents writes the confirmed statuses and notes into the parents'
// receipts in Redis. The child's claim stays, because an admitted or not
// admitted application is still the child's application of the year. A
// failed sync is logged and reported, and POST
// /api/v1/admission/proposal/resync writes the statuses again.
func (h *Handlers) syncParents(ctx context.Context, rows []confirmedRow) error {
	if h.Redis == nil {
		return errors.New("admission: no Redis client to sync the parents' statuses")
	}
	ctx = context.WithoutCancel(ctx)
	const batch = 500
	for start := 0; start < len(rows); start += batch {
		var calls []rueidis.LuaExec
		for _, row := range rows[start:min(start+batch, len(rows))] {
			calls = append(calls, rueidis.LuaExec{Keys: []string{h.Keys.Receipt(row.Number)}, Args: []string{row.Outcome, parentNote(row)}})
		}
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		results := enrolment.StatusScript.ExecMulti(callCtx, h.Redis, calls...)
		cancel()
		for i, result := range results {
			if err := result.Error(); err != nil && !rueidis.IsRedisNil(err) {
				slog.Error("parent status not updated in Redis after the admission confirmation; the parent sees the old status",
					"application", rows[start+i].Number, "status", rows[start+i].Outcome, "error", err)
				return fmt.Errorf("update receipt %s: %w", rows[start+i].Number, err)
			}
		}
	}
	return nil
}
