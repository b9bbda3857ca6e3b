package api

import (
	"context"
	"time"
)

// WithTimeout returns a context that ends after timeout and carries ctx's
// values but not its cancellation. Handlers pass their *fasthttp.RequestCtx
// as ctx. As a direct parent it would make context.WithTimeout start a
// goroutine that can read the pooled RequestCtx after fasthttp has reset it
// for the next request. Without the parent's cancellation no such goroutine
// starts, and the timeout still bounds the call.
func WithTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
