package edgetest

import (
	"fmt"
	"log"
	"testing"
)

// packageTB lets TestMain use helpers that take a testing.TB, such as
// testenv.NewDatabase, for resources that live as long as the test binary.
// It implements the methods those helpers call. The embedded TB is nil, so
// any other method panics, which names the method a new helper needs.
type packageTB struct {
	testing.TB
	name     string
	cleanups []func()
}

// fatalError carries a Fatal call's message out of run.
type fatalError struct{ message string }

func (p *packageTB) Helper()                         {}
func (p *packageTB) Name() string                    { return p.name }
func (p *packageTB) Cleanup(cleanup func())          { p.cleanups = append(p.cleanups, cleanup) }
func (p *packageTB) Logf(format string, args ...any) { log.Printf(format, args...) }
func (p *packageTB) Log(args ...any)                 { log.Print(args...) }
func (p *packageTB) Fatal(args ...any)               { panic(fatalError{fmt.Sprint(args...)}) }
func (p *packageTB) Fatalf(format string, args ...any) {
	panic(fatalError{fmt.Sprintf(format, args...)})
}

// run calls body, then the cleanups in reverse order, and turns a Fatal
// call inside body into an error.
func (p *packageTB) run(body func() int) (code int, err error) {
	defer func() {
		for i := len(p.cleanups) - 1; i >= 0; i-- {
			p.cleanups[i]()
		}
	}()
	defer func() {
		if recovered := recover(); recovered != nil {
			fatal, ok := recovered.(fatalError)
			if !ok {
				panic(recovered)
			}
			err = fmt.Errorf("package fixture: %s", fatal.message)
		}
	}()
	return body(), nil
}
