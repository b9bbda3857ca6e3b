package edgetest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a free port on 127.0.0.1 to a target
// address until Stop, so a test can take a server away from a client that
// is connected to it.
type Proxy struct {
	Addr string

	listener net.Listener
	target   string
	mutex    sync.Mutex
	stopped  bool
	conns    map[net.Conn]struct{}
	done     sync.WaitGroup
}

// StartProxy starts a proxy to target and stops it when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{Addr: listener.Addr().String(), listener: listener, target: target, conns: map[net.Conn]struct{}{}}
	p.done.Add(1)
	go p.accept()
	t.Cleanup(p.Stop)
	return p
}

func (p *Proxy) accept() {
	defer p.done.Done()
	for {
		client, err := p.listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		p.done.Add(2)
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

// track records a connection pair, or closes it and reports false when the
// proxy has stopped meanwhile.
func (p *Proxy) track(connections ...net.Conn) bool {
	p.mutex.Lock()
	defer p.mutex.Unlock()
	if p.stopped {
		for _, conn := range connections {
			conn.Close()
		}
		return false
	}
	for _, conn := range connections {
		p.conns[conn] = struct{}{}
	}
	return true
}

func (p *Proxy) pipe(from, to net.Conn) {
	defer p.done.Done()
	io.Copy(to, from)
	from.Close()
	to.Close()
}

// Stop closes the port and every forwarded connection, then waits for the
// forwarding goroutines. Connecting to Addr afterwards is refused.
func (p *Proxy) Stop() {
	p.mutex.Lock()
	if p.stopped {
		p.mutex.Unlock()
		return
	}
	p.stopped = true
	p.listener.Close()
	for conn := range p.conns {
		conn.Close()
	}
	p.mutex.Unlock()
	p.done.Wait()
}
