package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/server"
	"github.com/sh-preschool/preschool/shared/config"
)

func TestStartNeedsSigningKey(t *testing.T) {
	env := backofficetest.New(t)
	values := env.ServerSettings("127.0.0.1:0")
	delete(values, "CRYPTO_SIGNING_KEY_FILE")
	delete(values, "CRYPTO_SIGNING_KEY_ID")
	cfg, err := server.LoadConfig(config.FromMap(values))
	if err != nil {
		t.Fatal(err)
	}
	backOffice, err := server.Start(context.Background(), cfg)
	if err == nil {
		backOffice.Close()
		t.Fatal("Start without a signing key succeeded")
	}
	if !strings.Contains(err.Error(), "CRYPTO_SIGNING_KEY_FILE") {
		t.Errorf("Start error = %v, want it to name CRYPTO_SIGNING_KEY_FILE", err)
	}
}

func TestServerSignsAuditCheckpoints(t *testing.T) {
	env := backofficetest.New(t)
	env.StartServer(t, map[string]string{"BACKOFFICE_WORKERS": "false", "AUDIT_CHECKPOINT_INTERVAL": "200ms"})
	trail := &audit.Trail{DB: env.DB.DB, Now: time.Now}
	if err := trail.Record(context.Background(), nil, nil, audit.Event{Action: "test", Resource: "test", ResourceID: "1", Detail: "checkpoint test"}); err != nil {
		t.Fatal(err)
	}
	env.WaitForRows(t, 30*time.Second, 1, `SELECT count(*) FROM audit_checkpoint
		WHERE last_id = (SELECT last_id FROM audit_chain_head)`)
}
