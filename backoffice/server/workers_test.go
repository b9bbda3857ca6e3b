package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/simulators"
	"github.com/sh-preschool/preschool/simulators/dataapi"
)

func TestWorkersDrainAndVerify(t *testing.T) {
	env := backofficetest.New(t)
	data, err := simulators.Start(context.Background(), simulators.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() { data.Close() })
	backOffice := env.StartServer(t, map[string]string{
		"DATA_API_URL": data.DataURL, "VERIFY_INTERVAL": "50ms", "DRAIN_BLOCK": "50ms", "DRAIN_CONSUMER": "server-test",
	})

	const children = 12
	want := map[string]string{}
	for i := range children {
		request := env.ShanghaiChild(t, i, xuhui, xuhui)
		number := env.Register(t, backofficetest.Subject(i), request)
		result := dataapi.Verify(dataapi.VerifyRequest{
			DocumentType: request.Child.Document.Type, DocumentNumber: request.Child.Document.Number, Name: request.Child.Name,
		})
		want[number] = enrol.StatusVerified
		if !result.Match {
			want[number] = enrol.StatusNeedsManualVerification
		}
	}

	// The verifier commits a status, then writes it to the receipt, so the
	// wait covers both.
	backofficetest.WaitFor(t, time.Minute, "every registration verified", func() (bool, error) {
		if env.Count(t, `SELECT count(*) FROM registration WHERE status <> 'recorded'`) != children {
			return false, nil
		}
		for number, status := range want {
			if env.Receipt(t, number)[enrol.FieldStatus] != status {
				return false, nil
			}
		}
		return true, nil
	})
	for number, status := range want {
		var stored string
		if err := env.DB.DB.Get(&stored, `SELECT status FROM registration WHERE registration_number = $1`, number); err != nil {
			t.Fatal(err)
		}
		if stored != status {
			t.Errorf("%s database status = %q, want %q", number, stored, status)
		}
		if receipt := env.Receipt(t, number)[enrol.FieldStatus]; receipt != status {
			t.Errorf("%s receipt status = %q, want %q", number, receipt, status)
		}
	}
	env.WaitForDrained(t, time.Minute)

	response, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + backOffice.Addr() + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer response.Body.Close()
	metrics, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if line := `backoffice_drained_total{kind="registration",outcome="stored"} 12`; !strings.Contains(string(metrics), line) {
		t.Errorf("/metrics lacks %q", line)
	}
	if line := `backoffice_breaker_state{name="data_api"} 0`; !strings.Contains(string(metrics), line) {
		t.Errorf("/metrics lacks %q", line)
	}
}
