package main_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/simulators"
)

// entryCount is how many registrations the kill test drains: enough that a
// drain with batches of 20 takes long enough to be killed in the middle.
const entryCount = 20_000

func buildBackOffice(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "backoffice")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, ".")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, output)
	}
	return binary
}

func freeAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	address := listener.Addr().String()
	listener.Close()
	return address
}

// process is one run of the back-office binary.
type process struct {
	name    string
	command *exec.Cmd
	exited  chan struct{}
	logPath string
}

func startProcess(t *testing.T, binary, name string, settings map[string]string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}

	command := exec.Command(binary, "serve")
	command.Env = os.Environ()
	for key, value := range settings {
		command.Env = append(command.Env, key+"="+value)
	}
	command.Stdout, command.Stderr = logFile, logFile
	if err := command.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}

	p := &process{name: name, command: command, exited: make(chan struct{}), logPath: logPath}
	go func() {
		command.Wait()
		logFile.Close()
		close(p.exited)
	}()

	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			if log, err := os.ReadFile(logPath); err == nil {
				t.Logf("log of %s:\n%s", name, tail(log, 4000))
			}
		}
	})
	waitHealthy(t, p, settings["BACKOFFICE_LISTEN"])
	return p
}

func tail(data []byte, size int) []byte {
	if len(data) <= size {
		return data
	}
	return data[len(data)-size:]
}

func waitHealthy(t *testing.T, p *process, address string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	backofficetest.WaitFor(t, time.Minute, p.name+" to answer /healthz", func() (bool, error) {
		if !p.running() {
			log, _ := os.ReadFile(p.logPath)
			t.Fatalf("%s exited before it was healthy (%v); its log ends:\n%s", p.name, p.command.ProcessState, tail(log, 4000))
		}
		response, err := client.Get("http://" + address + "/healthz")
		if err != nil {
			return false, err
		}
		response.Body.Close()
		return response.StatusCode == http.StatusOK, nil
	})
}

// kill sends SIGKILL and waits for the process to exit.
func (p *process) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
}

// stop sends SIGTERM, the graceful stop, and waits for the process to exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
}

func (p *process) signal(t *testing.T, signal syscall.Signal) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.command.Process.Signal(signal); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signal %s to %s: %v", signal, p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not exit within 30s of %s", p.name, signal)
		p.command.Process.Kill()
	}
}

// registerMany submits count registrations through the edge's Service on
// four goroutines and returns their numbers.
func registerMany(t *testing.T, env *backofficetest.Env, count int) map[string]bool {
	t.Helper()
	const workers = 4
	requests := make([]*precheck.RegistrationRequest, count)
	for i := range requests {
		requests[i] = env.ShanghaiChild(t, i, backofficetest.Xuhui, backofficetest.Xuhui)
	}

	var mu sync.Mutex
	numbers := make(map[string]bool, count)
	errs := make(chan error, workers)
	var wait sync.WaitGroup
	for worker := range workers {
		wait.Go(func() {
			for i := worker; i < count; i += workers {
				receipt, err := env.Service.Register(context.Background(), backofficetest.Subject(i), requests[i])
				if err != nil {
					errs <- fmt.Errorf("register child %d: %w", i, err)
					return
				}
				mu.Lock()
				numbers[receipt.Number] = true
				mu.Unlock()
			}
		})
	}
	wait.Wait()

	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(numbers) != count {
		t.Fatalf("registered %d distinct numbers, want %d", len(numbers), count)
	}
	return numbers
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func TestKillAndReclaim(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drains 20,000 registrations")
	}
	env := backofficetest.New(t)
	binary := buildBackOffice(t)
	data, err := simulators.Start(context.Background(), simulators.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() { data.Close() })

	numbers := registerMany(t, env, entryCount)
	if length := env.StreamLength(t); length != entryCount {
		t.Fatalf("stream length = %d, want %d", length, entryCount)
	}
	countRows := func() int { return env.Count(t, `SELECT count(*) FROM registration`) }
	settings := func(consumer string, extra map[string]string) map[string]string {
		values := env.ServerSettings(freeAddress(t))
		values["DRAIN_CONSUMER"] = consumer
		values["DRAIN_BATCH_SIZE"] = "20"
		values["DATA_API_URL"] = data.DataURL
		for key, value := range extra {
			values[key] = value
		}
		return values
	}

	// First run: killed once the table has some rows.
	first := startProcess(t, binary, "first", settings("alpha", nil))
	backofficetest.WaitFor(t, 2*time.Minute, "the first run to store some rows", func() (bool, error) {
		return countRows() >= 500, nil
	})
	first.kill(t)
	killedAt := countRows()
	if killedAt >= entryCount {
		t.Fatalf("the first run stored all %d rows before it was killed; the test needs a mid-drain kill", killedAt)
	}
	pendingAtKill := append(env.PendingOf(t, "alpha-0"), env.PendingOf(t, "alpha-1")...)
	t.Logf("first run killed at %d rows with %d entries pending", killedAt, len(pendingAtKill))

	// Second run, same consumer names: it re-reads its own pending entries
	// first. The default DRAIN_CLAIM_IDLE of 30s keeps reclaim out of it.
	second := startProcess(t, binary, "second", settings("alpha", nil))
	backofficetest.WaitFor(t, 2*time.Minute, "the second run to finish what the first left pending", func() (bool, error) {
		still := map[string]bool{}
		for _, id := range append(env.PendingOf(t, "alpha-0"), env.PendingOf(t, "alpha-1")...) {
			still[id] = true
		}
		for _, id := range pendingAtKill {
			if still[id] {
				return false, nil
			}
		}
		return countRows() > killedAt, nil
	})
	second.kill(t)
	secondKilledAt := countRows()
	if secondKilledAt >= entryCount {
		t.Fatalf("the second run stored all %d rows before it was killed; the test needs a mid-drain kill", secondKilledAt)
	}
	t.Logf("second run killed at %d rows with %d entries pending", secondKilledAt, env.Pending(t))

	// Third run, another name and a short claim idle: it reclaims what the
	// second run left pending and reads the rest.
	third := startProcess(t, binary, "third", settings("beta", map[string]string{
		"DRAIN_CLAIM_IDLE": "500ms", "DRAIN_BLOCK": "100ms", "DRAIN_CLAIM_INTERVAL": "200ms",
	}))
	env.WaitForRows(t, 3*time.Minute, entryCount, `SELECT count(*) FROM registration`)
	env.WaitForDrained(t, 2*time.Minute)
	if !third.running() {
		t.Fatalf("the third run exited on its own")
	}
	third.stop(t)

	t.Run("rows", func(t *testing.T) {
		if rows := countRows(); rows != entryCount {
			t.Errorf("registration rows = %d, want %d", rows, entryCount)
		}
		var stored []string
		if err := env.DB.DB.Select(&stored, `SELECT registration_number FROM registration`); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, number := range stored {
			if !numbers[number] {
				t.Errorf("stored registration %s was never submitted", number)
			}
		}
		seen := map[string]bool{}
		for _, number := range stored {
			seen[number] = true
		}
		for number := range numbers {
			if !seen[number] {
				missing++
			}
		}
		if missing != 0 {
			t.Errorf("%d submitted registrations are not stored", missing)
		}
		if children := env.Count(t, `SELECT count(DISTINCT child_index) FROM registration`); children != entryCount {
			t.Errorf("distinct children = %d, want %d", children, entryCount)
		}
	})
	t.Run("acknowledged", func(t *testing.T) {
		if pending := env.Pending(t); pending != 0 {
			t.Errorf("pending entries = %d, want 0", pending)
		}
		if dead := env.DeadLetters(t); len(dead) != 0 {
			t.Errorf("dead letters = %d, want 0", len(dead))
		}
	})
	t.Run("receipts", func(t *testing.T) {
		accepted := 0
		for number := range numbers {
			if env.Receipt(t, number)["status"] == "accepted" {
				accepted++
			}
		}
		if accepted != 0 {
			t.Errorf("%d receipts still say accepted, want 0", accepted)
		}
	})
}
