package edgetest

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestBuildersValid(t *testing.T) {
	f := Shared(t)
	builders := map[string]func(testing.TB) *precheck.RegistrationRequest{
		"Registration":              f.Registration,
		"OtherProvinceRegistration": f.OtherProvinceRegistration,
	}
	for name, build := range builders {
		request := build(t)
		if _, err := precheck.CheckRegistration(request, f.Catalogue, time.Now()); err != nil {
			t.Errorf("%s: CheckRegistration returned %v", name, err)
		}
	}
}

func TestNewChildIDDistinct(t *testing.T) {
	f := Shared(t)
	seen := map[string]bool{}
	for range 2000 {
		child := f.NewChildID(t, 'F')
		if seen[child.Number] {
			t.Fatalf("NewChildID returned %s twice", child.Number)
		}
		seen[child.Number] = true
		parsed, err := document.Parse(document.ResidentID, child.Number, "", time.Now())
		if err != nil {
			t.Fatalf("NewChildID returned %s, which does not parse: %v", child.Number, err)
		}
		if got := parsed.BirthDate.Format(time.DateOnly); got != child.BirthDate {
			t.Fatalf("number %s encodes %s, want %s", child.Number, got, child.BirthDate)
		}
		if child.BirthDate < f.Year.BirthFrom || child.BirthDate > f.Year.BirthTo {
			t.Fatalf("birth date %s is outside the window %s to %s", child.BirthDate, f.Year.BirthFrom, f.Year.BirthTo)
		}
	}
}

func TestProxyStop(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				io.Copy(conn, conn)
			}()
		}
	}()
	proxy := StartProxy(t, listener.Addr().String())

	conn, err := net.Dial("tcp", proxy.Addr)
	if err != nil {
		t.Fatalf("dial the proxy: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	echoed := make([]byte, 4)
	if _, err := io.ReadFull(conn, echoed); err != nil || string(echoed) != "ping" {
		t.Fatalf("read %q, %v through the proxy, want ping", echoed, err)
	}

	proxy.Stop()

	if _, err := conn.Read(echoed); err == nil {
		t.Error("a forwarded connection stayed open after Stop")
	}
	if again, err := net.Dial("tcp", proxy.Addr); err == nil {
		again.Close()
		t.Error("the proxy port accepted a connection after Stop")
	}
}
