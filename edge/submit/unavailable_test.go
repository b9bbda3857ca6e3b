package submit_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// proxiedHarness is a harness whose service reaches Redis through a proxy
// that the test can stop.
func proxiedHarness(t *testing.T) (*harness, *edgetest.Proxy) {
	t.Helper()
	h := newHarness(t)
	proxy := edgetest.StartProxy(t, h.redis.Address)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{proxy.Addr}, DisableCache: true, DisableRetry: true})
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	t.Cleanup(client.Close)
	h.service = newService(h.fixture, client, h.redis.Prefix)
	return h, proxy
}

func checkUnavailable(t *testing.T, err error) {
	t.Helper()
	edgetest.CheckError(t, err, http.StatusServiceUnavailable, "temporarily_unavailable", "")
	if !errors.Is(err, submit.ErrUnavailable) {
		t.Errorf("error %v does not wrap submit.ErrUnavailable", err)
	}
}

// checkLookupUnavailable checks a read's error when Redis is down: the
// same code as a submission's, with a message that mentions no submission.
func checkLookupUnavailable(t *testing.T, err error) {
	t.Helper()
	edgetest.CheckError(t, err, http.StatusServiceUnavailable, "temporarily_unavailable", "")
	if !errors.Is(err, submit.ErrLookupUnavailable) {
		t.Errorf("error %v does not wrap submit.ErrLookupUnavailable", err)
	}
	if apiErr := apierror.As(err); apiErr != nil && apiErr.Message != submit.ErrLookupUnavailable.Message {
		t.Errorf("message = %q, want %q", apiErr.Message, submit.ErrLookupUnavailable.Message)
	}
}

func TestRegisterRedisDown(t *testing.T) {
	t.Parallel()
	h, proxy := proxiedHarness(t)
	first := h.register(t, "parent-1", h.fixture.Registration(t))
	proxy.Stop()

	receipt, err := h.service.Register(context.Background(), "parent-1", h.fixture.Registration(t))

	checkUnavailable(t, err)
	if receipt.Number != "" {
		t.Errorf("receipt %q returned while Redis is unreachable", receipt.Number)
	}
	if got := h.streamLength(t); got != 1 {
		t.Errorf("stream length = %d, want only the first registration", got)
	}
	client := h.redis.Client
	owned, err := client.Do(context.Background(), client.B().Smembers().Key(h.keys.OwnerReceipts(h.service.OwnerIndex("parent-1"))).Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned[0] != first.Number {
		t.Errorf("the parent owns %v, want only %s", owned, first.Number)
	}
}

func TestReadsRedisDown(t *testing.T) {
	t.Parallel()
	h, proxy := proxiedHarness(t)
	number := h.register(t, "parent-1", h.fixture.Registration(t)).Number
	home := h.fixture.Address(t, edgetest.HomeDistrict, 1)
	proxy.Stop()
	ctx := context.Background()

	_, err := h.service.ReceiptStatus(ctx, "parent-1", number)
	checkLookupUnavailable(t, err)
	_, err = h.service.OwnerReceipts(ctx, "parent-1")
	checkLookupUnavailable(t, err)
	_, err = h.service.PrintableForm(ctx, "parent-1", number)
	checkLookupUnavailable(t, err)
	_, err = h.service.Apply(ctx, "parent-1", edgetest.Application(number, home, enrolment.CategoryDistrictHukouResident))
	checkUnavailable(t, err)
}

func TestRegisterClientClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{h.redis.Address}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	h.service = newService(h.fixture, client, h.redis.Prefix)
	client.Close()

	receipt, err := h.service.Register(context.Background(), "parent-1", h.fixture.Registration(t))

	checkUnavailable(t, err)
	if receipt.Number != "" {
		t.Errorf("receipt %q returned by a closed client", receipt.Number)
	}
	if got := h.streamLength(t); got != 0 {
		t.Errorf("stream length = %d, want 0", got)
	}
}
