package admission_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/admission"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// BenchmarkAdmissionRound proposes and confirms the admission list of a
// district with 5,000 applications, each choosing three of the district's
// campuses with a seed seat plan, and reports the wall time of each step
// through the API (PostgreSQL's work included). The applications are
// copies of one stored application under new numbers and child indexes,
// so every family has the same phone number and registration time. Run
// it with -benchtime=1x because a round is set up anew for each iteration.
func BenchmarkAdmissionRound(b *testing.B) {
	const applications = 5000
	f := newFixture(b)
	env := f.env
	year := env.Year.Year

	subject := backofficetest.Subject(1)
	registration := env.Register(b, subject, env.ShanghaiChild(b, 1, xuhui, xuhui))
	env.WaitForRows(b, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
	template := env.SubmitApplication(b, subject, env.ApplicationRequest(b, subject, registration, xuhui))
	env.WaitForRows(b, time.Minute, 1, `SELECT count(*) FROM application WHERE application_number = $1`, template)

	var campuses []int64
	err := env.DB.DB.Select(&campuses, `
		SELECT p.campus_id FROM seat_plan p JOIN campus c ON c.id = p.campus_id
		WHERE c.district_code = $1 AND p.enrolment_year = $2 AND p.grade = 'junior' AND p.seats > 0
		ORDER BY p.campus_id`, xuhui, year)
	if err != nil || len(campuses) < 3 {
		b.Fatalf("Xuhui campuses with junior seats: %d, %v", len(campuses), err)
	}
	numbers := make([]string, applications)
	for i := range numbers {
		numbers[i] = enrol.FormatApplicationNumber(year, xuhui, int64(5_000_000+i))
	}
	// Child i chooses three campuses starting at campus i mod n, so the
	// choices spread over the district.
	_, err = env.DB.DB.Exec(`
		INSERT INTO application (application_number, registration_number, enrolment_year, child_index, district_code,
		                         entry_id, category_code, campus_choices, form_values, schema_version, key_id,
		                         payload_hash, owner_index, accepted_at)
		SELECT n.number, a.registration_number, a.enrolment_year, decode(md5(n.number), 'hex'), a.district_code,
		       a.entry_id, a.category_code,
		       ARRAY[c.ids[(n.i % c.count) + 1], c.ids[((n.i + 1) % c.count) + 1], c.ids[((n.i + 2) % c.count) + 1]],
		       a.form_values, a.schema_version, a.key_id, a.payload_hash, a.owner_index, a.accepted_at
		FROM application a,
		     (SELECT $3::int8[] AS ids, cardinality($3::int8[]) AS count) AS c,
		     unnest($2::text[]) WITH ORDINALITY AS n(number, i)
		WHERE a.application_number = $1`, template, numbers, campuses)
	if err != nil {
		b.Fatalf("copy the application: %v", err)
	}
	f.closeApplication(b)

	var proposeTime, confirmTime time.Duration
	for b.Loop() {
		started := time.Now()
		response := f.xuhui.Send(b, http.MethodPost, "/api/v1/admission/proposal", map[string]any{})
		proposeTime += time.Since(started)
		response.Expect(b, http.StatusOK, "")

		started = time.Now()
		response = f.xuhui.Send(b, http.MethodPost, "/api/v1/admission/proposal/confirm", map[string]any{})
		confirmTime += time.Since(started)
		response.Expect(b, http.StatusOK, "")
		var confirmed admission.ConfirmSummary
		response.Decode(b, &confirmed)
		if confirmed.Admitted+confirmed.NotAdmitted != applications+1 || confirmed.SMSQueued != applications+1 {
			b.Fatalf("confirmation = %+v, want %d applications and messages", confirmed, applications+1)
		}

		b.StopTimer()
		f.exec(b, `DELETE FROM admission_round`)
		f.exec(b, `DELETE FROM sms_outbox WHERE event IN ('admission_admitted', 'admission_not_admitted')`)
		f.exec(b, `UPDATE application SET status = 'recorded'`)
		b.StartTimer()
	}
	b.ReportMetric(float64(proposeTime.Milliseconds())/float64(b.N), "ms/propose")
	b.ReportMetric(float64(confirmTime.Milliseconds())/float64(b.N), "ms/confirm")
}
