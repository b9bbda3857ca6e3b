package supplement

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/testenv"
)

func TestPublishReceiptKeepsOtherClaim(t *testing.T) {
	redis := testenv.NewRedis(t)
	ctx := context.Background()
	h := &Handlers{Redis: redis.Client, Keys: enrol.Keys{Prefix: redis.Prefix}, ReceiptTTL: time.Hour}
	facts := receiptFacts{
		Number: "20270400000101", Registration: "202700000101", Year: 2027, ChildIndex: []byte{1, 2, 3},
		OwnerIndex: []byte{4, 5, 6}, DistrictCode: "310104", CategoryCode: "hukou", CampusID: 7,
		PayloadHash: []byte{8, 9}, AcceptedAt: time.Now(),
	}
	claimKey := h.Keys.ApplicationClaim(facts.Year, facts.ChildIndex)
	claim := func() string {
		t.Helper()
		value, err := redis.Client.Do(ctx, redis.Client.B().Get().Key(claimKey).Build()).ToString()
		if err != nil {
			t.Fatalf("GET claim: %v", err)
		}
		return value
	}

	// A parent's application accepted after apply read the claim.
	parentClaim := "20270400000099|00ff|310104"
	if err := redis.Client.Do(ctx, redis.Client.B().Set().Key(claimKey).Value(parentClaim).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := h.publishReceipt(ctx, facts); !errors.Is(err, errClaimTaken) {
		t.Errorf("publishReceipt over the parent's claim = %v, want errClaimTaken", err)
	}
	if value := claim(); value != parentClaim {
		t.Errorf("claim = %q, want the parent's %q kept", value, parentClaim)
	}

	// The same claim is stale once PostgreSQL holds its application as
	// returned, and apply passes its number.
	facts.StaleClaim = "20270400000099"
	if err := h.publishReceipt(ctx, facts); err != nil {
		t.Fatalf("publishReceipt over a stale claim: %v", err)
	}
	if value := claim(); !strings.HasPrefix(value, facts.Number+"|") {
		t.Errorf("claim = %q, want it to name %s", value, facts.Number)
	}

	// Publishing again, as after a lost reply, keeps the claim.
	facts.StaleClaim = ""
	if err := h.publishReceipt(ctx, facts); err != nil {
		t.Fatalf("publishReceipt again: %v", err)
	}
	if value := claim(); !strings.HasPrefix(value, facts.Number+"|") {
		t.Errorf("claim after publishing again = %q, want it to name %s", value, facts.Number)
	}
}
